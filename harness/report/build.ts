// Building the ReportModel from loaded runs: which runs are current, their series statistics, the
// ratios between paths, the trend over earlier runs, every warning, and the verdict line.

import { UsageError } from '../errors.ts';
import { metricInfo } from '../metrics.ts';
import { ranInRounds } from '../run/record.ts';
import { seriesKey, type SampleRecord } from '../samples.ts';
import { T_INTERVAL_METHOD } from '../stats/describe.ts';
import { DRIFT_MIN_N } from '../stats/drift.ts';
import { OUTLIER_ALPHA, OUTLIER_MIN_N, OUTLIER_MIN_RELATIVE_DEVIATION } from '../stats/outliers.ts';
import { RATIO_METHOD } from '../stats/ratio.ts';
import { analyseSeries, groupSamples, isHeadline, mergedQualityWarnings, repetitionWarnings, repKey, type SeriesInput, type SeriesStats } from '../stats/series.ts';
import { DEFAULT_THRESHOLDS, groupWarnings, type QualityThresholds } from '../stats/warnings.ts';
import { ablationMethod, ablationRun, computeAblation } from './ablation.ts';
import { basisWords, compareVariants, costSeries, packetSizes, variantLabel, variantOf, type CostSeries } from './costs.ts';
import { orderedScenarios } from './figures.ts';
import { mergePaths, pathOrder, sourceNames } from './format.ts';
import { flameViews } from './flames.ts';
import { probeRange, probeSentence } from './host-speed.ts';
import { IDLE_SCENARIO, idleViews } from './idle.ts';
import type { LoadedRun } from './load.ts';
import { REPORT_SCHEMA, type BackendView, type ReportModel, type RunView, type TrendSeries } from './model.ts';
import { computeRatios, referencePaths } from './ratios.ts';
import { quietHostNoise, runWarnings } from './run-warnings.ts';
import { labVerdict } from './lab.ts';
import { verdictLine } from './verdict.ts';

export { verdictLine };

export interface BuildOptions {
  /** Report title; default names the profile and host(s). */
  title?: string;
  /** ISO time stamped on the report. */
  generatedAt: string;
  thresholds?: QualityThresholds;
  iopathVersion?: string;
}

/**
 * Build the model. The latest run of each host (by start time) is *current*: its series fill the
 * summary, figures and ratios. Earlier runs of the same profile on the same host only feed the
 * trend. Runs from several hosts are merged with the host as a dimension. The idle baseline is not
 * a scenario: it becomes `idle`, one row per path.
 */
