// Building the ReportModel from loaded runs: which runs are current, their series statistics, the
// ratios between paths, the trend over earlier runs, every warning, and the verdict line.

import { UsageError } from '../errors.ts';
import { metricInfo } from '../metrics.ts';
import type { BackendOutcome, RepOutcome } from '../run/record.ts';
import { seriesKey, type SampleRecord } from '../samples.ts';
import { T_INTERVAL_METHOD } from '../stats/describe.ts';
import { DRIFT_MIN_N } from '../stats/drift.ts';
import { OUTLIER_MIN_RELATIVE_DEVIATION, OUTLIER_THRESHOLD } from '../stats/outliers.ts';
import { medianRatio, RATIO_METHOD } from '../stats/ratio.ts';
import { analyseSeries, groupSamples, isHeadline, mergedQualityWarnings, repetitionWarnings, repKey, type SeriesInput, type SeriesStats } from '../stats/series.ts';
import { DEFAULT_THRESHOLDS, sortWarnings, type QualityThresholds, type Warning } from '../stats/warnings.ts';
import { basisWords, compareVariants, costLabel, costSeries, packetSizes, regionRole, variantLabel, variantOf, type CostBasis, type CostSeries } from './costs.ts';
import { compareBackends, formatDims, sourceList } from './format.ts';
import { IDLE_SCENARIO, idleViews } from './idle.ts';
import type { CollectorAvailability, LoadedRun } from './load.ts';
import { REPORT_SCHEMA, type BackendView, type RatioView, type ReportModel, type RunView, type TrendSeries } from './model.ts';
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

/** Workload metrics compared between paths (ratio to the reference path), with the scenarios' cost figures. */
const RATIO_METRICS = ['throughput', 'packetRate', 'latencyP50', 'latencyP99'] as const;

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

  const series = current.flatMap((r) => analyseRun(r, thresholds));
  const costs = current.flatMap((r) => analyseCosts(r, thresholds));
  const backends = current.flatMap(backendViews);
  const references = referencePaths(series, hosts);
  const ratios = computeRatios(series, costs, references);
  const warnings = sortWarnings([
    ...runs.flatMap((r) => r.problems.map((w) => ({ ...w, subject: { ...w.subject, host: r.host } }))),
    ...current.flatMap(runWarnings),
    ...mergedQualityWarnings([...series, ...costs], thresholds, seriesLabel),
    // A finding about the whole run names it (unless runs of several hosts are merged).
    ...repetitionWarnings(series, thresholds).map((w) => (w.subject.backend || hosts.length > 1 ? w : { ...w, subject: { ...w.subject, run: current[0]!.record.run } })),
  ]);
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
    ratios,
    backends,
    warnings,
    thresholds,
    methods: {
      ci: `95 % ${T_INTERVAL_METHOD}`,
      ratio: `ratio of medians; 95 % ${RATIO_METHOD}`,
      outliers: `modified z-score 0.6745·(x − median)/MAD beyond ±${OUTLIER_THRESHOLD} (Iglewicz & Hoaglin 1993) and more than ${OUTLIER_MIN_RELATIVE_DEVIATION * 100} % from the median; flagged, not removed`,
      drift: `Mann–Kendall trend test over the repetitions in order (exact below 41 values without ties), from ${DRIFT_MIN_N} repetitions, p < ${thresholds.driftAlpha}; size by the Theil–Sen slope`,
      warmup: 'warm-up repetitions and repetitions recorded as failed are excluded from every statistic',
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
    { defaultHost: r.host, failedReps: failedRepKeys(r) },
  );
}

/** Statistics of every series of one run (warm-up and failed repetitions excluded, idle left out), in report order. */
export function analyseRun(r: LoadedRun, thresholds: QualityThresholds = DEFAULT_THRESHOLDS): SeriesStats[] {
  return runInputs(r)
    .map((i) => analyseSeries(i, thresholds))
    .filter((s): s is SeriesStats => s !== null)
    .sort(
      (a, b) =>
        a.host.localeCompare(b.host) ||
        a.scenario.localeCompare(b.scenario) ||
        compareBackends(a.backend, b.backend) ||
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
  const bulk = new Set(inputs.filter((s) => s.metric === 'throughput').map((s) => s.scenario));
  return costSeries(inputs, thresholds)
    .filter((c) => c.count !== 'host-cpu' || (c.basis === 'per-gbps') === bulk.has(c.scenario))
    .sort(
    (a, b) =>
      a.scenario.localeCompare(b.scenario) ||
      compareBackends(a.backend, b.backend) ||
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
    .sort((a, b) => compareBackends(a.id, b.id))
    .map((b) => {
      const failed = b.reps.filter((x) => x.status === 'failed');
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
          warmup: b.reps.filter((x) => x.warmup).length,
        },
        failedReps: failed.map((x) => ({ scenario: x.scenario, rep: x.rep, warmup: x.warmup, ...(x.reason ? { reason: x.reason } : {}) })),
      };
      if (b.reason) v.reason = b.reason;
      if (b.fix) v.fix = b.fix;
      if (b.features && Object.keys(b.features).length) v.features = b.features;
      return v;
    });
}

