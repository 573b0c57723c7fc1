// Which figures a report has and what each one shows, derived from the ReportModel (pure). The
// drawing itself is charts.ts; the words (units, better direction, source) are decided here.

import { metricInfo, type MetricName } from '../metrics.ts';
import type { Dims } from '../samples.ts';
import { isHeadline, type SeriesStats } from '../stats/series.ts';
import { compareVariants, variantLabel, variantOf, type CostBasis, type CostSeries } from './costs.ts';
import { pathColor, PART_COLORS, SERIES_COLORS, type FigureDataset, type FigureSection, type FigureSpec } from './figure-spec.ts';
import { displayScale, formatDims, formatTime, pathOrder, sourceName, type DisplayScale } from './format.ts';
import { IDLE_SCENARIO } from './idle.ts';
import type { ReportModel, TrendSeries } from './model.ts';

/** Whiskers (t intervals of the mean) are drawn from this many repetitions on: with 2, t(1) = 12.7 makes them span the chart. */
export const MIN_WHISKER_N = 3;
const MARKS = `bar: mean; whisker: 95 % t interval of the mean (from ${MIN_WHISKER_N} repetitions); dots: individual repetitions`;
/** Regions, reasons or roles beyond this many are summed as "other". */
const MAX_PARTS = 8;
/** Metrics drawn over time in the trend section (the trend table lists every metric). */
export const TREND_METRICS: readonly MetricName[] = ['throughput', 'packetRate', 'latencyP50', 'latencyP99', 'exitsPerGB', 'deviceAccessesPerGB', 'hostCpuPerGbps', 'hostCpuPerMpps'];

