// From sample records to analysed series: grouping by series key, dropping warm-up and failed
// repetitions, and the per-series statistics and quality findings.

import { metricInfo, type MetricName } from '../metrics.ts';
import type { Dims, SampleRecord, Unit } from '../samples.ts';
import { seriesKey } from '../samples.ts';
import { describe, type Summary } from './describe.ts';
import { mannKendall, type DriftResult } from './drift.ts';
import { findOutliers } from './outliers.ts';
import { DEFAULT_THRESHOLDS, type QualityThresholds, type Warning } from './warnings.ts';

/** The coordinates of a series. */
export interface SeriesId {
  /** `seriesKey()` of the coordinates, host included. */
  key: string;
  host: string;
  backend: string;
  scenario: string;
  metric: MetricName;
  dims: Dims;
}

/** The measured (non warm-up, non failed) values of a series in repetition order. */
export interface SeriesInput extends SeriesId {
  unit: Unit;
  /** Tools the values came from (`source` of the samples), sorted. */
  sources: string[];
  points: { rep: number; value: number; time: string }[];
  /** `intruded`: values of repetitions a collector disturbed (the flame collector's), present when there were any. */
  excluded: { warmup: number; failedRep: number; intruded?: number };
  /**
   * `round` when the run measured its paths in interleaved rounds (run.json `schedule`): the points
   * are then in round order, and a drift along them fell on every path alike.
   */
  orderedBy?: 'round' | 'repetition';
}

export interface SeriesStats extends SeriesInput {
  summary: Summary;
  /** Repetitions flagged as outliers (see findOutliers); `score` is null when the other repetitions are all equal. */
  outliers: { rep: number; value: number; score: number | null }[];
  drift: DriftResult | null;
  warnings: Warning[];
}

/** Identifies one repetition for the failed-repetition set. */
export function repKey(host: string, backend: string, scenario: string, rep: number): string {
  return `${host}|${backend}|${scenario}|${rep}`;
}

/**
 * Group samples into series. Warm-up samples are excluded, and so are samples of repetitions that
 * run.json marks failed (their numbers describe a broken window) or intruded (a collector sampled
 * call stacks in them, taking CPU from the guests); each is counted.
 */
export function groupSamples(
  records: readonly SampleRecord[],
  options: {
    defaultHost: string;
    failedReps?: ReadonlySet<string>;
    /** Repetitions a collector disturbed (run.json rep `intrusions`), by {@link repKey}. */
    intrudedReps?: ReadonlySet<string>;
    /** The order the repetitions ran in: each repetition's position (by {@link repKey}), and whether a path's ran in rounds. */
    order?: { rounds: (backend: string) => boolean; position: ReadonlyMap<string, number> };
  },
): SeriesInput[] {
  const groups = new Map<string, SeriesInput>();
  for (const r of records) {
    const host = r.host ?? options.defaultHost;
    const dims = r.dims ?? {};
    const key = seriesKey({ ...r, host, dims });
    let g = groups.get(key);
    if (!g) {
      g = { key, host, backend: r.backend, scenario: r.scenario, metric: r.metric, dims, unit: r.unit, sources: [], points: [], excluded: { warmup: 0, failedRep: 0 } };
      groups.set(key, g);
    }
    if (r.source && !g.sources.includes(r.source)) g.sources.push(r.source);
    if (r.warmup) g.excluded.warmup++;
    else if (options.failedReps?.has(repKey(host, r.backend, r.scenario, r.rep))) g.excluded.failedRep++;
    else if (options.intrudedReps?.has(repKey(host, r.backend, r.scenario, r.rep))) g.excluded.intruded = (g.excluded.intruded ?? 0) + 1;
    else g.points.push({ rep: r.rep, value: r.value, time: r.time });
  }
  const position = (g: SeriesInput, rep: number) => options.order?.position.get(repKey(g.host, g.backend, g.scenario, rep)) ?? rep;
  for (const g of groups.values()) {
    g.sources.sort();
    g.points.sort((a, b) => position(g, a.rep) - position(g, b.rep) || a.rep - b.rep || a.time.localeCompare(b.time));
    if (options.order) g.orderedBy = options.order.rounds(g.backend) ? 'round' : 'repetition';
  }
  return [...groups.values()];
}