function runWarnings(r: LoadedRun): Warning[] {
  const out: Warning[] = [];
  const run = r.record.run;
  if (r.partial) {
    out.push({
      code: 'partial-run',
      severity: 'error',
      subject: { host: r.host, run },
      message: `run ${run} is partial: ${r.partialReasons.join('; ')}`,
      advice: 'the numbers below cover only what was measured before it stopped; re-run the missing paths before drawing conclusions',
    });
  }
  const measured = new Set(r.samples.filter((s) => !s.warmup && s.scenario !== IDLE_SCENARIO).map((s) => s.backend));
  for (const b of r.record.backends) {
    const subject = { host: r.host, run, backend: b.id };
    if (b.status === 'failed') {
      out.push({ code: 'backend-failed', severity: 'error', subject, message: `path failed: ${b.reason ?? 'no reason recorded'}`, ...(b.fix ? { advice: b.fix } : {}) });
    }
    if ((b.status === 'ok' || b.status === 'partial') && !measured.has(b.id)) {
      out.push({ code: 'no-samples', severity: 'error', subject, message: `path is marked "${b.status}" but has no measured samples`, advice: 'check samples.ndjson and the run log; this run should not be trusted for this path' });
    }
    out.push(...failedRepWarnings(r.host, run, b), ...repNoteWarnings(r.host, run, b, r.record.provenance?.cpuCount));
  }
  out.push(...collectorWarnings(r));
  return out;
}

/** One warning per path, scenario and failure reason, naming every repetition it struck. */
function failedRepWarnings(host: string, run: string, b: BackendOutcome): Warning[] {
  const groups = new Map<string, RepOutcome[]>();
  for (const rep of b.reps) {
    if (rep.status !== 'failed') continue;
    const k = [rep.scenario, rep.warmup, rep.reason ?? ''].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), rep]);
  }
  return [...groups.values()].map((reps) => {
    const r0 = reps[0]!;
    const which = reps.length === 1 ? `repetition ${r0.rep}` : `repetitions ${reps.map((x) => x.rep).join(', ')}`;
    return {
      code: 'failed-rep' as const,
      severity: 'warning' as const,
      subject: { host, run, backend: b.id, scenario: r0.scenario },
      message: `${r0.warmup ? 'warm-up ' : ''}${which} failed${r0.reason ? `: ${r0.reason}` : ''}; ${reps.length === 1 ? 'its' : 'their'} samples are excluded`,
      advice: 'look at its raw output in the run folder',
    };
  });
}

/**
 * The runner's remarks on single repetitions (a collector that failed, a count clamped at its idle
 * level), merged when they say the same thing: numbers and the guest's name are masked to group
 * them, the first one is quoted, and the repetitions are counted.
 */
function repNoteWarnings(host: string, run: string, b: BackendOutcome, cpuCount?: number): Warning[] {
  const groups = new Map<string, { text: string; reps: Set<string> }>();
  for (const rep of b.reps) {
    for (const note of rep.notes ?? []) {
      const k = note.replace(/guest=\S+/g, 'guest=*').replace(/-?\d+(\.\d+)?/g, '#');
      const g = groups.get(k) ?? { text: note, reps: new Set<string>() };
      g.reps.add(`${rep.scenario}${rep.warmup ? ' warm-up' : ''} #${rep.rep}`);
      groups.set(k, g);
      (g as { count?: number }).count = ((g as { count?: number }).count ?? 0) + 1;
    }
  }
  return [...groups.values()].map((g) => {
    const count = (g as { count?: number }).count ?? 1;
    const region = /region=(.+?):/.exec(g.text)?.[1];
    const role = region ? regionRole(region) : undefined;
    const reps = [...g.reps];
    // A thread that got clearly less CPU under load than at rest was starved: the host's CPUs were oversubscribed.
    const cpu = /^hostCpu role=(.+?) .*idle baseline \(([\d.]+)\) exceeds the measured ([\d.]+)/.exec(g.text);
    const starved = cpu && Number(cpu[3]) < 0.75 * Number(cpu[2]);
    const base = `${g.text}${count > 1 ? ` (and ${count - 1} more like it)` : ''}, in ${reps.length} repetition${reps.length > 1 ? 's' : ''}: ${reps.join(', ')}`;
    if (starved) {
      return {
        code: 'rep-note' as const,
        severity: 'warning' as const,
        subject: { host, run, backend: b.id },
        message: `${base}; ${cpu[1]} got less CPU under load than at rest: the host's ${cpuCount ? `${cpuCount} CPUs were` : 'CPUs were'} oversubscribed, so ${b.id}'s results are limited by CPU contention`,
        advice: 'run on a host with more CPUs than the guests\' vCPUs plus the switch\'s polling cores, or pin them to separate cores',
      };
    }
    return {
      code: 'rep-note' as const,
      severity: 'note' as const,
      subject: { host, run, backend: b.id },
      message: `${base}${role && !role.counted ? `; ${region} is not part of the device-access sums (${role.why})` : ''}`,
    };
  });
}

