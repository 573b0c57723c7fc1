// Which figures a report has and what each one shows, derived from the ReportModel (pure). The
// drawing itself is charts.ts; the words (units, better direction, source) are decided here.

import { metricInfo } from '../metrics.ts';
import type { SeriesStats } from '../stats/series.ts';
import { backendColor, SERIES_COLORS, type FigureDataset, type FigureSection, type FigureSpec } from './figure-spec.ts';
import { compareBackends, displayScale, formatDims, formatTime, sourceName, type DisplayScale } from './format.ts';
import type { ReportModel, TrendSeries } from './model.ts';

const MARKS = 'bar: mean; whisker: 95 % t interval of the mean; dots: individual repetitions';
/** Reasons or regions beyond this many are summed as "other". */
const MAX_PARTS = 8;
/** Metrics drawn over time in the trend section (the trend table lists every metric). */
export const TREND_METRICS = ['throughput', 'packetRate', 'latencyP50', 'latencyP99', 'exitsPerGB', 'deviceAccessesPerGB', 'hostCpuPerGbps'];

const noDims = (s: SeriesStats) => Object.keys(s.dims).length === 0;
const onlyDim = (s: SeriesStats, key: string) => Object.keys(s.dims).length === 1 && key in s.dims;

export function orderedScenarios(model: Pick<ReportModel, 'series'>): string[] {
  const all = [...new Set(model.series.map((s) => s.scenario))];
  return all.sort((a, b) => (a === 'tcp-stream' ? -1 : b === 'tcp-stream' ? 1 : a.localeCompare(b)));
}

/** The figures of a report, in reading order. */
export function buildFigures(model: ReportModel): FigureSpec[] {
  const figs: (FigureSpec | null)[] = [];
  for (const scenario of orderedScenarios(model)) {
    figs.push(perBackend(model, scenario, 'throughput', 'throughput'));
    figs.push(ratioFigure(model, scenario, 'throughput'));
    figs.push(perBackend(model, scenario, 'packetRate', 'packet-rate'));
    figs.push(ratioFigure(model, scenario, 'packetRate'));
    figs.push(latencyFigure(model, scenario));
    for (const base of ['exits', 'deviceAccesses'] as const) {
      const section: FigureSection = base === 'exits' ? 'exits' : 'device-accesses';
      figs.push(perGuest(model, scenario, `${base}PerGB`, section));
      figs.push(perGuest(model, scenario, `${base}PerPacket`, section));
    }
    figs.push(breakdown(model, scenario, 'exitsPerGB', 'reason'));
    figs.push(breakdown(model, scenario, 'deviceAccessesPerGB', 'region'));
    figs.push(cpuFigure(model, scenario, 'hostCpuPerGbps'));
    figs.push(cpuFigure(model, scenario, 'hostCpuPerMpps'));
  }
  figs.push(...trendFigures(model));
  const out = figs.filter((f): f is FigureSpec => f !== null);
  pairHalves(out);
  return out;
}

/** Per-GB and per-packet figures of the same kind sit side by side; a lone half becomes full. */
function pairHalves(figs: FigureSpec[]): void {
  for (let i = 0; i < figs.length; i++) {
    const f = figs[i]!;
    if (f.width !== 'half') continue;
    const next = figs[i + 1];
    if (next?.width === 'half') i++;
    else f.width = 'full';
  }
}

function slug(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function scaleFor(series: readonly SeriesStats[], unit: string): DisplayScale {
  const magnitude = Math.max(...series.map((s) => Math.max(Math.abs(s.summary.max), Math.abs(s.summary.ci?.high ?? 0))));
  return displayScale(unit, magnitude);
}

/** The y-axis title: the display unit in words and the better direction with an arrow. */
function axisLabel(metric: string, scale: DisplayScale): string {
  const info = metricInfo(metric);
  let unit = scale.unit;
  const noun = info.group === 'device-accesses' ? 'device accesses' : 'VM exits';
  if (info.unit === 'count/GB') unit = `${noun} per GB`;
  if (info.unit === 'count/pkt') unit = `${noun} per packet`;
  const arrow = info.direction === 'higher-is-better' ? ' (higher is better ↑)' : info.direction === 'lower-is-better' ? ' (lower is better ↓)' : '';
  return `${unit}${arrow}`;
}

function sourcesOf(series: readonly SeriesStats[]): string[] {
  return [...new Set(series.flatMap((s) => s.sources).map(sourceName))].sort();
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
      return s?.summary.ci ? [s.summary.ci.low / scale.factor, s.summary.ci.high / scale.factor] : null;
    });
    ds.dots = cells.map((c) => one(c)?.points.map((p) => p.value / scale.factor) ?? []);
  }
  return ds;
}

