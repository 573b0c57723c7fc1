// `iopath compare <baseline> <run>`: per path, scenario and headline figure (throughput, packet rate,
// loss, latency percentiles, and the summed cost figures per guest), the change with its interval and
// a verdict that flags a change only when it is statistically significant AND larger than a relative
// noise floor (the rule of Firecracker's tools/ab_test.py), in the metric's better direction.

import { ExitCode, type ExitCodeValue, UsageError } from '../errors.ts';
import { metricInfo, type Direction, type MetricName } from '../metrics.ts';
import type { BackendStatus } from '../run/record.ts';
import { seriesKey, type Dims, type Unit } from '../samples.ts';
import type { ConfidenceInterval, Summary } from '../stats/describe.ts';
import { permutationTest, relativeChange, welchTest } from '../stats/hypothesis.ts';
import { formatP, type SeriesStats } from '../stats/series.ts';
import type { Warning } from '../stats/warnings.ts';
import { headlineSeries } from './build.ts';
import { compareAblation, type AblationPair } from './compare-ablation.ts';
import { compareMetrics, formatDims, formatPercent, mergePaths, pathOrder } from './format.ts';
import { loadRun, type LoadedRun } from './load.ts';

export const COMPARE_SCHEMA = 'iopath.compare/1';

export interface CompareOptions {
  /** Changes smaller than this (percent of the baseline mean) are never flagged. Default 5. */
  noiseFloorPercent?: number;
  /** Significance level of the test. Default 0.05. */
  alpha?: number;
  /** Two-sample test: exact/Monte Carlo permutation test of the means (default) or Welch's t-test. */
  test?: 'permutation' | 'welch';
}

export type Verdict = 'better' | 'worse' | 'no significant change' | 'changed';

export interface ComparisonRow {
  backend: string;
  scenario: string;
  metric: MetricName;
  dims: Dims;
  unit: Unit;
  direction: Direction;
  baseline: Summary;
  run: Summary;
  /** (mean(run) / mean(baseline) − 1) · 100; null when the baseline mean is 0. */
  changePercent: number | null;
  /** Interval of the change in percent (delta method); null with fewer than 2 values on a side. */
  ci: ConfidenceInterval | null;
  p: number;
  /** Smallest p-value the test can reach with these sample sizes. */
  minP: number;
  test: string;
  significant: boolean;
  beyondFloor: boolean;
  verdict: Verdict;
  note?: string;
}

export interface CompareSide {
  id: string;
  dir: string;
  host: string;
  startedAt: string;
  profile: { name: string; hash: string };
  status: string;
  partial: boolean;
  partialReasons: string[];
  accel?: string;
}

export interface SeriesRef {
  backend: string;
  scenario: string;
  metric: MetricName;
  dims: Dims;
}

export interface CompareResult {
  schema: typeof COMPARE_SCHEMA;
  baseline: CompareSide;
  run: CompareSide;
  options: Required<CompareOptions>;
  rows: ComparisonRow[];
  onlyInBaseline: SeriesRef[];
  onlyInRun: SeriesRef[];
  /** Paths whose outcome differs (e.g. measured in the baseline, failed in the run). */
  pathChanges: { backend: string; baseline: BackendStatus | 'absent'; run: BackendStatus | 'absent'; reason?: string }[];
  warnings: Warning[];
  /** Each variant's change against its path in the baseline and in the run (runs with variants). */
  ablation: AblationPair[];
  regressions: ComparisonRow[];
  improvements: ComparisonRow[];
  /** One line for the top of a summary. */
  verdict: string;
  /** ExitCode.regression when any metric got significantly worse beyond the floor, else ExitCode.ok. */
  exitCode: ExitCodeValue;
}

/** Compare two run folders. Throws a UsageError when either is not a run folder. */
export function compareRuns(baselineDir: string, runDir: string, options: CompareOptions = {}): CompareResult {
  return compareLoaded(loadRun(baselineDir), loadRun(runDir), options);
}