export function buildReportModel(loaded: readonly LoadedRun[], options: BuildOptions): ReportModel {
  if (loaded.length === 0) throw new UsageError('a report needs at least one run folder', 'iopath report results/<run-id> [results/<other-run-id> ...]');
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const runs = [...loaded].sort((a, b) => a.record.startedAt.localeCompare(b.record.startedAt));
  const latestByHost = new Map<string, LoadedRun>();
  for (const r of runs) latestByHost.set(r.host, r);
  const current = [...latestByHost.values()];
  const hosts = [...latestByHost.keys()].sort();

  const paths = mergePaths(runs.map((r) => r.paths));
  const names = sourceNames(paths);
  const series = current.flatMap((r) => analyseRun(r, thresholds));
  const costs = current.flatMap((r) => analyseCosts(r, thresholds));
  const backends = current.flatMap(backendViews);
  const references = referencePaths(series, hosts, paths);
  const ratios = computeRatios(series, costs, references, paths, names);
  const ablation = computeAblation({ series, costs, backends, runs: current.map(ablationRun), paths });
  // At most one entry per path and scenario, the most consequential first (see groupWarnings).
  const scenarioOrder = orderedScenarios({ series });
  const warnings = groupWarnings([
    ...runs.flatMap((r) => r.problems.map((w) => ({ ...w, subject: { ...w.subject, host: r.host } }))),
    ...current.flatMap(runWarnings),
    ...quietHostNoise(mergedQualityWarnings([...series, ...costs], thresholds, seriesLabel), current),
    // A finding about the whole run names it (unless runs of several hosts are merged).
    ...repetitionWarnings(series, thresholds).map((w) => (w.subject.backend || hosts.length > 1 ? w : { ...w, subject: { ...w.subject, run: current[0]!.record.run } })),
  ], { pathOrder: pathOrder(paths), scenarioOrder: (a, b) => scenarioOrder.indexOf(a) - scenarioOrder.indexOf(b) });
  const runViews = runs.map((r) => runView(r, latestByHost.get(r.host) === r));
  const multiHost = hosts.length > 1;
  const model: ReportModel = {
    schema: REPORT_SCHEMA,
    title: options.title ?? defaultTitle(current, multiHost),
    generatedAt: options.generatedAt,
    verdict: '',
    hosts,
    multiHost,
    runs: runViews,
    series,
    costs,
    packetSizes: current.flatMap((r) => packetSizes(runInputs(r))),
    idle: current.flatMap((r) => idleViews(r.record, r.samples, r.host)),
    references,
    paths,
    sourceNames: names,
    ratios,
    ablation,
    backends,
    warnings,
    thresholds,
    methods: {
      ci: `95 % ${T_INTERVAL_METHOD}`,
      ratio: `ratio of medians; 95 % ${RATIO_METHOD}`,
      outliers: `each repetition against the mean and spread of the others (leave-one-out t, as in Grubbs' test), beyond the t quantile that a series of pure noise exceeds by chance with probability ${OUTLIER_ALPHA} (${OUTLIER_ALPHA}/2n per value and side, so the limit is stricter at small n), from ${OUTLIER_MIN_N} repetitions, and more than ${OUTLIER_MIN_RELATIVE_DEVIATION * 100} % from the median (packet loss: more than 1 percentage point); flagged, not removed`,
      drift: `Mann–Kendall trend test over the repetitions in the order they ran (round by round when the paths were measured in interleaved rounds; exact below 41 values without ties), from ${DRIFT_MIN_N} repetitions, p < ${thresholds.driftAlpha}; size by the Theil–Sen slope`,
      warmup: 'warm-up repetitions, repetitions recorded as failed and the repetition of each path the flame collector sampled (when a profile asks for flame graphs) are excluded from every statistic',
      ...(ablation.length ? { ablation: ablationMethod(ablation) } : {}),
    },
    trend: computeTrend(runs),
    ...(options.iopathVersion ? { iopathVersion: options.iopathVersion } : {}),
  };
  model.verdict = labVerdict(model, verdictLine(model));
  return model;
}

/**
 * How a series is named in a merged warning: `throughput (receiver)`, `packet loss (64 B)`; the
 * per-guest cost figures as a name and an item, so they merge into `device accesses (software
 * emulation) per GB (64 B): guest a 23 %, both 38 %`.
 */
function seriesLabel(s: SeriesStats): { name: string; item?: string } {
  const c = s as Partial<CostSeries>;
  const v = variantLabel(variantOf(s.dims));
  if (!c.count) return { name: `${metricInfo(s.metric).title.toLowerCase()}${v ? ` (${v})` : ''}` };
  const name = `${c.what} ${basisWords(c.basis!)}${v ? ` (${v})` : ''}`;
  return c.count === 'host-cpu' ? { name } : { name, item: c.guest === undefined ? 'both guests' : `guest ${c.guest}` };
}

/** Repetitions a collector disturbed (the flame collector sampled call stacks in them), left out like failed ones. */
function intrudedRepKeys(r: LoadedRun): Set<string> {
  const keys = new Set<string>();
  for (const b of r.record.backends) for (const rep of b.reps) if (rep.intrusions?.length) keys.add(repKey(r.host, b.id, rep.scenario, rep.rep));
  return keys;
}

function failedRepKeys(r: LoadedRun): Set<string> {
  const keys = new Set<string>();
  for (const b of r.record.backends) for (const rep of b.reps) if (rep.status === 'failed') keys.add(repKey(r.host, b.id, rep.scenario, rep.rep));
  return keys;
}