/**
 * The metrics a reader decides on: what the workload achieved. Quality warnings (noise, outliers,
 * drift) and comparisons are made for these, and for the summed cost figures the report derives
 * (device accesses or exits per GB and per packet per guest, host CPU per Gbit/s or per Mpps over
 * every thread of a path), never for each slice of a breakdown.
 */
export const HEADLINE_METRICS: readonly string[] = ['throughput', 'packetRate', 'lossPercent', 'latencyP50', 'latencyP90', 'latencyP99'];

/**
 * Dimensions that cut a figure into the parts of a breakdown (a memory region, an exit reason, a
 * thread role, a switch port), as opposed to dimensions that name a variant of the workload
 * (`payloadBytes`) or the guest whose process was counted.
 */
export const BREAKDOWN_DIMS: readonly string[] = ['reason', 'region', 'event', 'stat', 'vcpu', 'role', 'kind', 'port', 'direction'];

export function hasBreakdownDims(dims: Dims): boolean {
  return Object.keys(dims).some((k) => BREAKDOWN_DIMS.includes(k));
}

/** A headline series: a headline metric of one workload variant, not a slice of a breakdown. */
export function isHeadline(s: Pick<SeriesId, 'metric' | 'dims'>): boolean {
  return HEADLINE_METRICS.includes(s.metric) && !hasBreakdownDims(s.dims);
}

/**
 * The per-repetition sum of several series of one path and scenario (e.g. the memory regions of one
 * guest): for every repetition in which at least one part has a value, the sum of the parts, a part
 * without a value counting 0 (a collector emits only what it saw). The sum is a series of its own, so
 * its spread and interval come from the repetitions, not from adding up the parts' intervals.
 */
export function sumSeries(parts: readonly SeriesInput[], id: Omit<SeriesId, 'key'> & { key?: string }): SeriesInput | null {
  if (parts.length === 0) return null;
  const byRep = new Map<number, { value: number; time: string }>();
  for (const p of parts) {
    for (const pt of p.points) {
      const cur = byRep.get(pt.rep);
      if (cur) {
        cur.value += pt.value;
        if (pt.time > cur.time) cur.time = pt.time;
      } else byRep.set(pt.rep, { value: pt.value, time: pt.time });
    }
  }
  const points = [...byRep.entries()].sort((a, b) => a[0] - b[0]).map(([rep, v]) => ({ rep, value: v.value, time: v.time }));
  const first = parts[0]!;
  return {
    key: id.key ?? seriesKey({ host: id.host, backend: id.backend, scenario: id.scenario, metric: id.metric, dims: id.dims }),
    host: id.host,
    backend: id.backend,
    scenario: id.scenario,
    metric: id.metric,
    dims: id.dims,
    unit: first.unit,
    sources: [...new Set(parts.flatMap((p) => p.sources))].sort(),
    points,
    excluded: {
      warmup: Math.max(...parts.map((p) => p.excluded.warmup)),
      failedRep: Math.max(...parts.map((p) => p.excluded.failedRep)),
      ...(parts.some((p) => p.excluded.intruded) ? { intruded: Math.max(...parts.map((p) => p.excluded.intruded ?? 0)) } : {}),
    },
  };
}

/**
 * Statistics of one series; null when every value was excluded. Quality warnings are made when
 * `quality` is true (default: for headline series only, see {@link isHeadline}).
 */