/** Scenarios in reading order: bulk TCP first, then by name. The idle baseline is not a scenario. */
export function orderedScenarios(model: Pick<ReportModel, 'series'>): string[] {
  const all = [...new Set(model.series.map((s) => s.scenario))].filter((s) => s !== IDLE_SCENARIO);
  const rank = (s: string) => (s === 'tcp-stream' ? 0 : s.startsWith('tcp') ? 1 : 2);
  return all.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Whether a scenario moves bulk data (a throughput figure): its costs are per GB and per Gbit/s. */
export function isBulk(model: Pick<ReportModel, 'series'>, scenario: string): boolean {
  return model.series.some((s) => s.scenario === scenario && s.metric === 'throughput' && isHeadline(s));
}

/** The figures of a report, in reading order. */
export function buildFigures(model: ReportModel): FigureSpec[] {
  const figs: (FigureSpec | null)[] = [];
  const colors = partColors(model);
  for (const scenario of orderedScenarios(model)) {
    const bulk = isBulk(model, scenario);
    figs.push(perPath(model, scenario, 'throughput', 'throughput', 'half'));
    figs.push(ratioFigure(model, scenario, 'throughput'));
    figs.push(perPath(model, scenario, 'packetRate', 'packet-rate', 'half'));
    figs.push(perPath(model, scenario, 'lossPercent', 'packet-rate', 'half'));
    figs.push(latencyFigure(model, scenario));
    const bases: CostBasis[] = bulk ? ['per-gb', 'per-packet'] : ['per-packet'];
    for (const count of ['exits', 'device-accesses'] as const) {
      for (const basis of bases) figs.push(countFigure(model, scenario, count, basis, colors));
    }
    figs.push(breakdown(model, scenario, 'exitsPerGB', 'reason', colors));
    figs.push(cpuFigure(model, scenario, bulk ? 'per-gbps' : 'per-mpps', colors));
    for (const f of figs) if (f && f.scenario === undefined) f.scenario = scenario;
  }
  figs.push(...trendFigures(model));
  return figs.filter((f): f is FigureSpec => f !== null);
}

function slug(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The y-axis title: the display unit in words and the better direction with an arrow. */
function axisLabel(metric: MetricName, scale: DisplayScale): string {
  const info = metricInfo(metric);
  let unit = scale.unit;
  const noun = info.group === 'device-accesses' ? 'device accesses' : 'VM exits';
  if (info.unit === 'count/GB') unit = `${noun} per GB`;
  if (info.unit === 'count/pkt') unit = `${noun} per packet`;
  const arrow = info.direction === 'higher-is-better' ? ' (higher is better ↑)' : info.direction === 'lower-is-better' ? ' (lower is better ↓)' : '';
  return `${unit}${arrow}`;
}

function sourcesOf(model: ReportModel, series: readonly SeriesStats[]): string[] {
  return [...new Set(series.flatMap((s) => s.sources).map((x) => sourceName(x, model.sourceNames)))].sort();
}

interface Cell {
  series: SeriesStats[];
}

function datasetFrom(label: string, color: string | string[], cells: Cell[], scale: DisplayScale, withMarks: boolean): FigureDataset {
  const one = (c: Cell) => (c.series.length === 1 ? c.series[0]! : null);
  const ds: FigureDataset = {
    label,
    color,
    values: cells.map((c) => (c.series.length ? c.series.reduce((acc, s) => acc + s.summary.mean, 0) / scale.factor : null)),
  };
  if (withMarks) {
    ds.whiskers = cells.map((c) => {
      const s = one(c);
      return s?.summary.ci && s.summary.n >= MIN_WHISKER_N ? [s.summary.ci.low / scale.factor, s.summary.ci.high / scale.factor] : null;
    });
    ds.dots = cells.map((c) => one(c)?.points.map((p) => p.value / scale.factor) ?? []);
  }
  return ds;
}

/** The caption of a figure with whiskers, saying when some are missing for too few repetitions. */
function marksCaption(series: readonly SeriesStats[], extra = ''): string {
  const few = series.filter((s) => s.summary.n < MIN_WHISKER_N).length;
  if (few === series.length) return `bar: mean; dots: individual repetitions; no whiskers with fewer than ${MIN_WHISKER_N} repetitions (the intervals are in the summary)${extra}`;
  return `${MARKS}${few ? `; none where there are fewer` : ''}${extra}`;
}

function scaleOf(series: readonly SeriesStats[], unit: string): DisplayScale {
  const magnitude = Math.max(...series.map((s) => Math.max(Math.abs(s.summary.max), s.summary.n >= MIN_WHISKER_N ? Math.abs(s.summary.ci?.high ?? 0) : 0)));
  return displayScale(unit, magnitude);
}

/**
 * One bar per path (and per host when merged): mean, interval, repetitions. With workload variants
 * (UDP payload sizes), the bars are grouped by variant, one colour per path.
 */
function perPath(model: ReportModel, scenario: string, metric: MetricName, section: FigureSection, width: 'full' | 'half'): FigureSpec | null {
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && isHeadline(s));
  if (series.length === 0) return null;
  const info = metricInfo(metric);
  const backends = [...new Set(series.map((s) => s.backend))].sort(pathOrder(model.paths));
  const variants = uniqueVariants(series);
  const scale = scaleOf(series, info.unit);
  const byVariant = variants.length > 1 || Object.keys(variants[0]!).length > 0;
  let categories: string[];
  let datasets: FigureDataset[];
  if (byVariant) {
    const keyOf = (v: Dims) => variantLabel(v);
    categories = variants.map((v) => `${keyOf(v)} payload`.replace(/^(\S+=\S+) payload$/, '$1'));
    const paths = model.multiHost ? model.hosts.flatMap((h) => backends.map((b) => ({ h, b }))) : backends.map((b) => ({ h: model.hosts[0]!, b }));
    datasets = paths
      .filter(({ h, b }) => series.some((s) => s.host === h && s.backend === b))
      .map(({ h, b }, i) =>
        datasetFrom(
          model.multiHost ? `${b} @ ${h}` : b,
          pathColor(model.paths, b, i),
          variants.map((v) => ({ series: series.filter((s) => s.host === h && s.backend === b && keyOf(variantOf(s.dims)) === keyOf(v)) })),
          scale,
          true,
        ),
      );
  } else {
    categories = backends;
    const cell = (host: string, backend: string): Cell => ({ series: series.filter((s) => s.host === host && s.backend === backend) });
    datasets = model.multiHost
      ? model.hosts.map((h, i) => datasetFrom(h, SERIES_COLORS[i % SERIES_COLORS.length]!, backends.map((b) => cell(h, b)), scale, true))
      : [datasetFrom(info.title, backends.map((b, i) => pathColor(model.paths, b, i)), backends.map((b) => cell(model.hosts[0]!, b)), scale, true)];
  }
  return {
    id: slug(metric, scenario),
    kind: 'bar',
    section,
    title: `${info.title} per path${byVariant ? ' and payload size' : ''}, ${scenario}`,
    direction: info.direction,
    yLabel: axisLabel(metric, scale),
    stacked: false,
    categories,
    datasets,
    sources: sourcesOf(model, series),
    caption: marksCaption(series),
    width,
  };
}

function uniqueVariants(series: readonly SeriesStats[]): Dims[] {
  const seen = new Map<string, Dims>();
  for (const s of series) seen.set(variantLabel(variantOf(s.dims)), variantOf(s.dims));
  return [...seen.values()].sort(compareVariants);
}

/** Each path relative to the reference path of its host: ratio of medians with bootstrap intervals. */
function ratioFigure(model: ReportModel, scenario: string, metric: MetricName): FigureSpec | null {
  const ratios = model.ratios.filter((r) => r.scenario === scenario && r.metric === metric && Object.keys(r.variant).length === 0);
  if (ratios.length === 0) return null;
  const info = metricInfo(metric);
  const dens = [...new Set(ratios.map((r) => r.denominator))];
  const backends = [...new Set([...dens, ...ratios.map((r) => r.numerator)])].sort(pathOrder(model.paths));
  const hosts = model.hosts.filter((h) => ratios.some((r) => r.host === h));
  const datasets: FigureDataset[] = hosts.map((h, i) => {
    const rs = ratios.filter((r) => r.host === h);
    const den = rs[0]!.denominator;
    return {
      label: model.multiHost ? `${h} (÷ ${den})` : `÷ ${den}`,
      color: model.multiHost ? SERIES_COLORS[i % SERIES_COLORS.length]! : backends.map((b, i) => pathColor(model.paths, b, i)),
      values: backends.map((b) => (b === den ? 1 : (rs.find((r) => r.numerator === b)?.estimate.value ?? null))),
      whiskers: backends.map((b) => {
        const ci = rs.find((r) => r.numerator === b)?.estimate.ci;
        return ci ? [ci.low, ci.high] : null;
      }),
    };
  });
  const denLabel = dens.length === 1 ? dens[0]! : 'the reference path of each host';
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && isHeadline(s));
  return {
    id: slug(metric, 'ratio', scenario),
    kind: 'bar',
    section: 'ratio',
    title: `${info.title} relative to ${denLabel} (reference), ${scenario}`,
    direction: info.direction,
    yLabel: `× median of ${denLabel}${info.direction === 'higher-is-better' ? ' (higher is better ↑)' : ' (lower is better ↓)'}`,
    stacked: false,
    categories: backends,
    datasets,
    referenceLine: { value: 1, label: `1× = ${denLabel}` },
    sources: sourcesOf(model, series),
    caption: 'bar: ratio of medians; whisker: 95 % percentile-bootstrap interval',
    width: 'half',
  };
}

