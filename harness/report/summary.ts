// The summary as renderer-neutral tables: per scenario what each path achieved (with intervals and
// the ratio to the reference path) and what it cost (device accesses or exits per GB and per
// packet, host CPU per Gbit/s or per Mpps), the ratios in one matrix, the idle baseline, and the
// notes on how the cost figures were counted. HTML and Markdown print the same cells, so the two
// never disagree. Pure functions of the ReportModel.

import { metricInfo } from '../metrics.ts';
import { isHeadline, type SeriesStats } from '../stats/series.ts';
import { basisWords, compareVariants, variantLabel, variantOf, type CostBasis, type CostSeries } from './costs.ts';
import { orderedScenarios, isBulk } from './figures.ts';
import { compareBackends, displayScale, formatCompact, formatNumber, formatPercent, formatScaled, formatValue, ratioWords, sourceList, type DisplayScale } from './format.ts';
import { hostIsLab, isRate, LAB_RATE_NOTE } from './lab.ts';
import type { RatioView, ReportModel } from './model.ts';

export interface Cell {
  text: string;
  /** A second, quieter line (an interval, words for a ratio). */
  note?: string;
  /** Longer detail for a tooltip (HTML only). */
  title?: string;
  /** Marked as noisy (coefficient of variation above the threshold). */
  noisy?: boolean;
}

export interface Column {
  text: string;
  /** Unit, source or direction under the title. */
  sub?: string;
  num: boolean;
  /** A heading shared by neighbouring columns (e.g. `Device accesses per GB` over `guest a`, `guest b`, `both`). */
  group?: string;
}

export interface Table {
  caption: string;
  columns: Column[];
  rows: Cell[][];
}

export interface ScenarioBlock {
  host: string;
  scenario: string;
  title: string;
  tables: Table[];
  notes: string[];
}

/** What each scenario is, in words (by name; unknown scenarios are named only). */
const SCENARIO_TITLES: Record<string, string> = {
  'tcp-stream': 'TCP stream (iperf3), offloads as the guest drivers set them',
  'tcp-stream-no-offload': 'TCP stream (iperf3) with segmentation, receive and checksum offloads off',
  'udp-small': 'UDP at unlimited offered rate (iperf3 -u -b 0): delivered packets and loss per payload size',
  'udp-pps': 'UDP packet rate (iperf3)',
  latency: 'request/response round trips (sockperf ping-pong)',
};

const MAIN_METRICS = ['throughput', 'packetRate', 'lossPercent', 'latencyP50', 'latencyP90', 'latencyP99'];
const RATIO_COLUMNS = ['throughput', 'packetRate', 'latencyP50', 'latencyP99'];
const SHORT: Record<string, string> = {
  throughput: 'Throughput',
  packetRate: 'Delivered packet rate',
  lossPercent: 'Loss',
  latencyP50: 'p50',
  latencyP90: 'p90',
  latencyP99: 'p99',
};

const arrowOf = (metric: string) => {
  const d = metricInfo(metric).direction;
  return d === 'higher-is-better' ? '↑' : d === 'lower-is-better' ? '↓' : '';
};