export function analyseSeries(input: SeriesInput, thresholds: QualityThresholds = DEFAULT_THRESHOLDS, quality: boolean = isHeadline(input)): SeriesStats | null {
  if (input.points.length === 0) return null;
  const values = input.points.map((p) => p.value);
  const summary = describe(values);
  // Packet loss is a percentage, often near 0: a relative floor says nothing there, 1 point does.
  const out = findOutliers(values, input.unit === '%' ? { minAbsoluteDeviation: 1 } : {});
  const outliers = out.indices.map((i) => ({ rep: input.points[i]!.rep, value: values[i]!, score: out.scores[i]! }));
  const drift = mannKendall(values);
  const warnings: Warning[] = [];
  if (quality) {
    const subject = { host: input.host, backend: input.backend, scenario: input.scenario, metric: input.metric, dims: input.dims };
    if (summary.cvPercent !== null && summary.cvPercent > thresholds.cvPercent) {
      warnings.push({
        code: 'high-cv',
        severity: 'warning',
        subject,
        message: `noisy: coefficient of variation ${summary.cvPercent.toFixed(1)} % is above ${thresholds.cvPercent} %`,
        advice: 'stop other work on the host, pin the guests to cores, or raise the number of repetitions',
      });
    }
    for (const o of outliers) {
      warnings.push({
        code: 'outlier',
        severity: 'warning',
        subject,
        message: `repetition ${o.rep} is an outlier: ${deviationText(o.value, summary.median)}${
          o.score === null ? `the other ${values.length - 1} repetitions are all equal` : `t = ${o.score.toFixed(1)} against the other ${values.length - 1} repetitions, beyond ${out.threshold!.toFixed(1)} (the limit at n = ${values.length})`
        }`,
        advice: 'look at that repetition’s raw output; the median is robust to it, the mean and its interval are not',
      });
    }
    if (drift && drift.p < thresholds.driftAlpha) {
      const step = input.orderedBy === 'round' ? 'round' : 'repetition';
      const perRep = summary.median === 0 ? '' : ` (${((drift.slopePerRep / Math.abs(summary.median)) * 100).toFixed(1)} % of the median per ${step})`;
      warnings.push({
        code: 'drift',
        severity: 'warning',
        subject,
        message: `drifts ${drift.slopePerRep > 0 ? 'upward' : 'downward'} over the ${input.orderedBy === 'round' ? 'rounds' : 'run'}: Mann–Kendall p = ${formatP(drift.p)}, Theil–Sen slope ${drift.slopePerRep.toPrecision(3)} ${input.unit} per ${step}${perRep}`,
        advice:
          input.orderedBy === 'round'
            ? 'the paths were measured in interleaved rounds, so a drift of the host fell on every path alike and the ratios between them hold, but it widens each path’s spread; add warm-up, fix the CPU frequency, or check for background work'
            : 'the host may be warming up, throttling or under changing load; add warm-up, fix the CPU frequency, or check for background work',
      });
    }
  }
  return { ...input, summary, outliers, drift, warnings };
}

/**
 * Findings about too few repetitions, over the headline series: n = 1 has no spread and no interval
 * at all; n below `minReps` gives wide intervals and no drift test. One finding per host and count,
 * naming the paths and scenarios it applies to, so a run measured with 2 repetitions everywhere says
 * so once.
 */
export function repetitionWarnings(series: readonly SeriesStats[], thresholds: QualityThresholds = DEFAULT_THRESHOLDS): Warning[] {
  const byGroup = new Map<string, { s: SeriesStats; n: number }>();
  for (const s of series) {
    if (!isHeadline(s)) continue;
    const k = `${s.host}|${s.backend}|${s.scenario}`;
    const prev = byGroup.get(k);
    if (!prev || s.summary.n > prev.n) byGroup.set(k, { s, n: s.summary.n });
  }
  const byCount = new Map<string, SeriesStats[]>();
  for (const { s, n } of byGroup.values()) {
    if (n >= thresholds.minReps) continue;
    const k = `${s.host}|${n}`;
    byCount.set(k, [...(byCount.get(k) ?? []), s]);
  }
  const out: Warning[] = [];
  const advice = `measure at least ${thresholds.minReps} repetitions (--reps ${thresholds.minReps})`;
  for (const group of byCount.values()) {
    const s = group[0]!;
    const n = s.summary.n;
    const one = group.length === 1;
    const subject = one ? { host: s.host, backend: s.backend, scenario: s.scenario } : { host: s.host };
    const where = one ? '' : ` (${describeGroup(group)})`;
    if (n === 1) {
      out.push({ code: 'no-ci', severity: 'warning', subject, message: `only 1 measured repetition${where}: no spread and no confidence interval`, advice });
    } else {
      out.push({ code: 'few-reps', severity: 'note', subject, message: `only ${n} measured repetitions${where}: confidence intervals are wide and drift cannot be tested`, advice });
    }
  }
  return out;
}