/** Collectors that could not count, merged across paths when the reason is the same. */
function collectorWarnings(r: LoadedRun): Warning[] {
  const perPath = r.record.backends.filter((b) => b.collectors?.length);
  const entries = perPath.length
    ? perPath.flatMap((b) => (b.collectors ?? []).map((c) => ({ backend: b.id, c })))
    : r.collectors.map((c) => ({ backend: '', c }));
  const groups = new Map<string, { ids: Set<string>; backends: Set<string>; c: CollectorAvailability }>();
  for (const { backend, c } of entries) {
    if (c.available) continue;
    const k = `${c.reason ?? ''}\u0000${c.fix ?? ''}`;
    const g = groups.get(k) ?? { ids: new Set<string>(), backends: new Set<string>(), c };
    g.ids.add(c.id);
    if (backend) g.backends.add(backend);
    groups.set(k, g);
  }
  const all = perPath.map((b) => b.id);
  return [...groups.values()].map((g) => {
    const ids = [...g.ids];
    const where = g.backends.size === 0 ? '' : g.backends.size === all.length ? (all.length > 1 ? ' on every measured path' : ` on ${all[0]}`) : ` on ${[...g.backends].join(', ')}`;
    return {
      code: 'collector-unavailable' as const,
      severity: 'note' as const,
      subject: { host: r.host, run: r.record.run },
      message: `collector${ids.length > 1 ? 's' : ''} ${ids.join(', ')} could not count${where}: ${g.c.reason ?? 'no reason recorded'}`,
      ...(g.c.fix ? { advice: g.c.fix } : {}),
    };
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
  if (rec.provenance) v.provenance = rec.provenance;
  if (rec.error) v.error = rec.error;
  return v;
}

/**
 * The reference path of each host: e1000 (the emulated NIC, the slowest design) when it has headline
 * series; otherwise the first measured path in the design's order.
 */
function referencePaths(series: readonly SeriesStats[], hosts: readonly string[]): { host: string; backend: string }[] {
  return hosts.flatMap((host) => {
    const measured = [...new Set(series.filter((s) => s.host === host && isHeadline(s)).map((s) => s.backend))].sort(compareBackends);
    return measured.length ? [{ host, backend: measured[0]! }] : [];
  });
}

/** The cost figures compared between paths: per GB and CPU per Gbit/s where a scenario moves bulk data, per packet and CPU per Mpps otherwise. */
function ratioCosts(costs: readonly CostSeries[], scenarioHasThroughput: boolean): CostSeries[] {
  const bases: CostBasis[] = scenarioHasThroughput ? ['per-gb', 'per-gbps'] : ['per-packet', 'per-mpps'];
  return costs.filter((c) => c.guest === undefined && bases.includes(c.basis));
}

/** Every path against the reference path of its host, per scenario and variant: workload metrics, then the cost figures. */
function computeRatios(series: readonly SeriesStats[], costs: readonly CostSeries[], references: readonly { host: string; backend: string }[]): RatioView[] {
  const out: RatioView[] = [];
  for (const { host, backend: ref } of references) {
    const scenarios = [...new Set(series.filter((s) => s.host === host).map((s) => s.scenario))];
    for (const scenario of scenarios) {
      const here = series.filter((s) => s.host === host && s.scenario === scenario);
      const bulk = here.some((s) => s.metric === 'throughput' && isHeadline(s));
      const candidates: { s: SeriesStats; label: string; source: string }[] = [
        ...here.filter((s) => (RATIO_METRICS as readonly string[]).includes(s.metric) && isHeadline(s)).map((s) => ({ s, label: metricInfo(s.metric).title.toLowerCase(), source: sourceList(s.sources) })),
        ...ratioCosts(
          costs.filter((c) => c.host === host && c.scenario === scenario),
          bulk,
        ).map((c) => ({ s: c as SeriesStats, label: costLabel(c), source: c.method })),
      ];
      const key = (s: SeriesStats) => `${s.metric}|${formatDims(variantOf(s.dims))}`;
      const refs = new Map(candidates.filter((c) => c.s.backend === ref).map((c) => [key(c.s), c.s]));
      for (const c of candidates.sort((a, b) => compareBackends(a.s.backend, b.s.backend))) {
        const den = refs.get(key(c.s));
        if (!den || c.s.backend === ref) continue;
        const estimate = medianRatio(
          c.s.points.map((p) => p.value),
          den.points.map((p) => p.value),
        );
        if (!estimate) continue;
        out.push({
          host,
          scenario,
          metric: c.s.metric,
          variant: variantOf(c.s.dims),
          numerator: c.s.backend,
          denominator: ref,
          estimate,
          n: { numerator: c.s.summary.n, denominator: den.summary.n },
          label: c.label,
          direction: metricInfo(c.s.metric).direction,
          source: c.source,
        });
      }
    }
  }
  return out;
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