/** One bar per path (and per host when merged): mean, interval, repetitions. */
function perBackend(model: ReportModel, scenario: string, metric: string, section: FigureSection): FigureSpec | null {
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && noDims(s));
  if (series.length === 0) return null;
  const info = metricInfo(metric);
  const backends = [...new Set(series.map((s) => s.backend))].sort(compareBackends);
  const scale = scaleFor(series, info.unit);
  const cell = (host: string, backend: string): Cell => ({ series: series.filter((s) => s.host === host && s.backend === backend) });
  const datasets = model.multiHost
    ? model.hosts.map((h, i) => datasetFrom(h, SERIES_COLORS[i % SERIES_COLORS.length]!, backends.map((b) => cell(h, b)), scale, true))
    : [datasetFrom(info.title, backends.map(backendColor), backends.map((b) => cell(model.hosts[0]!, b)), scale, true)];
  return {
    id: slug(metric, scenario),
    kind: 'bar',
    section,
    title: `${info.title} per path, ${scenario}`,
    direction: info.direction,
    yLabel: axisLabel(metric, scale),
    stacked: false,
    categories: backends,
    datasets,
    sources: sourcesOf(series),
    caption: MARKS,
    width: 'full',
  };
}

/** Each path relative to the slowest path of its host: ratio of medians with bootstrap intervals. */
function ratioFigure(model: ReportModel, scenario: string, metric: string): FigureSpec | null {
  const ratios = model.ratios.filter((r) => r.scenario === scenario && r.metric === metric);
  if (ratios.length === 0) return null;
  const info = metricInfo(metric);
  const dens = [...new Set(ratios.map((r) => r.denominator))];
  const backends = [...new Set([...dens, ...ratios.map((r) => r.numerator)])].sort(compareBackends);
  const hosts = model.hosts.filter((h) => ratios.some((r) => r.host === h));
  const datasets: FigureDataset[] = hosts.map((h, i) => {
    const rs = ratios.filter((r) => r.host === h);
    const den = rs[0]!.denominator;
    return {
      label: model.multiHost ? `${h} (÷ ${den})` : `÷ ${den}`,
      color: model.multiHost ? SERIES_COLORS[i % SERIES_COLORS.length]! : backends.map(backendColor),
      values: backends.map((b) => (b === den ? 1 : (rs.find((r) => r.numerator === b)?.estimate.value ?? null))),
      whiskers: backends.map((b) => {
        const ci = rs.find((r) => r.numerator === b)?.estimate.ci;
        return ci ? [ci.low, ci.high] : null;
      }),
    };
  });
  const denLabel = dens.length === 1 ? dens[0]! : 'the slowest path of each host';
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && noDims(s));
  return {
    id: slug(metric, 'ratio', scenario),
    kind: 'bar',
    section: 'ratio',
    title: `${info.title} relative to ${denLabel} (slowest path), ${scenario}`,
    direction: info.direction,
    yLabel: `× median of ${denLabel}${info.direction === 'higher-is-better' ? ' (higher is better ↑)' : ''}`,
    stacked: false,
    categories: backends,
    datasets,
    referenceLine: { value: 1, label: `1× = ${denLabel}` },
    sources: sourcesOf(series),
    caption: 'bar: ratio of medians; whisker: 95 % percentile-bootstrap interval',
    width: 'full',
  };
}

/** Categories for figures whose datasets are not hosts: paths, suffixed by host when merged. */
function pathCategories(model: ReportModel, series: readonly SeriesStats[]): { label: string; host: string; backend: string }[] {
  const seen = new Map<string, { label: string; host: string; backend: string }>();
  const sorted = [...series].sort((a, b) => compareBackends(a.backend, b.backend) || a.host.localeCompare(b.host));
  for (const s of sorted) {
    const k = `${s.backend}|${s.host}`;
    if (!seen.has(k)) seen.set(k, { label: model.multiHost ? `${s.backend} @ ${s.host}` : s.backend, host: s.host, backend: s.backend });
  }
  return [...seen.values()];
}

interface Part {
  label: string;
  match: (s: SeriesStats) => boolean;
}

function partsFigure(
  model: ReportModel,
  series: readonly SeriesStats[],
  parts: readonly Part[],
  o: { id: string; section: FigureSection; title: string; metric: string; stacked: boolean; caption: string; width: 'full' | 'half' },
): FigureSpec | null {
  if (series.length === 0 || parts.length === 0) return null;
  const info = metricInfo(o.metric);
  const cats = pathCategories(model, series);
  const cellsOf = (p: Part) => cats.map((c) => ({ series: series.filter((s) => s.host === c.host && s.backend === c.backend && p.match(s)) }));
  // Stacked totals decide the scale of stacked figures; single bars otherwise.
  const totals = o.stacked ? cats.map((c) => series.filter((s) => s.host === c.host && s.backend === c.backend).reduce((a, s) => a + s.summary.mean, 0)) : [];
  const magnitude = o.stacked ? Math.max(...totals) : Math.max(...series.map((s) => Math.max(s.summary.max, s.summary.ci?.high ?? 0)));
  const scale = displayScale(info.unit, magnitude);
  const datasets = parts.map((p, i) => datasetFrom(p.label, SERIES_COLORS[i % SERIES_COLORS.length]!, cellsOf(p), scale, !o.stacked));
  return {
    id: o.id,
    kind: 'bar',
    section: o.section,
    title: o.title,
    direction: info.direction,
    yLabel: axisLabel(o.metric, scale),
    stacked: o.stacked,
    categories: cats.map((c) => c.label),
    datasets,
    sources: sourcesOf(series),
    caption: o.caption,
    width: o.width,
  };
}