/** `every scenario of <path>, <path>` or `<path> tcp-stream, <path> latency`. */
function describeGroup(group: readonly SeriesStats[]): string {
  const backends = [...new Set(group.map((s) => s.backend))];
  const scenarios = [...new Set(group.map((s) => s.scenario))];
  if (backends.length * scenarios.length === group.length) return `${scenarios.join(', ')} of ${backends.join(', ')}`;
  return group.map((s) => `${s.backend} ${s.scenario}`).join(', ');
}

/**
 * The quality warnings of many series as a reader should get them, merged per path and scenario:
 * the noise findings into one that lists each noisy figure with its coefficient of variation; the
 * outliers by repetition (`repetitions 2 and 4 are outliers in packet loss (64 B) and device
 * accesses per GB (guest a)`, or one repetition with how far off each figure is); the drifts into
 * one. `label` names a series in words, optionally as a name and an item so that related figures
 * merge (`device accesses per GB: guest a 23 %, guest b 41 %`); by default the metric's title and dims.
 */
export function mergedQualityWarnings(
  series: readonly SeriesStats[],
  thresholds: QualityThresholds = DEFAULT_THRESHOLDS,
  label: (s: SeriesStats) => string | { name: string; item?: string } = defaultLabel,
): Warning[] {
  const out: Warning[] = [];
  const groups = new Map<string, { noisy: SeriesStats[]; outlying: SeriesStats[]; drifting: SeriesStats[] }>();
  for (const s of series) {
    const k = `${s.host}|${s.backend}|${s.scenario}`;
    const g = groups.get(k) ?? { noisy: [], outlying: [], drifting: [] };
    groups.set(k, g);
    for (const w of s.warnings) {
      if (w.code === 'high-cv') g.noisy.push(s);
      else if (w.code === 'outlier') {
        if (!g.outlying.includes(s)) g.outlying.push(s);
      } else if (w.code === 'drift') g.drifting.push(s);
      else out.push(w);
    }
  }
  const named = (s: SeriesStats) => {
    const l = label(s);
    return typeof l === 'string' ? { name: l, item: undefined } : l;
  };
  for (const { noisy, outlying, drifting } of groups.values()) {
    if (noisy.length) out.push(noiseWarning(noisy, thresholds, named));
    out.push(...outlierWarnings(outlying, named));
    if (drifting.length) out.push(driftWarning(drifting, named));
  }
  return out;
}

type Named = (s: SeriesStats) => { name: string; item?: string | undefined };

function subjectOf(s: SeriesStats): Warning['subject'] {
  return { host: s.host, backend: s.backend, scenario: s.scenario };
}

/** Figures with a value each, items of one name together: `a 1 %; b (guest a 2 %, guest b 3 %)`. */
function figureList(entries: readonly { name: string; item?: string | undefined; value: string }[]): string {
  const byName = new Map<string, string[]>();
  for (const e of entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e.item ? `${e.item} ${e.value}` : e.value]);
  return [...byName.entries()].map(([name, items]) => `${name} ${items.length > 1 || /[a-z]/.test(items[0]!.split(' ')[0]!) ? `(${items.join(', ')})` : items[0]}`).join('; ');
}