/** Samples of a run, with the run's host on every one (so series and backends agree on the host). */
function samplesOf(r: LoadedRun): SampleRecord[] {
  return r.samples.map((s) => ({ ...s, host: r.host }));
}

/** The measured series of a run as inputs (warm-up and failed repetitions excluded, the idle baseline left out). */
export function runInputs(r: LoadedRun): SeriesInput[] {
  return groupSamples(
    samplesOf(r).filter((s) => s.scenario !== IDLE_SCENARIO),
    { defaultHost: r.host, failedReps: failedRepKeys(r), intrudedReps: intrudedRepKeys(r), ...(r.record.schedule ? { order: runOrder(r) } : {}) },
  );
}

/** Each measured repetition's position in the order the run ran them (run.json `schedule.steps`). */
function runOrder(r: LoadedRun): { rounds: (backend: string) => boolean; position: Map<string, number> } {
  const schedule = r.record.schedule!;
  const position = new Map<string, number>();
  schedule.steps.filter((s) => !s.warmup).forEach((s, i) => position.set(repKey(r.host, s.backend, s.scenario, s.rep), i));
  return { rounds: (backend) => ranInRounds(schedule, backend), position };
}

/** Statistics of every series of one run (warm-up and failed repetitions excluded, idle left out), in report order. */
export function analyseRun(r: LoadedRun, thresholds: QualityThresholds = DEFAULT_THRESHOLDS): SeriesStats[] {
  const byPath = pathOrder(r.paths);
  return runInputs(r)
    .map((i) => analyseSeries(i, thresholds))
    .filter((s): s is SeriesStats => s !== null)
    .sort(
      (a, b) =>
        a.host.localeCompare(b.host) ||
        a.scenario.localeCompare(b.scenario) ||
        byPath(a.backend, b.backend) ||
        a.metric.localeCompare(b.metric) ||
        a.key.localeCompare(b.key),
    );
}

/**
 * The summed cost figures of one run (see costs.ts), in report order. Host CPU is per Gbit/s where a
 * scenario moves bulk data (it has a throughput) and per Mpps elsewhere, not both.
 */
export function analyseCosts(r: LoadedRun, thresholds: QualityThresholds = DEFAULT_THRESHOLDS): CostSeries[] {
  const inputs = runInputs(r);
  const byPath = pathOrder(r.paths);
  const bulk = new Set(inputs.filter((s) => s.metric === 'throughput').map((s) => s.scenario));
  return costSeries(inputs, thresholds)
    .filter((c) => c.count !== 'host-cpu' || (c.basis === 'per-gbps') === bulk.has(c.scenario))
    .sort(
    (a, b) =>
      a.scenario.localeCompare(b.scenario) ||
      byPath(a.backend, b.backend) ||
      a.metric.localeCompare(b.metric) ||
      compareVariants(a.variant, b.variant) ||
      (a.guest ?? '~').localeCompare(b.guest ?? '~'),
  );
}

/**
 * What a reader decides on, for one run: the headline workload series and the summed cost figures
 * (the series `compare` compares and the trend follows). Device accesses and exits come per guest
 * (`per: 'guest'`, the default: a change is pinned to one VM) or per path (`per: 'path'`, both
 * guests summed: one line per path in a trend); host CPU is always per path.
 */
export function headlineSeries(r: LoadedRun, thresholds: QualityThresholds = DEFAULT_THRESHOLDS, per: 'guest' | 'path' = 'guest'): SeriesStats[] {
  const costs = analyseCosts(r, thresholds).filter((c) => c.count === 'host-cpu' || (per === 'guest') === (c.guest !== undefined));
  return [...analyseRun(r, thresholds).filter(isHeadline), ...costs];
}