/** Categories for figures whose datasets are not hosts: paths, suffixed by host when merged. */
function pathCategories(model: ReportModel, series: readonly SeriesStats[]): { label: string; host: string; backend: string }[] {
  const seen = new Map<string, { label: string; host: string; backend: string }>();
  const sorted = [...series].sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || a.host.localeCompare(b.host));
  for (const s of sorted) {
    const k = `${s.backend}|${s.host}`;
    if (!seen.has(k)) seen.set(k, { label: model.multiHost ? `${s.backend} @ ${s.host}` : s.backend, host: s.host, backend: s.backend });
  }
  return [...seen.values()];
}

/** Round-trip latency percentiles, grouped per path. */
function latencyFigure(model: ReportModel, scenario: string): FigureSpec | null {
  const metrics: MetricName[] = ['latencyP50', 'latencyP90', 'latencyP99'];
  const series = model.series.filter((s) => s.scenario === scenario && metrics.includes(s.metric) && isHeadline(s));
  if (series.length === 0) return null;
  const present = metrics.filter((m) => series.some((s) => s.metric === m));
  const cats = pathCategories(model, series);
  const scale = scaleOf(series, 'us');
  const datasets = present.map((m, i) =>
    datasetFrom(
      m.replace('latencyP', 'p'),
      SERIES_COLORS[i % SERIES_COLORS.length]!,
      cats.map((c) => ({ series: series.filter((s) => s.host === c.host && s.backend === c.backend && s.metric === m) })),
      scale,
      true,
    ),
  );
  return {
    id: slug('latency', scenario),
    kind: 'bar',
    section: 'latency',
    title: `Round-trip latency percentiles per path, ${scenario}`,
    direction: 'lower-is-better',
    yLabel: axisLabel(present[0]!, scale),
    stacked: false,
    categories: cats.map((c) => c.label),
    datasets,
    sources: sourcesOf(model, series),
    caption: marksCaption(series, '; each bar is the mean over repetitions of that percentile'),
    width: 'half',
  };
}

