// The tables of one scenario: what each path achieved (headline metrics with intervals, and the
// ratio to the reference path) and what it cost (device accesses or exits per GB and per packet per
// guest, host CPU per Gbit/s or per Mpps). Renderer-neutral cells, pure functions of the ReportModel.

import { metricInfo, type MetricName } from '../metrics.ts';
import { MIN_BEYOND } from '../stats/percentiles.ts';
import { hasBreakdownDims, type SeriesStats } from '../stats/series.ts';
import { basisWords, compareVariants, variantLabel, variantOf, type CostBasis, type CostSeries } from './costs.ts';
import { isBulk } from './figures.ts';
import { displayScale, pathOrder, formatCompact, formatNumber, formatPercent, formatScaled, formatValue, ratioWords, sourceList, type DisplayScale } from './format.ts';
import { hostIsLab, isRate, LAB_RATE_NOTE } from './lab.ts';
import type { RatioView, ReportModel } from './model.ts';
import type { Cell, Column, Table } from './summary.ts';

// p99.9 is shown but is no headline metric: it is not compared, and its spread raises no warning.
const MAIN_METRICS: readonly MetricName[] = ['throughput', 'packetRate', 'lossPercent', 'latencyP50', 'latencyP90', 'latencyP99', 'latencyP999'];
const RATIO_COLUMNS: readonly MetricName[] = ['throughput', 'packetRate', 'latencyP50', 'latencyP99'];
const SHORT: Record<string, string> = {
  throughput: 'Throughput',
  packetRate: 'Delivered packet rate',
  lossPercent: 'Loss',
  latencyP50: 'p50',
  latencyP90: 'p90',
  latencyP99: 'p99',
  latencyP999: 'p99.9',
};

const arrowOf = (metric: MetricName) => {
  const d = metricInfo(metric).direction;
  return d === 'higher-is-better' ? '↑' : d === 'lower-is-better' ? '↓' : '';
};

/** Whether any interval was cut at zero (reported once under the tables). */
export interface Ctx {
  model: ReportModel;
  clipped: boolean;
}

/** `2.31 [0 – 5.71]`: the interval of the mean, cut at 0 since none of these quantities can be negative. */
function ciText(ctx: Ctx, s: SeriesStats, scale: DisplayScale): string {
  const f = (x: number) => formatScaled(x, scale);
  if (!s.summary.ci) return `${f(s.summary.mean)} [n/a]`;
  const low = s.summary.ci.low < 0 ? 0 : s.summary.ci.low;
  if (s.summary.ci.low < 0) ctx.clipped = true;
  return `${f(s.summary.mean)} [${f(low)} – ${f(s.summary.ci.high)}]`;
}

export function ratioCell(r: RatioView | undefined, isRef: boolean, oneLine = false): Cell {
  if (isRef) return { text: '1×', note: 'reference' };
  if (!r) return { text: '–' };
  const ci = r.estimate.ci ? `[${formatNumber(r.estimate.ci.low)} – ${formatNumber(r.estimate.ci.high)}]` : '[n/a]';
  const words = ratioWords(r.estimate.value, r.direction, /latency/.test(r.metric) ? 'lower' : 'fewer');
  return { text: `${formatNumber(r.estimate.value)}×`, note: `${ci}${words ? `${oneLine ? ' ' : '\n'}${words}` : ''}`, title: `${r.numerator} ÷ ${r.denominator}, ratio of medians, 95 % percentile-bootstrap interval, n = ${r.n.numerator} and ${r.n.denominator}` };
}

/** A rate measured in the nested lab carries the words that it is not representative. */
export function labMarked(cell: Cell, lab: boolean, metric: string): Cell {
  if (!lab || !isRate(metric)) return cell;
  return { ...cell, note: cell.note ? `${cell.note}\n${LAB_RATE_NOTE}` : LAB_RATE_NOTE };
}

function statTitle(s: SeriesStats): string {
  const sum = s.summary;
  return `n = ${sum.n}; median ${formatNumber(sum.median)}; mean ${formatNumber(sum.mean)}${sum.ci ? ` [${formatNumber(sum.ci.low)} – ${formatNumber(sum.ci.high)}]` : ''}; CV ${sum.cvPercent === null ? 'n/a' : formatPercent(sum.cvPercent)}; min ${formatNumber(sum.min)}, max ${formatNumber(sum.max)}`;
}

/** The reference path of a host. */
export function referenceOf(model: Pick<ReportModel, 'references'>, host: string): string | undefined {
  return model.references.find((r) => r.host === host)?.backend;
}

