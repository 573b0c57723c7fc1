// The shape of one figure, independent of the drawing library: categories, datasets already
// scaled to their display unit, whiskers and dots, and every word the figure must carry.

import type { Direction } from '../metrics.ts';
import type { PathLook } from './format.ts';

export interface FigureDataset {
  label: string;
  /** One colour, or one per category. */
  color: string | string[];
  /** Bar heights or line points, in the display unit; null where there is no value. */
  values: (number | null)[];
  /** Interval per category (display unit), drawn as a whisker. */
  whiskers?: ([number, number] | null)[];
  /** Individual repetitions per category (display unit), drawn as dots. */
  dots?: number[][];
}

export type FigureSection = 'throughput' | 'ratio' | 'packet-rate' | 'latency' | 'exits' | 'device-accesses' | 'cpu' | 'breakdown' | 'trend' | 'ablation';

export interface FigureSpec {
  /** Stable id, also the anchor in the HTML. */
  id: string;
  kind: 'bar' | 'line';
  section: FigureSection;
  title: string;
  direction: Direction;
  /** Axis title with the display unit and the better direction. The axis is linear, starts at 0 and grows upward. */
  yLabel: string;
  stacked: boolean;
  categories: string[];
  /**
   * A line figure over numbers rather than categories: the x position of each category on a
   * logarithmic axis, ticked and labelled at those positions only (the percentile plot puts p at
   * 1/(1 − p), so that p90, p99, p99.9 are equally spaced and the tail is not squeezed into a corner).
   */
  xLog?: { values: number[]; title: string };
  datasets: FigureDataset[];
  /** A horizontal reference, e.g. 1× for ratios. */
  referenceLine?: { value: number; label: string };
  /** Human names of the tools the numbers came from (perf, debugfs, QMP query-stats, TCG trace, ...). */
  sources: string[];
  /** How to read the marks: what a bar, a whisker and a dot are. */
  caption: string;
  /** Printed beside another half-width figure. */
  width: 'full' | 'half';
  /** The scenario the figure belongs to (the report groups figures by it). */
  scenario?: string;
}

/** Colours for datasets that are not paths (hosts, guests, percentiles, roles, reasons). */
export const SERIES_COLORS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#8C6D31', '#999999', '#332288', '#88CCEE', '#117733', '#AA4499'];

/** Colours for the parts of stacked bars (regions, reasons, roles): no grey, which is kept for "other". */
export const PART_COLORS = ['#009E73', '#D55E00', '#332288', '#E69F00', '#56B4E9', '#CC79A7', '#0072B2', '#8C6D31', '#117733', '#AA4499', '#88CCEE', '#F0E442'];

/** A path's own colour (its run recorded it), else a spare one by its position among the bars. */
export function pathColor(paths: readonly PathLook[], id: string, index: number): string {
  return paths.find((p) => p.id === id)?.color ?? SERIES_COLORS[(index + 4) % SERIES_COLORS.length]!;
}