/** One colour per region, reason and role across the whole report, by overall weight. */
function partColors(model: ReportModel): Map<string, string> {
  const weight = new Map<string, number>();
  for (const s of model.series) {
    for (const dim of ['region', 'reason', 'role'] as const) {
      if (!(dim in s.dims)) continue;
      const k = String(s.dims[dim]);
      weight.set(k, (weight.get(k) ?? 0) + Math.abs(s.summary.mean) / (Math.abs(s.summary.max) || 1));
    }
  }
  const out = new Map<string, string>();
  [...weight.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .forEach(([k], i) => out.set(k, PART_COLORS[i % PART_COLORS.length]!));
  return out;
}

interface StackCategory {
  label: string;
  /** Series whose means stack up in this category, by part name. */
  parts: Map<string, SeriesStats[]>;
}

/** A stacked bar figure from categories of parts; parts beyond the largest few become "other". */
function stackedFigure(
  categories: StackCategory[],
  colors: Map<string, string>,
  o: { id: string; section: FigureSection; title: string; metric: MetricName; caption: string; width: 'full' | 'half'; sources: string[] },
): FigureSpec | null {
  if (categories.length === 0) return null;
  const info = metricInfo(o.metric);
  const mean = (ss: readonly SeriesStats[] | undefined) => (ss ?? []).reduce((a, s) => a + s.summary.mean, 0);
  const weight = new Map<string, number>();
  for (const c of categories) for (const [p, ss] of c.parts) weight.set(p, (weight.get(p) ?? 0) + mean(ss));
  const ranked = [...weight.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k]) => k);
  const global = [...colors.keys()];
  const at = (p: string) => (global.includes(p) ? global.indexOf(p) : global.length);
  // The largest parts of this figure, stacked in the report-wide order so a part sits at the same height everywhere.
  const top = ranked.slice(0, MAX_PARTS).sort((a, b) => at(a) - at(b) || a.localeCompare(b));
  const rest = ranked.slice(MAX_PARTS);
  const magnitude = Math.max(...categories.map((c) => [...c.parts.values()].reduce((a, ss) => a + mean(ss), 0)));
  const scale = displayScale(info.unit, magnitude);
  const datasets: FigureDataset[] = top.map((p) => ({ label: p, color: colors.get(p) ?? '#999999', values: categories.map((c) => (c.parts.has(p) ? mean(c.parts.get(p)) / scale.factor : null)) }));
  if (rest.length) datasets.push({ label: 'other', color: '#bbbbbb', values: categories.map((c) => rest.reduce((a, p) => a + mean(c.parts.get(p)), 0) / scale.factor) });
  return {
    id: o.id,
    kind: 'bar',
    section: o.section,
    title: o.title,
    direction: info.direction,
    yLabel: axisLabel(o.metric, scale),
    stacked: true,
    categories: categories.map((c) => c.label),
    datasets,
    sources: o.sources,
    caption: `${o.caption}${rest.length ? `; parts beyond the ${MAX_PARTS} largest are summed as "other"` : ''}`,
    width: o.width,
  };
}

const COUNT_METRIC: Record<'exits' | 'device-accesses', Partial<Record<CostBasis, MetricName>>> = {
  exits: { 'per-gb': 'exitsPerGB', 'per-packet': 'exitsPerPacket' },
  'device-accesses': { 'per-gb': 'deviceAccessesPerGB', 'per-packet': 'deviceAccessesPerPacket' },
};

/**
 * Device accesses (software emulation) or VM exits per GB or per packet, per path and guest (and
 * payload size). Device accesses are stacked by memory region, exactly the regions summed in the
 * summary; exits are drawn as per-guest totals with their intervals (the reasons, where perf has
 * them, are their own stacked figure).
 */
