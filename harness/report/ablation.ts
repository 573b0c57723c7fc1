// The ablation view: for each path measured with variants (profile `variants`), what each variant
// changed against the path's own series (QEMU's defaults): throughput of the TCP stream, packet
// rate of 64-byte UDP, device accesses or exits per GB and host CPU per Gbit/s, each as a ratio with
// its interval, the variants sorted by the size of their effect. Pure functions of the analysed
// series; the tables, figure and words that show it are ablation-view.ts.

import { metricInfo, type Direction, type MetricName } from '../metrics.ts';
import type { ConfidenceInterval } from '../stats/describe.ts';
import { pairedLogRatio, type Pair } from '../stats/paired.ts';
import { medianRatio, RATIO_METHOD } from '../stats/ratio.ts';
import { isHeadline, type SeriesStats } from '../stats/series.ts';
import { ranInRounds, type VariantRecord } from '../run/record.ts';
import { variantOf, type CostSeries } from './costs.ts';
import { MIN_WHISKER_N } from './figure-parts.ts';
import { pathOrder, sourceList, type PathLook } from './format.ts';
import type { LoadedRun } from './load.ts';
import type { BackendView } from './model.ts';

/** What an effect measures, in the order the view shows them. */
export type AblationMeasure = 'throughput' | 'packet-rate' | 'count-per-gb' | 'cpu-per-gbps';
export const ABLATION_MEASURES: readonly AblationMeasure[] = ['throughput', 'packet-rate', 'count-per-gb', 'cpu-per-gbps'];

/** How the interval of an effect was taken: pairs of the same round, or the two series resampled apart. */
export type AblationInterval = 'paired' | 'bootstrap';

/** One variant's change of one measure against its path's series. */
export interface AblationEffect {
  measure: AblationMeasure;
  scenario: string;
  metric: MetricName;
  /** `throughput`, `packet rate (64 B)`, `device accesses per GB`, `VM exits per GB`, `host CPU per Gbit/s`. */
  label: string;
  unit: string;
  direction: Direction;
  /** Medians of the path's series and of the variant's. */
  base: number;
  value: number;
  /** Variant over path; with `paired`, the geometric mean of the rounds' ratios. */
  ratio: number;
  ci: ConfidenceInterval | null;
  interval: AblationInterval;
  /** Pairs (rounds) with `paired`, otherwise the smaller of the two series' repetitions. */
  n: number;
  /** Where the numbers came from, in words (`iperf3`, `TCG trace`, `/proc`). */
  source: string;
}

/** One variant of a path, with its effects. */
export interface AblationRow {
  host: string;
  path: string;
  /** The variant's series id (`<path>~<name>`). */
  series: string;
  name: string;
  /** What it changes, in the profile's terms: `event_idx=off`, `2 queue pairs`, `mtu 9000`. */
  change: string;
  /** Properties the guests did not get (the series is not what its name says). */
  refused: string[];
  effects: AblationEffect[];
}

/** Every variant of one path on one host, the largest effect first. */
export interface AblationView {
  host: string;
  path: string;
  /** The path's own series was measured in rounds beside its variants (repetition r in round r). */
  paired: boolean;
  rows: AblationRow[];
  /** Variants without a single effect to show (not measured, or failed), by name. */
  missing: string[];
}

/** What a run says about its scenarios and order, as the ablation needs it. */
export interface AblationRun {
  host: string;
  /** Scenario names by kind (run.json's plan). */
  scenarios: { name: string; kind: string }[];
  /** Whether a path ran in rounds beside the other paths of its group (run.json `schedule`). */
  rounds: (path: string) => boolean;
}

/** A stored run as the ablation reads it: its plan's scenarios (when recorded) and its order. */
export function ablationRun(r: LoadedRun): AblationRun {
  const plan = r.record.profile.plan as { scenarios?: unknown } | undefined;
  const scenarios = Array.isArray(plan?.scenarios)
    ? plan.scenarios.flatMap((s: { name?: unknown; kind?: unknown }) => (typeof s?.kind === 'string' ? [{ kind: s.kind, name: typeof s.name === 'string' ? s.name : s.kind }] : []))
    : [];
  return { host: r.host, scenarios, rounds: (path) => ranInRounds(r.record.schedule, path) };
}