/** `a, b and c`. */
function andList(xs: readonly string[]): string {
  return xs.length < 2 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

function noiseWarning(group: readonly SeriesStats[], thresholds: QualityThresholds, named: Named): Warning {
  const s = group[0]!;
  const advice = s.warnings.find((w) => w.code === 'high-cv')!.advice;
  const list = figureList(group.map((x) => ({ ...named(x), value: `${x.summary.cvPercent!.toFixed(1)} %` })));
  return {
    code: 'high-cv',
    severity: 'warning',
    subject: subjectOf(s),
    message: `noisy: coefficient of variation above ${thresholds.cvPercent} % (n = ${Math.max(...group.map((x) => x.summary.n))}) for ${list}`,
    ...(advice ? { advice } : {}),
  };
}

/**
 * One warning per set of repetitions that are outliers in the same figures: a single repetition
 * says how far from the median each figure is, several name the figures only.
 */
function outlierWarnings(group: readonly SeriesStats[], named: Named): Warning[] {
  if (group.length === 0) return [];
  const byRep = new Map<number, { s: SeriesStats; value: number }[]>();
  for (const s of group) for (const o of s.outliers) byRep.set(o.rep, [...(byRep.get(o.rep) ?? []), { s, value: o.value }]);
  const byFigures = new Map<string, number[]>();
  for (const [rep, hits] of byRep) {
    const k = hits.map((h) => h.s.key).join('\u0000');
    byFigures.set(k, [...(byFigures.get(k) ?? []), rep]);
  }
  const advice = group[0]!.warnings.find((w) => w.code === 'outlier')!.advice;
  return [...byFigures.values()].map((reps) => {
    const hits = byRep.get(reps[0]!)!;
    const n = Math.max(...hits.map((h) => h.s.summary.n));
    let what: string;
    if (reps.length === 1) {
      const value = (h: (typeof hits)[number]) => {
        const m = h.s.summary.median;
        return m === 0 ? `${h.value.toPrecision(3)} against 0` : `${h.value > m ? '+' : '−'}${((Math.abs(h.value - m) / Math.abs(m)) * 100).toFixed(0)} %`;
      };
      what = `repetition ${reps[0]} is an outlier (off the median of n = ${n}) in ${figureList(hits.map((h) => ({ ...named(h.s), value: value(h) })))}`;
    } else {
      const names = new Map<string, string[]>();
      for (const h of hits) {
        const { name, item } = named(h.s);
        names.set(name, [...(names.get(name) ?? []), ...(item ? [item] : [])]);
      }
      const figures = [...names.entries()].map(([name, items]) => (items.length ? `${name} (${items.join(', ')})` : name));
      what = `repetitions ${andList(reps.sort((a, b) => a - b).map(String))} are outliers (n = ${n}) in ${andList(figures)}`;
    }
    return { code: 'outlier' as const, severity: 'warning' as const, subject: subjectOf(hits[0]!.s), message: what, ...(advice ? { advice } : {}) };
  });
}

function driftWarning(group: readonly SeriesStats[], named: Named): Warning {
  const s = group[0]!;
  const advice = s.warnings.find((w) => w.code === 'drift')!.advice;
  const list = figureList(
    group.map((x) => {
      const d = x.drift!;
      const perRep = x.summary.median === 0 ? `${d.slopePerRep.toPrecision(3)} ${x.unit}` : `${d.slopePerRep > 0 ? '+' : '−'}${((Math.abs(d.slopePerRep) / Math.abs(x.summary.median)) * 100).toFixed(1)} %`;
      return { ...named(x), value: `${perRep} per repetition, p = ${formatP(d.p)}` };
    }),
  );
  return {
    code: 'drift',
    severity: 'warning',
    subject: subjectOf(s),
    message: `drifts over the run (Mann–Kendall, slope by Theil–Sen): ${list}`,
    ...(advice ? { advice } : {}),
  };
}

function defaultLabel(s: SeriesStats): string {
  const dims = Object.keys(s.dims)
    .sort()
    .map((k) => `${k}=${s.dims[k]}`)
    .join(', ');
  return `${metricInfo(s.metric).title.toLowerCase()}${dims ? ` (${dims})` : ''}`;
}

/** `18.0 % above the median, ` (nothing when the median is 0). */
function deviationText(value: number, median: number): string {
  if (median === 0) return '';
  return `${((Math.abs(value - median) / Math.abs(median)) * 100).toFixed(1)} % ${value > median ? 'above' : 'below'} the median, `;
}

export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}