function countFigure(model: ReportModel, scenario: string, count: 'exits' | 'device-accesses', basis: CostBasis, colors: Map<string, string>): FigureSpec | null {
  const metric = COUNT_METRIC[count][basis]!;
  const costs = model.costs.filter((c) => c.scenario === scenario && c.metric === metric && c.guest !== undefined);
  if (costs.length === 0) return null;
  const info = metricInfo(metric);
  const ordered = [...costs].sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || a.host.localeCompare(b.host) || compareVariants(a.variant, b.variant) || a.guest!.localeCompare(b.guest!));
  const labelOf = (c: CostSeries) => [model.multiHost ? `${c.backend} @ ${c.host}` : c.backend, `guest ${c.guest}`, variantLabel(c.variant)].filter(Boolean).join(' · ');
  const variants = uniqueVariants(costs);
  const title = `${info.title.replace(/ \(software emulation\)$/, '')}${count === 'device-accesses' ? ' (software emulation), by memory region' : ''} per path and guest${variants.length > 1 ? ' and payload size' : ''}, ${scenario}`;
  const id = slug(metric, scenario);
  const byRegion = count === 'device-accesses' && ordered.some((c) => c.over === 'region');
  if (byRegion) {
    const categories: StackCategory[] = ordered.map((c) => {
      const parts = new Map<string, SeriesStats[]>();
      if (c.over === 'region') {
        for (const region of c.parts) {
          const ss = model.series.filter((s) => s.host === c.host && s.backend === c.backend && s.scenario === scenario && s.metric === metric && s.dims.region === region && s.dims.guest === c.guest && variantLabel(variantOf(s.dims)) === variantLabel(c.variant));
          parts.set(region, ss);
        }
      } else parts.set('total', [c]);
      return { label: labelOf(c), parts };
    });
    const left = [...new Set(ordered.flatMap((c) => c.leftOut.map((l) => l.part)))];
    return stackedFigure(categories, colors, {
      id,
      section: 'device-accesses',
      title,
      metric,
      caption: `stacked means of the memory regions on the network path (each guest's own QEMU), idle baseline subtracted; the bar is the total in the summary${left.length ? `; left out: ${left.join(', ')} (see the cost notes)` : ''}`,
      width: categories.length > 8 ? 'full' : 'half',
      sources: sourcesOf(model, costs),
    });
  }
  const cats = ordered.filter((c, i, all) => all.findIndex((d) => labelOf(d).replace(/ · guest \S+/, '') === labelOf(c).replace(/ · guest \S+/, '')) === i);
  const catLabel = (c: CostSeries) => labelOf(c).replace(/ · guest \S+/, '');
  const guests = [...new Set(ordered.map((c) => c.guest!))].sort();
  const scale = scaleOf(ordered, info.unit);
  const datasets = guests.map((g, i) =>
    datasetFrom(
      `guest ${g}`,
      SERIES_COLORS[i % SERIES_COLORS.length]!,
      cats.map((c) => ({ series: ordered.filter((x) => x.guest === g && catLabel(x) === catLabel(c)) })),
      scale,
      true,
    ),
  );
  return {
    id,
    kind: 'bar',
    section: count === 'exits' ? 'exits' : 'device-accesses',
    title: `${info.title} per path and guest, ${scenario}`,
    direction: info.direction,
    yLabel: axisLabel(metric, scale),
    stacked: false,
    categories: cats.map(catLabel),
    datasets,
    sources: sourcesOf(model, ordered),
    caption: marksCaption(ordered, `; each guest's own QEMU process, idle baseline subtracted; counted: ${[...new Set(ordered.map((c) => c.method))].join('; ')}`),
    width: 'half',
  };
}

/** Stacked bars of exit reasons (perf), per path and guest. */
function breakdown(model: ReportModel, scenario: string, metric: MetricName, dim: 'reason', colors: Map<string, string>): FigureSpec | null {
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && dim in s.dims && s.dims.guest !== undefined);
  if (series.length === 0) return null;
  const keys = new Map<string, StackCategory>();
  const sorted = [...series].sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || a.host.localeCompare(b.host) || compareVariants(variantOf(a.dims), variantOf(b.dims)) || String(a.dims.guest).localeCompare(String(b.dims.guest)));
  for (const s of sorted) {
    const label = [model.multiHost ? `${s.backend} @ ${s.host}` : s.backend, `guest ${s.dims.guest}`, variantLabel(variantOf(s.dims))].filter(Boolean).join(' · ');
    const c = keys.get(label) ?? { label, parts: new Map<string, SeriesStats[]>() };
    const part = String(s.dims[dim]);
    c.parts.set(part, [...(c.parts.get(part) ?? []), s]);
    keys.set(label, c);
  }
  return stackedFigure([...keys.values()], colors, {
    id: slug(metric, 'by', dim, scenario),
    section: 'breakdown',
    title: `VM exits per GB by exit reason, per path and guest, ${scenario}`,
    metric,
    caption: 'stacked means per exit reason (perf, kvm_exit by exit reason), each guest\'s own QEMU process, idle baseline subtracted',
    width: 'half',
    sources: sourcesOf(model, series),
  });
}

