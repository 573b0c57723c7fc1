// How numbers, units, dimensions, directions, sources and paths read in every report format. What a
// path looks like (its order, colour, reference role, the names of its own sources) is data from the
// run (`PathLook`), never a list kept here.

import { metricInfo, metrics, type Direction, type MetricInfo, type MetricName } from '../metrics.ts';
import type { Dims } from '../samples.ts';

/** A display unit: divide a raw value by `factor` and print `unit`. */
export interface DisplayScale {
  factor: number;
  unit: string;
}

const SCALES: Record<string, { min: number; factor: number; unit: string }[]> = {
  'bit/s': [
    { min: 1e9, factor: 1e9, unit: 'Gbit/s' },
    { min: 1e6, factor: 1e6, unit: 'Mbit/s' },
    { min: 1e3, factor: 1e3, unit: 'kbit/s' },
  ],
  'pkt/s': [
    { min: 1e6, factor: 1e6, unit: 'Mpps' },
    { min: 1e3, factor: 1e3, unit: 'kpps' },
  ],
  bytes: [
    { min: 1e9, factor: 1e9, unit: 'GB' },
    { min: 1e6, factor: 1e6, unit: 'MB' },
    { min: 1e3, factor: 1e3, unit: 'kB' },
  ],
  us: [{ min: 1e4, factor: 1e3, unit: 'ms' }],
};

const PLAIN_NAMES: Record<string, string> = { us: 'µs', count: 'count' };

/** The display unit for values of this magnitude (the largest value that will be shown with it). */
export function displayScale(unit: string, magnitude: number): DisplayScale {
  const m = Math.abs(magnitude);
  for (const s of SCALES[unit] ?? []) if (m >= s.min) return { factor: s.factor, unit: s.unit };
  return { factor: 1, unit: PLAIN_NAMES[unit] ?? unit };
}

/** A number with about three significant digits; integers-sized values get thousands separators. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a === 0) return '0';
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

export function formatScaled(x: number, scale: DisplayScale): string {
  return formatNumber(x / scale.factor);
}

/** A value with its unit, scaled to read well on its own. */
export function formatValue(x: number, unit: string): string {
  const s = displayScale(unit, x);
  return `${formatScaled(x, s)} ${s.unit}`;
}

export function formatPercent(x: number, signed = false): string {
  const body = Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
  return `${signed && x > 0 ? '+' : ''}${body} %`;
}

/** `guest=a, reason=HLT`, keys sorted; empty for no dimensions. */
export function formatDims(dims: Dims | undefined): string {
  if (!dims) return '';
  return Object.keys(dims)
    .sort()
    .map((k) => `${k}=${dims[k]}`)
    .join(', ');
}

export function directionWords(d: Direction): string {
  if (d === 'higher-is-better') return 'higher is better';
  if (d === 'lower-is-better') return 'lower is better';
  return 'neither direction is better';
}

/** Names of the sources that workloads and the generic collectors write. */
const SOURCE_NAMES: Readonly<Record<string, string>> = {
  perf: 'perf',
  'perf-kvm': 'perf',
  debugfs: 'debugfs',
  qmp: 'QMP query-stats',
  'qmp-stats': 'QMP query-stats',
  'tcg-trace': 'TCG trace',
  iperf3: 'iperf3',
  proc: '/proc',
  'host-cpu': '/proc',
  sockperf: 'sockperf',
  'sockperf-full-log': 'sockperf (full log)',
};

/** How a path is shown, as its run recorded it (see `PathPresentation` of the descriptors). */
export interface PathLook {
  id: string;
  order?: number;
  color?: string;
  reference?: boolean;
  /** Names of the sample sources of the path's own collectors. */
  sources?: Readonly<Record<string, string>>;
  /** For a variant: the path it varies (its colour is a lighter shade of that path's). */
  variantOf?: string;
  /** For a variant: its name. */
  variant?: string;
}

/** The paths of several runs, one entry per id (the first run that has it says how it looks). */
export function mergePaths(lists: readonly (readonly PathLook[])[]): PathLook[] {
  const byId = new Map<string, PathLook>();
  for (const list of lists) for (const p of list) if (!byId.has(p.id)) byId.set(p.id, p);
  return [...byId.values()];
}

