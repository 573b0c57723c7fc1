// The pieces every figure is made of: its id, its axis title, its sources, datasets with whiskers
// and dots, the caption of its marks, its display scale, and the categories of a per-path figure.

import { metricInfo, type MetricName } from '../metrics.ts';
import type { Dims } from '../samples.ts';
import type { SeriesStats } from '../stats/series.ts';
import { compareVariants, variantLabel, variantOf } from './costs.ts';
import type { FigureDataset } from './figure-spec.ts';
import { displayScale, pathOrder, sourceName, type DisplayScale } from './format.ts';
import type { ReportModel } from './model.ts';

/** Whiskers (t intervals of the mean) are drawn from this many repetitions on: with 2, t(1) = 12.7 makes them span the chart. */
export const MIN_WHISKER_N = 3;
export const MARKS = `bar: mean; whisker: 95 % t interval of the mean (from ${MIN_WHISKER_N} repetitions); dots: individual repetitions`;
/** Regions, reasons or roles beyond this many are summed as "other". */
export const MAX_PARTS = 8;

export function slug(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The y-axis title: the display unit in words and the better direction with an arrow. */
export function axisLabel(metric: MetricName, scale: DisplayScale): string {
  const info = metricInfo(metric);
  let unit = scale.unit;
  const noun = info.group === 'device-accesses' ? 'device accesses' : 'VM exits';
  if (info.unit === 'count/GB') unit = `${noun} per GB`;
  if (info.unit === 'count/pkt') unit = `${noun} per packet`;
  const arrow = info.direction === 'higher-is-better' ? ' (higher is better ↑)' : info.direction === 'lower-is-better' ? ' (lower is better ↓)' : '';
  return `${unit}${arrow}`;
}

export function sourcesOf(model: ReportModel, series: readonly SeriesStats[]): string[] {
  return [...new Set(series.flatMap((s) => s.sources).map((x) => sourceName(x, model.sourceNames)))].sort();
}

export interface Cell {
  series: SeriesStats[];
}

export function datasetFrom(label: string, color: string | string[], cells: Cell[], scale: DisplayScale, withMarks: boolean): FigureDataset {
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
export function marksCaption(series: readonly SeriesStats[], extra = ''): string {
  const few = series.filter((s) => s.summary.n < MIN_WHISKER_N).length;
  if (few === series.length) return `bar: mean; dots: individual repetitions; no whiskers with fewer than ${MIN_WHISKER_N} repetitions (the intervals are in the summary)${extra}`;
  return `${MARKS}${few ? `; none where there are fewer` : ''}${extra}`;
}

export function scaleOf(series: readonly SeriesStats[], unit: string): DisplayScale {
  const magnitude = Math.max(...series.map((s) => Math.max(Math.abs(s.summary.max), s.summary.n >= MIN_WHISKER_N ? Math.abs(s.summary.ci?.high ?? 0) : 0)));
  return displayScale(unit, magnitude);
}

export function uniqueVariants(series: readonly SeriesStats[]): Dims[] {
  const seen = new Map<string, Dims>();
  for (const s of series) seen.set(variantLabel(variantOf(s.dims)), variantOf(s.dims));
  return [...seen.values()].sort(compareVariants);
}

export function pathCategories(model: ReportModel, series: readonly SeriesStats[]): { label: string; host: string; backend: string }[] {
  const seen = new Map<string, { label: string; host: string; backend: string }>();
  const sorted = [...series].sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || a.host.localeCompare(b.host));
  for (const s of sorted) {
    const k = `${s.backend}|${s.host}`;
    if (!seen.has(k)) seen.set(k, { label: model.multiHost ? `${s.backend} @ ${s.host}` : s.backend, host: s.host, backend: s.backend });
  }
  return [...seen.values()];
}
