// The ablation figure: per path with variants, one bar per variant and measure, the variant's
// ratio to its path with its interval (1× is the path). Its words (measure titles, who the view is
// about) are shared with the table in ablation-view.ts.

import { ABLATION_MEASURES, shownInterval, type AblationMeasure, type AblationView } from './ablation.ts';
import { SERIES_COLORS, type FigureSpec } from './figure-spec.ts';
import { MIN_WHISKER_N, slug } from './figure-parts.ts';
import type { ReportModel } from './model.ts';

export const MEASURE_TITLES: Record<AblationMeasure, { text: string; sub: string }> = {
  throughput: { text: 'Throughput', sub: 'TCP stream, higher is better' },
  'packet-rate': { text: 'Packet rate', sub: 'UDP 64 B, higher is better' },
  'count-per-gb': { text: 'Per GB', sub: 'TCP stream, lower is better' },
  'cpu-per-gbps': { text: 'Host CPU per Gbit/s', sub: 'TCP stream, lower is better' },
};

/** The measures at least one variant of the view has, in the view's order. */
export function measuresOf(v: AblationView): AblationMeasure[] {
  return ABLATION_MEASURES.filter((m) => v.rows.some((r) => r.effects.some((e) => e.measure === m)));
}

/** The label of a measure in this view: the count per GB is named by what the run counted. */
export function measureLabel(v: AblationView, m: AblationMeasure): string {
  if (m !== 'count-per-gb') return MEASURE_TITLES[m].text;
  const label = v.rows.flatMap((r) => r.effects).find((e) => e.measure === m)?.label ?? 'counts per GB';
  return label.charAt(0).toUpperCase() + label.slice(1);
}

/** Who the view is about: the path, and its host when runs of several hosts are merged. */
export function who(model: Pick<ReportModel, 'multiHost'>, v: AblationView): string {
  return `${v.path}${model.multiHost ? ` on ${v.host}` : ''}`;
}

/** One bar per variant and measure: the variant's ratio to its path, with its interval; 1× is the path. */
export function ablationFigure(model: Pick<ReportModel, 'multiHost'>, v: AblationView): FigureSpec | null {
  const measures = measuresOf(v);
  if (measures.length === 0 || v.rows.length === 0) return null;
  return {
    id: slug('ablation', v.host, v.path),
    kind: 'bar',
    section: 'ablation',
    title: `Variants of ${who(model, v)} against the path with QEMU's defaults`,
    direction: 'neutral',
    yLabel: `× ${v.path} (1× = no change)`,
    stacked: false,
    categories: v.rows.map((r) => r.name),
    datasets: measures.map((m, i) => ({
      label: `${measureLabel(v, m)} (${MEASURE_TITLES[m].sub})`,
      color: SERIES_COLORS[i % SERIES_COLORS.length]!,
      values: v.rows.map((r) => r.effects.find((e) => e.measure === m)?.ratio ?? null),
      whiskers: v.rows.map((r) => {
        const e = r.effects.find((x) => x.measure === m);
        const ci = e ? shownInterval(e) : null;
        return ci ? [ci.low, ci.high] : null;
      }),
    })),
    referenceLine: { value: 1, label: `1× = ${v.path}` },
    sources: [...new Set(v.rows.flatMap((r) => r.effects.map((e) => e.source)))],
    caption: `bar: variant ÷ path (${v.paired ? 'geometric mean of the rounds\u2019 ratios' : 'ratio of medians'}); whisker: 95 % interval (from ${MIN_WHISKER_N} ${v.paired ? 'rounds' : 'repetitions'}); variants sorted by the size of their first effect`,
    width: 'full',
  };
}

/** The figures of every ablation view, in the report's path order. */
export function ablationFigures(model: Pick<ReportModel, 'multiHost' | 'ablation'>): FigureSpec[] {
  return model.ablation.map((v) => ablationFigure(model, v)).filter((f): f is FigureSpec => f !== null);
}