/** Source names for these paths: the generic ones and each path's own. */
export function sourceNames(paths: readonly PathLook[] = []): Readonly<Record<string, string>> {
  return Object.assign({}, ...paths.map((p) => p.sources ?? {}), SOURCE_NAMES) as Record<string, string>;
}

/** The human name of a sample source, as named next to every figure. */
export function sourceName(source: string, names: Readonly<Record<string, string>> = SOURCE_NAMES): string {
  return names[source] ?? source;
}

export function sourceList(sources: readonly string[], names: Readonly<Record<string, string>> = SOURCE_NAMES): string {
  const shown = [...new Set(sources.map((s) => sourceName(s, names)))];
  return shown.length ? shown.join(', ') : 'not recorded';
}

const comparators = new WeakMap<readonly PathLook[], (a: string, b: string) => number>();

/** Orders path ids as their runs say (ascending `order`); paths without one after, by name. */
export function pathOrder(paths: readonly PathLook[]): (a: string, b: string) => number {
  let compare = comparators.get(paths);
  if (!compare) {
    const order = new Map(paths.map((p) => [p.id, p.order ?? Infinity]));
    compare = (a, b) => {
      const oa = order.get(a) ?? Infinity;
      const ob = order.get(b) ?? Infinity;
      return oa !== ob ? oa - ob : a.localeCompare(b);
    };
    comparators.set(paths, compare);
  }
  return compare;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Run start as `2025-03-01 02:00 UTC`. */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

const GROUP_ORDER: MetricInfo['group'][] = ['throughput', 'packet-rate', 'latency', 'exits', 'device-accesses', 'cpu', 'switch', 'volume'];
const CATALOGUE_ORDER = Object.keys(metrics);

/** Metrics by report section, then in the catalogue's order (unknown metrics last, by name). */
export function compareMetrics(a: MetricName, b: MetricName): number {
  const ca = CATALOGUE_ORDER.indexOf(a);
  const cb = CATALOGUE_ORDER.indexOf(b);
  return (
    GROUP_ORDER.indexOf(metricInfo(a).group) - GROUP_ORDER.indexOf(metricInfo(b).group) ||
    (ca === -1 ? Infinity : ca) - (cb === -1 ? Infinity : cb) ||
    a.localeCompare(b)
  );
}

/** Large counts compactly: 125k, 33.0M; smaller values as {@link formatNumber}. */
export function formatCompact(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e9) return `${formatNumber(x / 1e9)}G`;
  if (a >= 1e6) return `${formatNumber(x / 1e6)}M`;
  if (a >= 1e4) return `${formatNumber(x / 1e3)}k`;
  return formatNumber(x);
}

/** A ratio as read aloud: `4.32×`, or for a lower-is-better figure below 1 also `6.8× fewer`. */
export function ratioWords(value: number, direction: Direction, noun: 'fewer' | 'lower' = 'fewer'): string {
  if (direction !== 'lower-is-better' || value === 1) return '';
  if (value === 0) return 'none above idle';
  return value < 1 ? `${formatNumber(1 / value)}× ${noun}` : `${formatNumber(value)}× ${noun === 'fewer' ? 'more' : 'higher'}`;
}

/** A path not (fully) measured, with the variants that were left out for the same reason. */
export interface NotRunGroup<B> {
  b: B;
  /** Names of its variants with the same status, reason and fix (named once, not repeated per variant). */
  alike: string[];
}

/**
 * Paths that were not measured, each variant folded into its path when it shares the path's status,
 * reason and fix (a host that cannot run a path skips it and all its variants for one reason).
 */
export function notRunGroups<B extends { id: string; host: string; status: string; reason?: string; fix?: string; variant?: { of: string; name: string } }>(list: readonly B[]): NotRunGroup<B>[] {
  const out: NotRunGroup<B>[] = [];
  for (const b of list) {
    const base = b.variant && out.find((g) => g.b.id === b.variant!.of && g.b.host === b.host && g.b.status === b.status && g.b.reason === b.reason && g.b.fix === b.fix);
    if (base) base.alike.push(b.variant!.name);
    else out.push({ b, alike: [] });
  }
  return out;
}

/** `<path>` or `<path> and its 10 variants`. */
export function withVariants(id: string, alike: readonly string[]): string {
  return alike.length ? `${id} and its ${alike.length === 1 ? `variant ${alike[0]}` : `${alike.length} variants`}` : id;
}