/** Whether any interval was cut at zero (reported once under the tables). */
interface Ctx {
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

function ratioCell(r: RatioView | undefined, isRef: boolean, oneLine = false): Cell {
  if (isRef) return { text: '1×', note: 'reference' };
  if (!r) return { text: '–' };
  const ci = r.estimate.ci ? `[${formatNumber(r.estimate.ci.low)} – ${formatNumber(r.estimate.ci.high)}]` : '[n/a]';
  const words = ratioWords(r.estimate.value, r.direction, /latency/.test(r.metric) ? 'lower' : 'fewer');
  return { text: `${formatNumber(r.estimate.value)}×`, note: `${ci}${words ? `${oneLine ? ' ' : '\n'}${words}` : ''}`, title: `${r.numerator} ÷ ${r.denominator}, ratio of medians, 95 % percentile-bootstrap interval, n = ${r.n.numerator} and ${r.n.denominator}` };
}

/** A rate measured in the nested lab carries the words that it is not representative. */
function labMarked(cell: Cell, lab: boolean, metric: string): Cell {
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
  metric: string;
  series: SeriesStats;
  ratio: Cell | undefined;
}

/** The headline entries of a scenario, path by path, variant by variant, metric by metric. */
function performanceEntries(model: ReportModel, host: string, scenario: string): { entries: Entry[]; metrics: string[]; variants: string[]; ref: string | undefined } | null {
  const series = model.series.filter((s) => s.host === host && s.scenario === scenario && isHeadline(s) && MAIN_METRICS.includes(s.metric));
  if (series.length === 0) return null;
  const metrics = MAIN_METRICS.filter((m) => series.some((s) => s.metric === m));
  const variants = uniqueVariants(series).map(variantLabel);
  const ref = referenceOf(model, host);
  const entries: Entry[] = [];
  for (const b of [...new Set(series.map((s) => s.backend))].sort(compareBackends)) {
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
function performanceTable(ctx: Ctx, host: string, scenario: string): Table | null {
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
    { text: `${SHORT[m0] ?? metricInfo(m0).title} ${arrowOf(m0)}`, sub: `median, ${scales.get(m0)!.unit} · ${sourceList(entries.filter((e) => e.metric === m0).flatMap((e) => e.series.sources))}`, num: true },
    { text: 'Mean [95 % CI]', sub: scales.get(m0)!.unit, num: true },
    { text: 'CV', num: true },
    ...metrics.slice(1).map((m) => ({ text: `${SHORT[m] ?? metricInfo(m).title} ${arrowOf(m)}`, sub: `median [95 % CI], ${scales.get(m)!.unit}`, num: true })),
    ...(ref ? ratioMetrics.map((m) => ({ text: `${ratioMetrics.length > 1 ? `${SHORT[m]} ` : ''}× ${ref}`, sub: 'ratio of medians [95 % CI]', num: true })) : []),
  ];
  const rows: Cell[][] = [];
  const lab = hostIsLab(model, host);
  const keys = [...new Map(entries.map((e) => [`${e.backend}\u0000${e.variant}`, e])).values()];
  for (const k of keys) {
    const at = (m: string) => entries.find((e) => e.backend === k.backend && e.variant === k.variant && e.metric === m);
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
  return { caption: `What each path achieved${hasVariant ? ', per payload size' : ''}`, columns, rows };
}

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
  const scaleOf = (m: string) => scaleFor(entries.filter((e) => e.series.unit === metricInfo(m).unit).map((e) => e.series));
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
      { text: sourceList(s.sources) },
    ];
  });
  return {
    table: {
      caption: 'What each path achieved',
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
function costTable(ctx: Ctx, host: string, scenario: string): Table | null {
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
  const backends = [...new Set(costs.map((c) => c.backend))].sort(compareBackends);
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

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Notes that change how a scenario's numbers read: packet sizes that differ, busy-polling threads. */
function scenarioNotes(model: ReportModel, host: string, scenario: string): string[] {
  const notes: string[] = [];
  const sizes = model.packetSizes.filter((p) => p.host === host && p.scenario === scenario);
  const byVariant = new Map<string, typeof sizes>();
  for (const p of sizes) byVariant.set(variantLabel(p.variant), [...(byVariant.get(variantLabel(p.variant)) ?? []), p]);
  for (const [v, ps] of byVariant) {
    const lo = ps.reduce((a, b) => (b.bytesPerPacket < a.bytesPerPacket ? b : a));
    const hi = ps.reduce((a, b) => (b.bytesPerPacket > a.bytesPerPacket ? b : a));
    if (hi.bytesPerPacket > 2 * lo.bytesPerPacket) {
      notes.push(
        `Per-packet figures${v ? ` (${v})` : ''} compare packets of different sizes: the guests of ${hi.backend} counted ${formatValue(hi.bytesPerPacket, 'bytes').replace(/ bytes$/, ' B')} per packet (segmentation and receive offloads hand the driver super-packets), those of ${lo.backend} ${formatValue(lo.bytesPerPacket, 'bytes').replace(/ bytes$/, ' B')}. Compare this scenario per GB.`,
      );
    }
  }
  // A busy-polling thread is as busy at rest as under load: above idle it counts ~0. Say what it adds.
  const bulk = isBulk(model, scenario);
  for (const idle of model.idle.filter((i) => i.host === host)) {
    for (const c of busyRoles(idle)) {
      const adds: string[] = [];
      const here = model.series.filter((s) => s.host === host && s.backend === idle.backend && s.scenario === scenario && isHeadline(s));
      const rates = here.filter((x) => x.metric === (bulk ? 'throughput' : 'packetRate') && x.summary.median > 0).sort((a, b) => compareVariants(variantOf(a.dims), variantOf(b.dims)));
      for (const s of rates) {
        const v = variantLabel(variantOf(s.dims));
        const per = bulk ? `${formatNumber(c.cores / (s.summary.median / 1e9))} cpu-s/(Gbit/s) at its median ${formatValue(s.summary.median, 'bit/s')}` : `${formatNumber(c.cores / (s.summary.median / 1e6))} cpu-s/Mpps at its median ${formatValue(s.summary.median, 'pkt/s')}${v ? ` (${v})` : ''}`;
        adds.push(per);
      }
      if (adds.length) notes.push(`${c.role} of ${idle.backend} busy-polls: it keeps ${c.cores.toFixed(2)} core busy even at rest, so host CPU above idle leaves it out. Counted in, that core alone adds ${adds.join('; ')}.`);
    }
  }
  return notes;
}

/** Roles that keep at least half a core busy at rest (busy-polling switches). */
function busyRoles(idle: ReportModel['idle'][number]): { role: string; cores: number }[] {
  return idle.cpu.flatMap((c) => (c.cores !== null && c.cores >= 0.5 ? [{ role: c.role, cores: c.cores }] : []));
}

/** One block per scenario (and host, when merged), in reading order. */
export function scenarioBlocks(model: ReportModel): { blocks: ScenarioBlock[]; clipped: boolean } {
  const ctx: Ctx = { model, clipped: false };
  const blocks: ScenarioBlock[] = [];
  for (const host of model.hosts) {
    for (const scenario of orderedScenarios(model)) {
      if (!model.series.some((s) => s.host === host && s.scenario === scenario)) continue;
      const tables = [performanceTable(ctx, host, scenario), costTable(ctx, host, scenario)].filter((t): t is Table => t !== null);
      if (tables.length === 0) continue;
      blocks.push({ host, scenario, title: SCENARIO_TITLES[scenario] ?? '', tables, notes: scenarioNotes(model, host, scenario) });
    }
  }
  return { blocks, clipped: ctx.clipped };
}

/** Every ratio to the reference path in one matrix: a row per scenario, variant and figure, a column per path. */
export function ratioMatrix(model: ReportModel, host: string): Table | null {
  const ratios = model.ratios.filter((r) => r.host === host);
  const ref = referenceOf(model, host);
  if (ratios.length === 0 || !ref) return null;
  const paths = [...new Set(ratios.map((r) => r.numerator))].sort(compareBackends);
  const order = orderedScenarios(model);
  const rowKey = (r: RatioView) => `${r.scenario}\u0000${variantLabel(r.variant)}\u0000${r.label}`;
  const rowsIn = [...new Map(ratios.map((r) => [rowKey(r), r])).values()].sort(
    (a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario) || compareVariants(a.variant, b.variant) || rank(a) - rank(b),
  );
  const rows = rowsIn.map((r0) => {
    const v = variantLabel(r0.variant);
    return [
      { text: `${r0.scenario}${v ? ` (${v})` : ''}` },
      labMarked({ text: `${r0.label.replace(/, both guests$/, ' (both guests)')} ${r0.direction === 'higher-is-better' ? '↑' : '↓'}`, note: r0.source }, hostIsLab(model, host), r0.metric),
      ...paths.map((p) => ratioCell(ratios.find((r) => rowKey(r) === rowKey(r0) && r.numerator === p), false, true)),
    ];
  });
  return {
    caption: `Paths relative to ${ref}: ratio of medians (path ÷ ${ref}) with its 95 % percentile-bootstrap interval`,
    columns: [{ text: 'Scenario', num: false }, { text: 'Figure', num: false }, ...paths.map((p) => ({ text: `${p} ÷ ${ref}`, num: true }))],
    rows,
  };
}

function rank(r: RatioView): number {
  const order = ['throughput', 'packetRate', 'latencyP50', 'latencyP99', 'deviceAccessesPerGB', 'exitsPerGB', 'deviceAccessesPerPacket', 'exitsPerPacket', 'hostCpuPerGbps', 'hostCpuPerMpps'];
  const i = order.indexOf(r.metric);
  return i === -1 ? order.length : i;
}

/** The idle baseline: per path, what the guests and threads cost at rest, per second. */
export function idleTable(model: ReportModel): Table | null {
  if (model.idle.length === 0) return null;
  const guests = [...new Set(model.idle.flatMap((i) => i.counts.map((c) => c.guest)))].sort();
  const what = [...new Set(model.idle.flatMap((i) => i.counts.map((c) => c.what)))];
  const rows = [...model.idle]
    .sort((a, b) => compareBackends(a.backend, b.backend) || a.host.localeCompare(b.host))
    .map((i) => {
      const cores = i.cpu.reduce((a, c) => a + (c.cores ?? 0), 0);
      const perSec = (v: number | null, total: number) => (v === null ? `${formatNumber(total)} in the window` : formatNumber(v));
      return [
        { text: model.multiHost ? `${i.backend} @ ${i.host}` : i.backend },
        { text: i.windowSec === null ? 'unknown' : `${Number.isInteger(i.windowSec) ? i.windowSec : formatNumber(i.windowSec)} s`, ...(i.windowFrom === 'plan' ? { note: 'from the plan' } : {}) },
        ...guests.map((g) => {
          const c = i.counts.find((x) => x.guest === g);
          return c ? { text: perSec(c.countedPerSec, c.counted), note: `(${perSec(c.totalPerSec, c.total)})` } : { text: '–' };
        }),
        { text: i.cpu.length ? (i.windowSec === null ? `${formatNumber(i.cpu.reduce((a, c) => a + c.seconds, 0))} cpu-s` : cores.toFixed(2)) : '–', note: i.cpu.filter((c) => c.seconds > 0).map((c) => `${c.role} ${c.cores === null ? `${formatNumber(c.seconds)} s` : c.cores.toFixed(2)}`).join(', ') },
      ];
    });
  return {
    caption: 'Idle baseline: guests booted, no traffic, measured once per path before its repetitions',
    columns: [
      { text: 'Path', num: false },
      { text: 'Idle window', num: true },
      ...guests.map((g) => ({ group: `${capital(what.join(' / '))} per second at rest`, text: `guest ${g}`, sub: 'on the network path (all)', num: true })),
      { text: 'Host CPU at rest', sub: 'cores busy, by role', num: true },
    ],
    rows,
  };
}

/** How the cost figures were counted: per path, what was summed and what was left out, and why. */
export function costMethodNotes(model: ReportModel): string[] {
  const notes: string[] = [];
  const counted = model.costs.filter((c) => c.count !== 'host-cpu' && c.guest !== undefined);
  const byPath = new Map<string, CostSeries[]>();
  for (const c of counted) byPath.set(`${c.host}\u0000${c.backend}`, [...(byPath.get(`${c.host}\u0000${c.backend}`) ?? []), c]);
  const summed: string[] = [];
  const left = new Map<string, string>();
  for (const cs of byPath.values()) {
    const c0 = cs[0]!;
    const parts = [...new Set(cs.flatMap((c) => c.parts))].sort();
    summed.push(`${model.multiHost ? `${c0.backend} @ ${c0.host}` : c0.backend}: ${c0.over === 'total' ? 'the total the collector reported' : parts.join(', ')}`);
    for (const c of cs) for (const l of c.leftOut) left.set(l.part, l.why);
  }
  const soft = counted.some((c) => c.count === 'device-accesses');
  const exits = counted.some((c) => c.count === 'exits');
  if (soft) {
    notes.push(
      'Device accesses (software emulation): under TCG there are no VM exits; QEMU\'s own trace events count each emulated MMIO/PIO access by memory region and each virtqueue kick. They stand in for exits and are not exits.',
    );
  }
  if (summed.length) notes.push(`Summed per guest (each guest's own QEMU process): ${summed.join('; ')}.`);
  if (left.size) notes.push(`Left out of the sums: ${[...left.entries()].map(([p, why]) => `${p} (${why})`).join('; ')}.`);
  if (exits) notes.push('VM exits: the first available of perf exit reasons (summed), perf kvm:kvm_exit, the debugfs or QMP exits statistic (summed over vCPUs), or perf\'s I/O exits (kvm_pio + kvm_mmio + kvm_fast_mmio) where kvm_exit does not fire.');
  if (model.costs.some((c) => c.count === 'host-cpu')) {
    notes.push('Host CPU: CPU seconds of every thread working for the path (each guest\'s QEMU vCPU and I/O threads, vhost workers, the switch) over the window, per Gbit/s or per Mpps moved; that is, cores kept busy per Gbit/s or per Mpps.');
  }
  if (model.idle.length) notes.push('Every count and CPU figure has the path\'s idle baseline (below) subtracted, scaled to the window\'s length; a count that fell below its idle level is clamped to 0.');
  for (const idle of model.idle) {
    for (const c of busyRoles(idle)) {
      notes.push(`${c.role} of ${idle.backend}${model.multiHost ? ` on ${idle.host}` : ''} keeps ${c.cores.toFixed(2)} core busy at rest (busy polling): its host CPU figures above idle leave that fixed core out.`);
    }
  }
  return notes;
}