export const ABLATION_PAIRED_METHOD = 'with rounds, repetition r of the path and of each variant ran in the same round, so each effect is the geometric mean of the rounds\u2019 ratios (variant ÷ path, one pair per round, a drift slower than a round cancelling) with a 95 % Student t interval on the mean of their logarithms';
export const ABLATION_BOOTSTRAP_METHOD = `without two rounds to pair (a run in blocks, or of one repetition), the ratio of medians with a 95 % ${RATIO_METHOD}`;

/** What a variant changes, in the profile's terms. */
export function changeWords(v: Pick<VariantRecord, 'device' | 'mtu' | 'queues'>): string {
  const parts = Object.entries(v.device).map(([k, value]) => `${k}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)}`);
  if (v.queues !== undefined) parts.push(`${v.queues} queue pair${v.queues > 1 ? 's' : ''}`);
  if (v.mtu !== undefined) parts.push(`mtu ${v.mtu}`);
  return parts.join(', ') || 'no change';
}

/** The scenario of a kind in a run: by the plan when recorded, else the one named after the kind. */
function scenarioOf(run: AblationRun | undefined, kind: string, present: ReadonlySet<string>): string | undefined {
  const named = (run?.scenarios ?? []).filter((s) => s.kind === kind && present.has(s.name)).map((s) => s.name);
  return named[0] ?? (present.has(kind) ? kind : undefined);
}

const isEmpty = (s: SeriesStats) => Object.keys(variantOf(s.dims)).length === 0;

/**
 * The series a measure compares on one path: throughput of the TCP stream, packet rate of the 64-byte
 * UDP variant, the summed device accesses or exits per GB of the TCP stream over both guests (exits
 * where the run counted them), host CPU per Gbit/s of the TCP stream.
 */
function seriesFor(measure: AblationMeasure, o: { series: readonly SeriesStats[]; costs: readonly CostSeries[]; tcp?: string; udp?: string }, backend: string): SeriesStats | undefined {
  const here = (s: SeriesStats) => s.backend === backend;
  switch (measure) {
    case 'throughput':
      return o.series.find((s) => here(s) && s.scenario === o.tcp && s.metric === 'throughput' && isHeadline(s) && isEmpty(s));
    case 'packet-rate':
      return o.series.find((s) => here(s) && s.scenario === o.udp && s.metric === 'packetRate' && isHeadline(s) && Number(variantOf(s.dims).payloadBytes) === 64);
    case 'count-per-gb': {
      const both = o.costs.filter((c) => here(c) && c.scenario === o.tcp && c.basis === 'per-gb' && c.guest === undefined && isEmpty(c));
      return both.find((c) => c.count === 'exits') ?? both.find((c) => c.count === 'device-accesses');
    }
    case 'cpu-per-gbps':
      return o.costs.find((c) => here(c) && c.scenario === o.tcp && c.count === 'host-cpu' && c.basis === 'per-gbps' && isEmpty(c));
  }
}

function labelOf(measure: AblationMeasure, s: SeriesStats): string {
  if (measure === 'packet-rate') return 'packet rate (64 B)';
  if (measure === 'count-per-gb') return `${(s as CostSeries).what.replace(/ \(software emulation\)$/, '')} per GB`;
  if (measure === 'cpu-per-gbps') return 'host CPU per Gbit/s';
  return 'throughput';
}

/**
 * One effect: with rounds, the pairs of repetitions that share a round (same repetition index), their
 * log ratios' mean and t interval; otherwise (or with fewer than two pairs, or a zero in a pair) the
 * ratio of medians with a bootstrap interval over the two series.
 */