/** Compare two loaded runs (pure). Series are matched ignoring the host, so nightly runs on different machines of one runner pool compare. */
export function compareLoaded(baseline: LoadedRun, run: LoadedRun, options: CompareOptions = {}): CompareResult {
  const opts: Required<CompareOptions> = { noiseFloorPercent: options.noiseFloorPercent ?? 5, alpha: options.alpha ?? 0.05, test: options.test ?? 'permutation' };
  if (!(opts.noiseFloorPercent >= 0)) throw new UsageError(`noise floor must be >= 0 percent, got ${opts.noiseFloorPercent}`);
  if (!(opts.alpha > 0 && opts.alpha < 1)) throw new UsageError(`alpha must be in (0, 1), got ${opts.alpha}`);
  const index = (r: LoadedRun) => new Map(headlineSeries(r).map((s) => [seriesKey({ ...s, host: '' }), s]));
  const a = index(baseline);
  const b = index(run);
  const rows: ComparisonRow[] = [];
  for (const [key, sa] of a) {
    const sb = b.get(key);
    if (sb) rows.push(compareSeries(sa, sb, opts));
  }
  const byPath = pathOrder(mergePaths([run.paths, baseline.paths]));
  rows.sort((x, y) => x.scenario.localeCompare(y.scenario) || byPath(x.backend, y.backend) || compareMetrics(x.metric, y.metric) || formatDims(x.dims).localeCompare(formatDims(y.dims)));
  const ref = (s: SeriesStats): SeriesRef => ({ backend: s.backend, scenario: s.scenario, metric: s.metric, dims: s.dims });
  const onlyInBaseline = [...a].filter(([k]) => !b.has(k)).map(([, s]) => ref(s));
  const onlyInRun = [...b].filter(([k]) => !a.has(k)).map(([, s]) => ref(s));
  const regressions = rows.filter((r) => r.verdict === 'worse');
  const improvements = rows.filter((r) => r.verdict === 'better');
  const result: CompareResult = {
    schema: COMPARE_SCHEMA,
    baseline: side(baseline),
    run: side(run),
    options: opts,
    rows,
    onlyInBaseline,
    onlyInRun,
    pathChanges: pathChanges(baseline, run),
    warnings: [],
    ablation: compareAblation(baseline, run),
    regressions,
    improvements,
    verdict: '',
    exitCode: regressions.length ? ExitCode.regression : ExitCode.ok,
  };
  result.warnings = compareWarnings(baseline, run, result);
  result.verdict = compareVerdict(result);
  return result;
}

function compareSeries(sa: SeriesStats, sb: SeriesStats, o: Required<CompareOptions>): ComparisonRow {
  const va = sa.points.map((p) => p.value);
  const vb = sb.points.map((p) => p.value);
  const info = metricInfo(sa.metric);
  const change = relativeChange(va, vb);
  const t = o.test === 'welch' ? welchTest(va, vb) : permutationTest(va, vb);
  const significant = t.p < o.alpha;
  const beyondFloor = change !== null && Math.abs(change.percent) > o.noiseFloorPercent;
  let verdict: Verdict = 'no significant change';
  if (significant && beyondFloor) {
    if (info.direction === 'neutral') verdict = 'changed';
    else verdict = (change!.percent > 0) === (info.direction === 'higher-is-better') ? 'better' : 'worse';
  }
  const row: ComparisonRow = {
    backend: sa.backend,
    scenario: sa.scenario,
    metric: sa.metric,
    dims: sa.dims,
    unit: sa.unit,
    direction: info.direction,
    baseline: sa.summary,
    run: sb.summary,
    changePercent: change?.percent ?? null,
    ci: change?.ci ?? null,
    p: t.p,
    minP: t.minP,
    test: t.method,
    significant,
    beyondFloor,
    verdict,
  };
  if (change === null) row.note = 'the baseline mean is 0: no relative change';
  else if (t.minP >= o.alpha) row.note = `with ${va.length} and ${vb.length} repetitions this test cannot reach p < ${o.alpha} (smallest possible p = ${formatP(t.minP)})`;
  return row;
}

function side(r: LoadedRun): CompareSide {
  const s: CompareSide = {
    id: r.record.run,
    dir: r.dir,
    host: r.host,
    startedAt: r.record.startedAt,
    profile: { name: r.record.profile.name, hash: r.record.profile.hash },
    status: r.record.status,
    partial: r.partial,
    partialReasons: r.partialReasons,
  };
  if (r.record.provenance) s.accel = r.record.provenance.accel.kind;
  return s;
}