/** One headline figure of one path and variant, with its ratio to the reference path. */
interface Entry {
  backend: string;
  variant: string;
  metric: MetricName;
  series: SeriesStats;
  ratio: Cell | undefined;
}

/** The headline entries of a scenario, path by path, variant by variant, metric by metric. */
function performanceEntries(model: ReportModel, host: string, scenario: string): { entries: Entry[]; metrics: MetricName[]; variants: string[]; ref: string | undefined } | null {
  const series = model.series.filter((s) => s.host === host && s.scenario === scenario && MAIN_METRICS.includes(s.metric) && !hasBreakdownDims(s.dims));
  if (series.length === 0) return null;
  const metrics = MAIN_METRICS.filter((m) => series.some((s) => s.metric === m));
  const variants = uniqueVariants(series).map(variantLabel);
  const ref = referenceOf(model, host);
  const entries: Entry[] = [];
  for (const b of [...new Set(series.map((s) => s.backend))].sort(pathOrder(model.paths))) {
    for (const v of variants) {
      for (const m of metrics) {
        const s = series.find((x) => x.backend === b && x.metric === m && variantLabel(variantOf(x.dims)) === v);
        if (!s) continue;
        let ratio: Cell | undefined;
        if (ref && RATIO_COLUMNS.includes(m)) {
          const r = model.ratios.find((x) => x.host === host && x.scenario === scenario && x.metric === m && x.numerator === b && variantLabel(x.variant) === v);
          ratio = ratioCell(r, b === ref);
        }
        entries.push({ backend: b, variant: v, metric: m, series: s, ratio });
      }
    }
  }
  return { entries, metrics, variants, ref };
}

const noisy = (model: ReportModel, s: SeriesStats) => s.summary.cvPercent !== null && s.summary.cvPercent > model.thresholds.cvPercent;

/**
 * What the paths achieved in one scenario, wide (for HTML): one row per path and variant; the first
 * headline metric with its interval and CV, the others with their interval underneath, then the
 * ratios to the reference path.
 */
export function performanceTable(ctx: Ctx, host: string, scenario: string): Table | null {
  const { model } = ctx;
  const p = performanceEntries(model, host, scenario);
  if (!p) return null;
  const { entries, metrics, variants, ref } = p;
  const m0 = metrics[0]!;
  const hasVariant = variants.some((v) => v !== '');
  const ratioMetrics = RATIO_COLUMNS.filter((m) => metrics.includes(m));
  // Metrics of one unit share a display unit (p50, p90 and p99 all in µs or all in ms).
  const scales = new Map(metrics.map((m) => [m, scaleFor(entries.filter((e) => e.series.unit === metricInfo(m).unit).map((e) => e.series))]));
  const columns: Column[] = [
    { text: 'Path', num: false },
    ...(hasVariant ? [{ text: 'Payload', num: false }] : []),
    { text: 'n', num: true },
    { text: `${SHORT[m0] ?? metricInfo(m0).title} ${arrowOf(m0)}`, sub: `median, ${scales.get(m0)!.unit} · ${sourceList(entries.filter((e) => e.metric === m0).flatMap((e) => e.series.sources), model.sourceNames)}`, num: true },
    { text: 'Mean [95 % CI]', sub: scales.get(m0)!.unit, num: true },
    { text: 'CV', num: true },
    ...metrics.slice(1).map((m) => ({ text: `${SHORT[m] ?? metricInfo(m).title} ${arrowOf(m)}`, sub: `median [95 % CI], ${scales.get(m)!.unit}`, num: true })),
    ...(ref ? ratioMetrics.map((m) => ({ text: `${ratioMetrics.length > 1 ? `${SHORT[m]} ` : ''}× ${ref}`, sub: 'ratio of medians [95 % CI]', num: true })) : []),
  ];
  const rows: Cell[][] = [];
  const lab = hostIsLab(model, host);
  const keys = [...new Map(entries.map((e) => [`${e.backend}\u0000${e.variant}`, e])).values()];
  for (const k of keys) {
    const at = (m: MetricName) => entries.find((e) => e.backend === k.backend && e.variant === k.variant && e.metric === m);
    const e0 = at(m0);
    const sc0 = scales.get(m0)!;
    const row: Cell[] = [{ text: k.backend }];
    if (hasVariant) row.push({ text: k.variant });
    row.push({ text: String(Math.max(...entries.filter((e) => e.backend === k.backend && e.variant === k.variant).map((e) => e.series.summary.n))) });
    if (e0) {
      const s0 = e0.series;
      row.push(labMarked({ text: formatScaled(s0.summary.median, sc0), title: statTitle(s0) }, lab, m0), { text: ciText(ctx, s0, sc0) }, { text: s0.summary.cvPercent === null ? 'n/a' : formatPercent(s0.summary.cvPercent), noisy: noisy(model, s0) });
    } else row.push({ text: '–' }, { text: '–' }, { text: '–' });
    for (const m of metrics.slice(1)) {
      const e = at(m);
      const sc = scales.get(m)!;
      row.push(e ? labMarked({ text: formatScaled(e.series.summary.median, sc), note: ciText(ctx, e.series, sc).replace(/^\S+ /, ''), title: statTitle(e.series), noisy: noisy(model, e.series) }, lab, m) : { text: '–' });
    }
    if (ref) for (const m of ratioMetrics) row.push(labMarked(at(m)?.ratio ?? { text: '–' }, lab && at(m)?.ratio !== undefined, m));
    rows.push(row);
  }
  return { caption: `What each path achieved${hasVariant ? ', per payload size' : ''}${tailWords(model, host, scenario)}`, columns, rows };
}