export function effectOf(measure: AblationMeasure, base: SeriesStats, variant: SeriesStats, rounds: boolean): AblationEffect | null {
  const median = (s: SeriesStats) => s.summary.median;
  const source = (base as Partial<CostSeries>).method ?? sourceList(base.sources);
  const common = { measure, scenario: base.scenario, metric: base.metric, label: labelOf(measure, base), unit: base.unit, direction: metricInfo(base.metric).direction, base: median(base), value: median(variant), source };
  if (rounds) {
    const byRep = new Map(base.points.map((p) => [p.rep, p.value]));
    const pairs: Pair[] = variant.points.flatMap((p) => (byRep.has(p.rep) ? [{ a: p.value, b: byRep.get(p.rep)! }] : []));
    if (pairs.length >= 2 && pairs.every((p) => p.a > 0 && p.b > 0 && Number.isFinite(p.a) && Number.isFinite(p.b))) {
      const r = pairedLogRatio(pairs);
      return { ...common, ratio: r.ratio, ci: r.ci, interval: 'paired', n: r.n };
    }
  }
  const r = medianRatio(
    variant.points.map((p) => p.value),
    base.points.map((p) => p.value),
  );
  if (!r) return null;
  return { ...common, ratio: r.value, ci: r.ci, interval: 'bootstrap', n: Math.min(base.points.length, variant.points.length) };
}

/** The size an effect is sorted by: the first workload measure the variant has, on the log scale. */
export function effectSize(row: Pick<AblationRow, 'effects'>): number {
  const first = ABLATION_MEASURES.map((m) => row.effects.find((e) => e.measure === m)).find((e) => e !== undefined);
  return first ? Math.abs(Math.log(first.ratio)) : 0;
}

/** The variants of each path as their runs recorded them (`variant.of`), or by the `<path>~<name>` id. */
function variantsByPath(backends: readonly BackendView[]): Map<string, { host: string; path: string; b: BackendView; name: string }[]> {
  const out = new Map<string, { host: string; path: string; b: BackendView; name: string }[]>();
  for (const b of backends) {
    const of = b.variant?.of ?? (b.id.includes('~') ? b.id.slice(0, b.id.indexOf('~')) : undefined);
    if (!of) continue;
    const name = b.variant?.name ?? b.id.slice(b.id.indexOf('~') + 1);
    const key = `${b.host}\u0000${of}`;
    out.set(key, [...(out.get(key) ?? []), { host: b.host, path: of, b, name }]);
  }
  return out;
}

/** The ablation view of every path that has variants, per host, in the report's path order. */
export function computeAblation(o: { series: readonly SeriesStats[]; costs: readonly CostSeries[]; backends: readonly BackendView[]; runs: readonly AblationRun[]; paths: readonly PathLook[] }): AblationView[] {
  const views: AblationView[] = [];
  for (const variants of variantsByPath(o.backends).values()) {
    const { host, path } = variants[0]!;
    const run = o.runs.find((r) => r.host === host);
    const series = o.series.filter((s) => s.host === host);
    const costs = o.costs.filter((c) => c.host === host);
    const present = new Set(series.map((s) => s.scenario));
    const pick = { series, costs, tcp: scenarioOf(run, 'tcp-stream', present), udp: scenarioOf(run, 'udp-small', present) };
    const rounds = run?.rounds(path) ?? false;
    const rows: AblationRow[] = [];
    const missing: string[] = [];
    for (const v of variants) {
      const effects = ABLATION_MEASURES.flatMap((m) => {
        const base = seriesFor(m, pick, path);
        const mine = seriesFor(m, pick, v.b.id);
        const e = base && mine ? effectOf(m, base, mine, rounds) : null;
        return e ? [e] : [];
      });
      if (effects.length === 0) {
        missing.push(v.name);
        continue;
      }
      const refused = [...new Set((v.b.variant?.refused ?? []).map((r) => r.property))];
      rows.push({ host, path, series: v.b.id, name: v.name, change: v.b.variant ? changeWords(v.b.variant) : v.name, refused, effects });
    }
    // A path that was not measured at all is named among the paths not measured, not given a view.
    if (rows.length === 0 && (missing.length === 0 || !series.some((s) => s.backend === path))) continue;
    rows.sort((a, b) => effectSize(b) - effectSize(a) || a.name.localeCompare(b.name));
    views.push({ host, path, paired: rows.some((r) => r.effects.some((e) => e.interval === 'paired')), rows, missing });
  }
  const byPath = pathOrder(o.paths);
  return views.sort((a, b) => a.host.localeCompare(b.host) || byPath(a.path, b.path));
}