function pathChanges(baseline: LoadedRun, run: LoadedRun): CompareResult['pathChanges'] {
  const ids = [...new Set([...baseline.record.backends, ...run.record.backends].map((b) => b.id))].sort(pathOrder(mergePaths([run.paths, baseline.paths])));
  const out: CompareResult['pathChanges'] = [];
  for (const id of ids) {
    const x = baseline.record.backends.find((b) => b.id === id);
    const y = run.record.backends.find((b) => b.id === id);
    const sx = x?.status ?? 'absent';
    const sy = y?.status ?? 'absent';
    if (sx !== sy) out.push({ backend: id, baseline: sx, run: sy, ...(y?.reason ? { reason: y.reason } : {}) });
  }
  return out;
}

function compareWarnings(baseline: LoadedRun, run: LoadedRun, r: CompareResult): Warning[] {
  const w: Warning[] = [];
  for (const [label, x] of [['baseline', baseline], ['run', run]] as const) {
    if (x.partial) w.push({ code: 'partial-run', severity: 'error', subject: { run: x.record.run }, message: `the ${label} is partial: ${x.partialReasons.join('; ')}`, advice: 'compare complete runs, or read the missing series as unknown, not unchanged' });
  }
  if (r.baseline.accel && r.run.accel && r.baseline.accel !== r.run.accel) {
    w.push({ code: 'host-differs', severity: 'error', subject: {}, message: `the baseline ran under ${r.baseline.accel.toUpperCase()} and the run under ${r.run.accel.toUpperCase()}: differences are the accelerator, not the code`, advice: 'compare runs made under the same accelerator' });
  }
  if (baseline.host !== run.host) w.push({ code: 'host-differs', severity: 'note', subject: {}, message: `measured on different hosts (${baseline.host} and ${run.host}); part of any difference may be the machine` });
  if (r.baseline.profile.hash !== r.run.profile.hash) w.push({ code: 'host-differs', severity: 'note', subject: {}, message: `the profile file changed between the runs (${r.baseline.profile.name} → ${r.run.profile.name}, different content hash)` });
  for (const c of r.pathChanges) {
    if (c.baseline === 'ok' && c.run !== 'ok') {
      w.push({ code: 'backend-failed', severity: 'error', subject: { backend: c.backend }, message: `measured in the baseline but ${c.run} in the run${c.reason ? `: ${c.reason}` : ''}`, advice: 'its metrics are missing from this comparison; find out why the path did not run' });
    }
  }
  const powerless = r.rows.filter((x) => x.minP >= r.options.alpha);
  if (powerless.length) {
    w.push({
      code: 'no-power',
      severity: 'warning',
      subject: {},
      message: `${powerless.length} of ${r.rows.length} comparisons have too few repetitions to ever be significant at α = ${r.options.alpha}`,
      advice: 'measure at least 4 repetitions per side for the permutation test (5 or more is better)',
    });
  }
  return w;
}

function describeRow(r: ComparisonRow): string {
  const dims = formatDims(r.dims);
  const ci = r.ci ? ` (95 % CI ${formatPercent(r.ci.low, true)} to ${formatPercent(r.ci.high, true)}, p = ${formatP(r.p)})` : ` (p = ${formatP(r.p)})`;
  return `${r.backend} ${r.scenario} ${metricInfo(r.metric).title.toLowerCase()}${dims ? ` (${dims})` : ''} ${r.changePercent === null ? '' : formatPercent(r.changePercent, true)}${ci}`;
}

function compareVerdict(r: CompareResult): string {
  const floor = `the ${r.options.noiseFloorPercent} % noise floor`;
  const parts: string[] = [];
  if (r.regressions.length) parts.push(`REGRESSION: ${r.regressions.length} metric${r.regressions.length > 1 ? 's' : ''} significantly worse beyond ${floor}: ${r.regressions.map(describeRow).join('; ')}.`);
  else parts.push(`No significant regression beyond ${floor} in ${r.rows.length} comparisons.`);
  if (r.improvements.length) parts.push(`${r.improvements.length} improved: ${r.improvements.map(describeRow).join('; ')}.`);
  const lost = r.pathChanges.filter((c) => c.baseline === 'ok' && c.run !== 'ok');
  if (lost.length) parts.push(`Not measured in the run: ${lost.map((c) => `${c.backend} (${c.run})`).join(', ')}.`);
  return parts.join(' ');
}