/**
 * What the latency percentiles of a scenario rest on, for its table's caption: the round trips of
 * sockperf's full log per repetition, and how many of them lie beyond p99.9. Empty where no full
 * log was kept (the percentiles are then sockperf's summary, named as the source).
 */
export function tailWords(model: ReportModel, host: string, scenario: string): string {
  const counts = model.series.filter((s) => s.host === host && s.scenario === scenario && s.metric === 'latencySamples').flatMap((s) => s.points.map((p) => p.value));
  if (counts.length === 0) return '';
  const [lo, hi] = [Math.min(...counts), Math.max(...counts)];
  const range = (a: number, b: number) => (a === b ? formatCount(a) : `${formatCount(a)} to ${formatCount(b)}`);
  const beyond = (n: number) => Math.floor(n / 1000);
  const p999 = beyond(lo) >= MIN_BEYOND ? `; p99.9 rests on the slowest ${range(beyond(lo), beyond(hi))} of them` : `; p99.9 needs ${formatCount(MIN_BEYOND * 1000)} round trips, so it is given only where a repetition had that many`;
  return `; latency percentiles are exact, from every round trip in sockperf's full log: ${range(lo, hi)} round trips per repetition${p999}`;
}

const formatCount = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * The same figures long (for Markdown, where narrow columns read better): one row per path,
 * variant and metric, with the metric's unit in its cell and its source in the last column.
 */
export function performanceTableLong(model: ReportModel, host: string, scenario: string): { table: Table; clipped: boolean } | null {
  const ctx: Ctx = { model, clipped: false };
  const p = performanceEntries(model, host, scenario);
  if (!p) return null;
  const { entries, ref } = p;
  const lab = hostIsLab(model, host);
  const scaleOf = (m: MetricName) => scaleFor(entries.filter((e) => e.series.unit === metricInfo(m).unit).map((e) => e.series));
  const rows = entries.map((e) => {
    const sc = scaleOf(e.metric);
    const s = e.series;
    return [
      { text: e.backend },
      { text: `${metricInfo(e.metric).title}${e.variant ? ` (${e.variant})` : ''} ${arrowOf(e.metric)}`.trim() },
      labMarked({ text: `${formatScaled(s.summary.median, sc)} ${sc.unit}`, noisy: noisy(model, s) }, lab, e.metric),
      { text: ciText(ctx, s, sc) },
      { text: s.summary.cvPercent === null ? 'n/a' : formatPercent(s.summary.cvPercent) },
      { text: String(s.summary.n) },
      ...(ref ? [e.ratio ? { text: e.ratio.text, ...(e.ratio.note ? { note: e.ratio.note } : {}) } : { text: '' }] : []),
      { text: sourceList(s.sources, model.sourceNames) },
    ];
  });
  return {
    table: {
      caption: `What each path achieved${tailWords(model, host, scenario)}`,
      columns: [
        { text: 'Path', num: false },
        { text: 'Metric', num: false },
        { text: 'Median', num: true },
        { text: 'Mean [95 % CI]', num: true },
        { text: 'CV', num: true },
        { text: 'n', num: true },
        ...(ref ? [{ text: `× ${ref} [95 % CI]`, num: true }] : []),
        { text: 'Source', num: false },
      ],
      rows,
    },
    clipped: ctx.clipped,
  };
}