/** `-12 %`, `+3.4 %`: a ratio as a signed change, whole percent from 10 % on. */
export function percentChange(ratio: number): string {
  const p = (ratio - 1) * 100;
  const body = Math.abs(p) >= 9.95 ? Math.abs(p).toFixed(0) : Math.abs(p).toFixed(1);
  if (Number(body) === 0) return '0 %';
  return `${p < 0 ? '-' : '+'}${body} %`;
}

/** `(-18 to -6 %)`; empty without an interval. */
export function intervalWords(ci: ConfidenceInterval | null): string {
  if (!ci) return '';
  return `(${percentChange(ci.low).replace(/ %$/, '')} to ${percentChange(ci.high)})`;
}

/** `+3.1 k`, `-420`, `+1.2 M`: a signed difference of counts. */
export function signedCount(x: number): string {
  const a = Math.abs(x);
  const sign = x < 0 ? '-' : '+';
  if (a >= 1e6) return `${sign}${(a / 1e6).toFixed(a >= 1e7 ? 0 : 1)} M`;
  if (a >= 1e3) return `${sign}${(a / 1e3).toFixed(a >= 1e4 ? 0 : 1)} k`;
  return `${sign}${a.toFixed(a >= 10 ? 0 : 1)}`;
}

/**
 * The interval a reader is shown: none below {@link MIN_WHISKER_N} pairs or repetitions, as for every
 * other interval of the report (with two, t(1) = 12.7 spans most of the axis and says nothing).
 */
export function shownInterval(e: Pick<AblationEffect, 'ci' | 'n'>): ConfidenceInterval | null {
  return e.n >= MIN_WHISKER_N ? e.ci : null;
}

/** Why an effect has no interval: `2 rounds, too few for an interval`. */
function tooFew(e: Pick<AblationEffect, 'interval' | 'n'>): string {
  return `${e.interval === 'paired' ? `${e.n} round${e.n === 1 ? '' : 's'}` : `n = ${e.n}`}, too few for an interval`;
}

/**
 * One effect in words: a change in percent with its interval (`throughput -12 % (-18 to -6 %)`);
 * counts per GB lead with the difference in counts (`+3.1 k device accesses per GB (+8 %, 2 to 14 %)`).
 */
export function effectWords(e: AblationEffect, sayMissing = true): string {
  const shown = shownInterval(e);
  const ci = shown ? intervalWords(shown) : sayMissing ? '(no interval)' : '';
  if (e.measure === 'count-per-gb') return `${signedCount(e.value - e.base)} ${e.label} (${percentChange(e.ratio)}${ci ? `, ${ci.slice(1, -1)}` : ''})`;
  return `${e.label} ${percentChange(e.ratio)}${ci ? ` ${ci}` : ''}`;
}

/** A variant in one line: `event_idx=off: throughput -12 % (-18 to -6 %), +3.1 k exits per GB (+8 %, 2 to 14 %)`. */
export function rowWords(r: AblationRow): string {
  const refused = r.refused.length ? ` [not followed: ${r.refused.join(', ')}]` : '';
  // Too few rounds for any interval: said once, not after every effect.
  const none = r.effects.every((e) => !shownInterval(e));
  const words = r.effects.map((e) => effectWords(e, !none)).join(', ');
  return `${r.change}${refused}: ${words}${none && r.effects.length ? ` (${tooFew(r.effects[0]!)})` : ''}`;
}

/** How the intervals were taken, as the Methods list and the section say it. */
export function ablationMethod(views: readonly AblationView[]): string {
  const paired = views.some((v) => v.paired);
  const unpaired = views.some((v) => !v.paired);
  const parts = [paired ? ABLATION_PAIRED_METHOD : '', unpaired ? ABLATION_BOOTSTRAP_METHOD : ''].filter(Boolean);
  return `each variant against its own path (QEMU's defaults) on the same host: ${parts.join('; ')}. The percent is (ratio − 1) · 100; counts per GB are the summed device accesses or exits of both guests, host CPU the sum over every thread of the series`;
}