/** Host CPU per unit of work, one stacked bar per path (and payload size), stacked by the role of the threads. */
function cpuFigure(model: ReportModel, scenario: string, basis: 'per-gbps' | 'per-mpps', colors: Map<string, string>): FigureSpec | null {
  const metric = basis === 'per-gbps' ? 'hostCpuPerGbps' : 'hostCpuPerMpps';
  const costs = model.costs
    .filter((c) => c.scenario === scenario && c.metric === metric)
    .sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || a.host.localeCompare(b.host) || compareVariants(a.variant, b.variant));
  if (costs.length === 0) return null;
  const categories: StackCategory[] = costs.map((c) => {
    const parts = new Map<string, SeriesStats[]>();
    if (c.over === 'role') {
      for (const role of c.parts) {
        parts.set(
          role,
          model.series.filter((s) => s.host === c.host && s.backend === c.backend && s.scenario === scenario && s.metric === metric && String(s.dims.role ?? 'other') === role && variantLabel(variantOf(s.dims)) === variantLabel(c.variant)),
        );
      }
    } else parts.set('all threads', [c]);
    return { label: [model.multiHost ? `${c.backend} @ ${c.host}` : c.backend, variantLabel(c.variant)].filter(Boolean).join(' · '), parts };
  });
  const busy = model.idle.flatMap((i) => i.cpu.filter((c) => (c.cores ?? 0) >= 0.5 && costs.some((x) => x.backend === i.backend && x.host === i.host)).map((c) => `${c.role} of ${i.backend} keeps ${c.cores!.toFixed(2)} core busy at rest, which is not in its bar`));
  return stackedFigure(categories, colors, {
    id: slug(metric, scenario),
    section: 'cpu',
    title: `${metricInfo(metric).title} per path, by thread role, ${scenario}`,
    metric,
    caption: `stacked means per role (the QEMU of each guest, vhost workers, the switch); the bar is the CPU the path costs above its idle baseline${busy.length ? `; ${busy.join('; ')}` : ''}`,
    width: 'half',
    sources: sourcesOf(model, costs),
  });
}

/** Each key metric over the runs of one profile on one host. */
function trendFigures(model: ReportModel): FigureSpec[] {
  const out: FigureSpec[] = [];
  const groups = new Map<string, TrendSeries[]>();
  for (const t of model.trend) {
    if (!TREND_METRICS.includes(t.metric)) continue;
    if (t.metric.endsWith('PerGB') && Object.keys(t.dims).length > 0 && !('guest' in t.dims)) continue;
    const k = [t.host, t.profile, t.scenario, t.metric].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  for (const ts of groups.values()) {
    const t0 = ts[0]!;
    const info = metricInfo(t0.metric);
    const runs = [...new Map(ts.flatMap((t) => t.points).map((p) => [p.run, p])).values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const magnitude = Math.max(...ts.flatMap((t) => t.points.map((p) => Math.max(p.summary.max, p.summary.ci?.high ?? 0))));
    const scale = displayScale(info.unit, magnitude);
    const ordered = [...ts].sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || formatDims(a.dims).localeCompare(formatDims(b.dims)));
    const datasets: FigureDataset[] = ordered.map((t, i) => {
      const at = (run: string) => t.points.find((p) => p.run === run);
      const dims = formatDims(t.dims);
      return {
        label: dims ? `${t.backend} (${dims})` : t.backend,
        color: dims ? SERIES_COLORS[i % SERIES_COLORS.length]! : pathColor(model.paths, t.backend, i),
        values: runs.map((r) => (at(r.run) ? at(r.run)!.summary.mean / scale.factor : null)),
        whiskers: runs.map((r) => {
          const ci = at(r.run)?.summary.ci;
          return ci ? [ci.low / scale.factor, ci.high / scale.factor] : null;
        }),
      };
    });
    out.push({
      id: slug('trend', t0.host, t0.profile, t0.metric, t0.scenario),
      kind: 'line',
      section: 'trend',
      title: `${info.title} over time, ${t0.scenario} (profile ${t0.profile}${model.multiHost ? `, ${t0.host}` : ''})`,
      direction: info.direction,
      yLabel: axisLabel(t0.metric, scale),
      stacked: false,
      categories: runs.map((r) => formatTime(r.startedAt)),
      datasets,
      sources: [...new Set(ts.flatMap((t) => t.sources).map((x) => sourceName(x, model.sourceNames)))].sort(),
      caption: 'point: mean of the run; whisker: 95 % t interval of the mean',
      width: 'full',
    });
  }
  return out;
}