function backendViews(r: LoadedRun): BackendView[] {
  return [...r.record.backends]
    .sort((a, b) => pathOrder(r.paths)(a.id, b.id))
    .map((b) => {
      const failed = b.reps.filter((x) => x.status === 'failed');
      const blocked = b.reps.filter((x) => x.status === 'blocked').length;
      const v: BackendView = {
        host: r.host,
        run: r.record.run,
        id: b.id,
        title: b.title,
        status: b.status,
        notes: b.notes ?? [],
        // Older runs record collectors once per run: a measured path inherits them.
        collectors: b.collectors ?? (b.reps.length ? r.collectors : []),
        reps: {
          measuredOk: b.reps.filter((x) => !x.warmup && x.status === 'ok').length,
          failed: failed.length,
          warmup: b.reps.filter((x) => x.warmup && x.status !== 'blocked').length,
          ...(blocked ? { blocked } : {}),
        },
        failedReps: failed.map((x) => ({ scenario: x.scenario, rep: x.rep, warmup: x.warmup, ...(x.reason ? { reason: x.reason } : {}) })),
      };
      if (b.reason) v.reason = b.reason;
      if (b.fix) v.fix = b.fix;
      if (b.features && Object.keys(b.features).length) v.features = b.features;
      if (b.negotiated && Object.keys(b.negotiated).length) v.negotiated = b.negotiated;
      if (b.variant) v.variant = b.variant;
      if (b.placement) v.placement = b.placement;
      const flames = flameViews(r, b);
      if (flames.length) v.flames = flames;
      return v;
    });
}

function runView(r: LoadedRun, current: boolean): RunView {
  const rec = r.record;
  const v: RunView = {
    id: rec.run,
    dir: r.dir,
    host: r.host,
    status: rec.status,
    partial: r.partial,
    partialReasons: r.partialReasons,
    startedAt: rec.startedAt,
    profile: { name: rec.profile.name, path: rec.profile.path, hash: rec.profile.hash },
    argv: rec.argv,
    phases: rec.phases,
    notes: rec.notes,
    collectors: r.collectors,
    current,
    samples: { measured: r.samples.filter((s) => !s.warmup).length, warmup: r.samples.filter((s) => s.warmup).length },
  };
  if (rec.endedAt) v.endedAt = rec.endedAt;
  if (rec.schedule) {
    const { requested, mode, reason, groups } = rec.schedule;
    v.order = { requested, mode, ...(reason ? { reason } : {}), ...(groups ? { groups } : {}) };
  }
  if (rec.wall) v.wall = rec.wall;
  if (rec.provenance) v.provenance = rec.provenance;
  if (rec.error) v.error = rec.error;
  if (rec.readiness) v.readiness = rec.readiness;
  const probe = probeRange(r);
  if (probe) v.hostSpeed = probeSentence(probe);
  return v;
}

/** Each headline metric over the runs of one profile on one host, when there are two or more. */
function computeTrend(runs: readonly LoadedRun[]): TrendSeries[] {
  const groups = new Map<string, LoadedRun[]>();
  for (const r of runs) {
    const k = `${r.host}\u0000${r.record.profile.name}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: TrendSeries[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const byKey = new Map<string, TrendSeries>();
    for (const r of group) {
      for (const s of headlineSeries(r, DEFAULT_THRESHOLDS, 'path')) {
        const key = seriesKey(s);
        let t = byKey.get(key);
        if (!t) {
          t = { host: s.host, profile: r.record.profile.name, backend: s.backend, scenario: s.scenario, metric: s.metric, dims: s.dims, unit: s.unit, sources: [], points: [] };
          byKey.set(key, t);
        }
        for (const src of s.sources) if (!t.sources.includes(src)) t.sources.push(src);
        t.points.push({ run: r.record.run, startedAt: r.record.startedAt, profileHash: r.record.profile.hash, summary: s.summary });
      }
    }
    out.push(...[...byKey.values()].filter((t) => t.points.length >= 2));
  }
  return out;
}

function defaultTitle(current: readonly LoadedRun[], multiHost: boolean): string {
  const profiles = [...new Set(current.map((r) => r.record.profile.name))].join(', ');
  if (multiHost) return `iopath report: profile ${profiles} on ${current.length} hosts`;
  return `iopath report: run ${current[0]!.record.run} (profile ${profiles})`;
}

