// Which figures a report has and what each one shows, derived from the ReportModel (pure). The
// drawing itself is charts.ts; the words (units, better direction, source) are decided here.

import { metricInfo, type MetricName } from '../metrics.ts';
import type { Dims } from '../samples.ts';
import { isHeadline, type SeriesStats } from '../stats/series.ts';
import { variantLabel, variantOf, type CostBasis } from './costs.ts';
import { pathColor, SERIES_COLORS, type FigureDataset, type FigureSection, type FigureSpec } from './figure-spec.ts';
import { displayScale, formatDims, formatTime, pathOrder, sourceName } from './format.ts';
import { IDLE_SCENARIO } from './idle.ts';
import type { ReportModel, TrendSeries } from './model.ts';
import { axisLabel, datasetFrom, marksCaption, MIN_WHISKER_N, pathCategories, scaleOf, slug, sourcesOf, uniqueVariants, type Cell } from './figure-parts.ts';
import { breakdown, countFigure, cpuFigure, partColors } from './figures-costs.ts';
import { ablationFigures } from './ablation-figure.ts';
import { MIN_BEYOND } from '../stats/percentiles.ts';

export { MIN_WHISKER_N };

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
    figs.push(...percentileFigures(model, scenario));
    const bases: CostBasis[] = bulk ? ['per-gb', 'per-packet'] : ['per-packet'];
    for (const count of ['exits', 'device-accesses'] as const) {
      for (const basis of bases) figs.push(countFigure(model, scenario, count, basis, colors));
    }
    figs.push(breakdown(model, scenario, 'exitsPerGB', 'reason', colors));
    figs.push(cpuFigure(model, scenario, bulk ? 'per-gbps' : 'per-mpps', colors));
    for (const f of figs) if (f && f.scenario === undefined) f.scenario = scenario;
  }
  figs.push(...ablationFigures(model));
  figs.push(...trendFigures(model));
  return figs.filter((f): f is FigureSpec => f !== null);
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

/** The percentiles of the percentile plot, with their metric and x position 1/(1 − p). */
export const PLOT_PERCENTILES: readonly { metric: MetricName; label: string; x: number }[] = [
  { metric: 'latencyP50', label: 'p50', x: 2 },
  { metric: 'latencyP90', label: 'p90', x: 10 },
  { metric: 'latencyP99', label: 'p99', x: 100 },
  { metric: 'latencyP999', label: 'p99.9', x: 1000 },
  { metric: 'latencyP9999', label: 'p99.99', x: 10_000 },
];

/**
 * Round-trip latency against percentile, one line per path in its colour (HDR-style): the shape of
 * the whole tail at once. Only where sockperf's full log was kept (its round-trip count was
 * recorded); a run with the summary alone has the bars above, not this plot. With variants (a sweep
 * of 30 series and more would be one unreadable tangle), one plot per path with its variants.
 */
function percentileFigures(model: ReportModel, scenario: string): FigureSpec[] {
  const here = model.series.filter((s) => s.scenario === scenario && Object.keys(variantOf(s.dims)).length === 0);
  const counts = here.filter((s) => s.metric === 'latencySamples');
  const fromLog = (s: (typeof here)[number]) => counts.some((c) => c.host === s.host && c.backend === s.backend);
  const series = here.filter((s) => PLOT_PERCENTILES.some((p) => p.metric === s.metric) && fromLog(s));
  const baseOf = (s: SeriesStats) => model.backends.find((b) => b.id === s.backend && b.host === s.host)?.variant?.of ?? s.backend;
  const groups = new Map<string, SeriesStats[]>();
  for (const s of series) groups.set(baseOf(s), [...(groups.get(baseOf(s)) ?? []), s]);
  const withVariants = [...groups.values()].some((g) => new Set(g.map((s) => s.backend)).size > 1);
  const plots: [string | undefined, SeriesStats[]][] = withVariants ? [...groups.entries()].sort(([a], [b]) => pathOrder(model.paths)(a, b)) : [[undefined, series]];
  return plots.flatMap(([group, g]) => percentileFigure(model, scenario, g, counts, group) ?? []);
}

function percentileFigure(model: ReportModel, scenario: string, series: readonly SeriesStats[], allCounts: readonly SeriesStats[], group?: string): FigureSpec | null {
  const counts = allCounts.filter((c) => series.some((s) => s.host === c.host && s.backend === c.backend));
  if (counts.length === 0) return null;
  const points = PLOT_PERCENTILES.filter((p) => series.some((s) => s.metric === p.metric));
  if (points.length < 2) return null;
  const cats = pathCategories(model, series);
  const scale = scaleOf(series, 'us');
  const datasets = cats.map((c, i) => {
    const ds = datasetFrom(
      c.label,
      model.multiHost ? SERIES_COLORS[i % SERIES_COLORS.length]! : pathColor(model.paths, c.backend, i),
      points.map((p) => ({ series: series.filter((s) => s.host === c.host && s.backend === c.backend && s.metric === p.metric) })),
      scale,
      true,
    );
    // Dots of every repetition at five percentiles of several paths would hide the lines.
    delete ds.dots;
    return ds;
  });
  const n = counts.flatMap((c) => c.points.map((p) => p.value));
  const fewest = Math.min(...n);
  return {
    id: group ? slug('latency-percentiles', scenario, group) : slug('latency-percentiles', scenario),
    kind: 'line',
    section: 'latency',
    title: group ? `Round-trip latency by percentile, ${scenario}: ${group} and its variants` : `Round-trip latency by percentile per path, ${scenario}`,
    direction: 'lower-is-better',
    yLabel: axisLabel('latencyP50', scale),
    stacked: false,
    categories: points.map((p) => p.label),
    xLog: { values: points.map((p) => p.x), title: 'percentile (log scale of 1 / (1 − p))' },
    datasets,
    sources: sourcesOf(model, series),
    caption:
      `point: mean over repetitions of the exact percentile of every round trip in sockperf's full log ` +
      `(${fewest === Math.max(...n) ? formatCount(fewest) : `${formatCount(fewest)} to ${formatCount(Math.max(...n))}`} round trips per repetition); ` +
      `whisker: 95 % t interval of the mean (from ${MIN_WHISKER_N} repetitions); a percentile is drawn only where at least ${MIN_BEYOND} round trips lie beyond it`,
    width: 'half',
  };
}

const formatCount = (n: number) => Math.round(n).toLocaleString('en-US');

/** One colour per region, reason and role across the whole report, by overall weight. */
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