function latencyFigure(model: ReportModel, scenario: string): FigureSpec | null {
  const metrics = ['latencyP50', 'latencyP90', 'latencyP99', 'latencyMean'];
  const series = model.series.filter((s) => s.scenario === scenario && metrics.includes(s.metric) && noDims(s));
  const present = metrics.filter((m) => series.some((s) => s.metric === m));
  const parts = present.map((m) => ({ label: m === 'latencyMean' ? 'mean' : m.replace('latencyP', 'p'), match: (s: SeriesStats) => s.metric === m }));
  return partsFigure(model, series, parts, {
    id: slug('latency', scenario),
    section: 'latency',
    title: `Round-trip latency percentiles per path, ${scenario}`,
    metric: present[0] ?? 'latencyP50',
    stacked: false,
    caption: MARKS,
    width: 'full',
  });
}

/** Exits or device accesses normalised per GB or per packet, one bar per guest. */
function perGuest(model: ReportModel, scenario: string, metric: string, section: FigureSection): FigureSpec | null {
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && (noDims(s) || onlyDim(s, 'guest')));
  const guests = [...new Set(series.map((s) => (noDims(s) ? '' : String(s.dims.guest))))].sort();
  const parts = guests.map((g) => ({ label: g === '' ? 'all guests' : `guest ${g}`, match: (s: SeriesStats) => (g === '' ? noDims(s) : s.dims.guest === g) }));
  const info = metricInfo(metric);
  return partsFigure(model, series, parts, {
    id: slug(metric, scenario),
    section,
    title: `${info.title}, ${scenario}`,
    metric,
    stacked: false,
    caption: `${MARKS}; each guest's own QEMU process`,
    width: 'half',
  });
}

/** Stacked bars of exit reasons or emulated memory regions, both guests summed. */
function breakdown(model: ReportModel, scenario: string, metric: string, dim: 'reason' | 'region'): FigureSpec | null {
  const series = model.series.filter((s) => s.scenario === scenario && s.metric === metric && dim in s.dims);
  if (series.length === 0) return null;
  const weight = new Map<string, number>();
  for (const s of series) weight.set(String(s.dims[dim]), (weight.get(String(s.dims[dim])) ?? 0) + s.summary.mean);
  const ranked = [...weight.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const top = ranked.slice(0, MAX_PARTS);
  const parts: Part[] = top.map((k) => ({ label: k, match: (s) => String(s.dims[dim]) === k }));
  if (ranked.length > MAX_PARTS) parts.push({ label: 'other', match: (s) => !top.includes(String(s.dims[dim])) });
  const soft = metricInfo(metric).group === 'device-accesses';
  return partsFigure(model, series, parts, {
    id: slug(metric, 'by', dim, scenario),
    section: 'breakdown',
    title: soft ? `Device accesses per GB by emulated memory region (software emulation), ${scenario}` : `VM exits per GB by exit reason, ${scenario}`,
    metric,
    stacked: true,
    caption: `stacked means per repetition, both guests summed${ranked.length > MAX_PARTS ? `; reasons beyond the ${MAX_PARTS} largest are summed as "other"` : ''}`,
    width: 'full',
  });
}

/** Host CPU per unit of work, stacked by the role of the threads (QEMU of each guest, vhost, switch). */
function cpuFigure(model: ReportModel, scenario: string, metric: string): FigureSpec | null {
  const all = model.series.filter((s) => s.scenario === scenario && s.metric === metric);
  const byRole = all.filter((s) => onlyDim(s, 'role'));
  const series = byRole.length ? byRole : all.filter(noDims);
  const roles = [...new Set(series.map((s) => (noDims(s) ? 'all threads' : String(s.dims.role))))].sort();
  const parts = roles.map((r) => ({ label: r, match: (s: SeriesStats) => (noDims(s) ? r === 'all threads' : s.dims.role === r) }));
  const stacked = byRole.length > 0;
  return partsFigure(model, series, parts, {
    id: slug(metric, scenario),
    section: 'cpu',
    title: `${metricInfo(metric).title} per path, ${scenario}`,
    metric,
    stacked,
    caption: stacked ? 'stacked means per role: the bar is the total CPU the path costs' : MARKS,
    width: 'full',
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
    const ordered = [...ts].sort((a, b) => compareBackends(a.backend, b.backend) || formatDims(a.dims).localeCompare(formatDims(b.dims)));
    const datasets: FigureDataset[] = ordered.map((t, i) => {
      const at = (run: string) => t.points.find((p) => p.run === run);
      const dims = formatDims(t.dims);
      return {
        label: dims ? `${t.backend} (${dims})` : t.backend,
        color: dims ? SERIES_COLORS[i % SERIES_COLORS.length]! : backendColor(t.backend, i),
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
      sources: [...new Set(ts.flatMap((t) => t.sources).map(sourceName))].sort(),
      caption: 'point: mean of the run; whisker: 95 % t interval of the mean',
      width: 'full',
    });
  }
  return out;
}