/** The cost table of a scenario (shared by HTML and Markdown). */
export function costTableOf(model: ReportModel, host: string, scenario: string): Table | null {
  return costTable({ model, clipped: false }, host, scenario);
}

function uniqueVariants(series: readonly { dims: Record<string, string | number> }[]) {
  const seen = new Map<string, Record<string, string | number>>();
  for (const s of series) seen.set(variantLabel(variantOf(s.dims)), variantOf(s.dims));
  return [...seen.values()].sort(compareVariants);
}

function scaleFor(series: readonly SeriesStats[]): DisplayScale {
  const unit = series[0]?.unit ?? 'count';
  return displayScale(unit, Math.max(...series.map((s) => Math.abs(s.summary.median))));
}

const COUNT_BASES: CostBasis[] = ['per-gb', 'per-packet'];

/** What each path cost in one scenario: device accesses or exits per guest and path, host CPU. */
export function costTable(ctx: Ctx, host: string, scenario: string): Table | null {
  const { model } = ctx;
  const costs = model.costs.filter((c) => c.host === host && c.scenario === scenario);
  if (costs.length === 0) return null;
  const bulk = isBulk(model, scenario);
  const counts = costs.filter((c) => c.count !== 'host-cpu');
  const cpuBasis: CostBasis = bulk ? 'per-gbps' : 'per-mpps';
  const cpu = costs.filter((c) => c.basis === cpuBasis);
  const guests = [...new Set(counts.map((c) => c.guest).filter((g): g is string => g !== undefined))].sort();
  const bases = COUNT_BASES.filter((b) => counts.some((c) => c.basis === b));
  const what = [...new Set(counts.map((c) => c.what))];
  const variants = uniqueVariants(costs);
  const hasVariant = variants.some((v) => Object.keys(v).length > 0);
  const sizes = model.packetSizes.filter((p) => p.host === host && p.scenario === scenario);
  const backends = [...new Set(costs.map((c) => c.backend))].sort(pathOrder(model.paths));
  const whoCols = [...guests.map((g) => `guest ${g}`), ...(guests.length > 1 ? ['both'] : [])];
  const columns: Column[] = [{ text: 'Path', num: false }, ...(hasVariant ? [{ text: 'Payload', num: false }] : [])];
  for (const b of bases) {
    for (const w of whoCols) columns.push({ group: `${capital(what.join(' / '))} ${basisWords(b)} ↓`, text: w, num: true });
  }
  if (sizes.length) columns.push({ text: 'Bytes per packet', sub: 'guest NIC counters', num: true });
  if (cpu.length) columns.push({ text: `Host CPU ${basisWords(cpuBasis)} ↓`, sub: `${cpuBasis === 'per-gbps' ? 'cores per Gbit/s' : 'cores per Mpps'}, all threads · ${[...new Set(cpu.map((c) => c.method))].join(', ')}`, num: true });
  const rows: Cell[][] = [];
  const cell = (c: CostSeries | undefined, compact: boolean): Cell =>
    c ? { text: compact ? formatCompact(c.summary.median) : formatNumber(c.summary.median), title: statTitle(c), noisy: c.summary.cvPercent !== null && c.summary.cvPercent > model.thresholds.cvPercent } : { text: '–' };
  for (const b of backends) {
    for (const v of variants) {
      const vl = variantLabel(v);
      const here = costs.filter((c) => c.backend === b && variantLabel(c.variant) === vl);
      if (here.length === 0) continue;
      const row: Cell[] = [{ text: b }];
      if (hasVariant) row.push({ text: vl });
      for (const basis of bases) {
        for (const w of whoCols) {
          const g = w === 'both' ? undefined : w.replace('guest ', '');
          row.push(cell(here.find((c) => c.basis === basis && c.count !== 'host-cpu' && c.guest === g), basis === 'per-gb'));
        }
      }
      if (sizes.length) {
        const p = sizes.find((x) => x.backend === b && variantLabel(x.variant) === vl);
        row.push({ text: p ? formatValue(p.bytesPerPacket, 'bytes').replace(/ bytes$/, ' B') : '–' });
      }
      if (cpu.length) row.push(cell(here.find((c) => c.basis === cpuBasis), false));
      rows.push(row);
    }
  }
  const sources = [...new Set(counts.map((c) => c.method))].join('; ');
  return { caption: `What each path cost: medians over repetitions, idle baseline subtracted${sources ? ` (${what.join(' / ')}: ${sources})` : ''}`, columns, rows };
}

export function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
