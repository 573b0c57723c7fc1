// Every path against the reference path of its host: which path is the reference, and the ratio of
// medians (with its interval) of each headline metric and cost figure, per scenario and variant.

import { metricInfo } from '../metrics.ts';
import { medianRatio } from '../stats/ratio.ts';
import { isHeadline, type SeriesStats } from '../stats/series.ts';
import { costLabel, variantOf, type CostBasis, type CostSeries } from './costs.ts';
import { formatDims, pathOrder, sourceList, type PathLook } from './format.ts';
import type { RatioView } from './model.ts';

/** Workload metrics compared between paths (ratio to the reference path), with the scenarios' cost figures. */
const RATIO_METRICS = ['throughput', 'packetRate', 'latencyP50', 'latencyP99'] as const;

/**
 * The reference path of each host: the path whose descriptor gives it the reference role (the
 * emulated NIC, the slowest design) when it has headline series; otherwise the first measured path
 * in the report's order.
 */
export function referencePaths(series: readonly SeriesStats[], hosts: readonly string[], paths: readonly PathLook[]): { host: string; backend: string }[] {
  const isReference = (id: string) => paths.some((p) => p.id === id && p.reference === true);
  const byPath = pathOrder(paths);
  return hosts.flatMap((host) => {
    const measured = [...new Set(series.filter((s) => s.host === host && isHeadline(s)).map((s) => s.backend))].sort(
      (a, b) => Number(isReference(b)) - Number(isReference(a)) || byPath(a, b),
    );
    return measured.length ? [{ host, backend: measured[0]! }] : [];
  });
}

/** The cost figures compared between paths: per GB and CPU per Gbit/s where a scenario moves bulk data, per packet and CPU per Mpps otherwise. */
function ratioCosts(costs: readonly CostSeries[], scenarioHasThroughput: boolean): CostSeries[] {
  const bases: CostBasis[] = scenarioHasThroughput ? ['per-gb', 'per-gbps'] : ['per-packet', 'per-mpps'];
  return costs.filter((c) => c.guest === undefined && bases.includes(c.basis));
}

/** Every path against the reference path of its host, per scenario and variant: workload metrics, then the cost figures. */
export function computeRatios(
  series: readonly SeriesStats[],
  costs: readonly CostSeries[],
  references: readonly { host: string; backend: string }[],
  paths: readonly PathLook[],
  names: Readonly<Record<string, string>>,
): RatioView[] {
  const out: RatioView[] = [];
  const byPath = pathOrder(paths);
  for (const { host, backend: ref } of references) {
    const scenarios = [...new Set(series.filter((s) => s.host === host).map((s) => s.scenario))];
    for (const scenario of scenarios) {
      const here = series.filter((s) => s.host === host && s.scenario === scenario);
      const bulk = here.some((s) => s.metric === 'throughput' && isHeadline(s));
      const candidates: { s: SeriesStats; label: string; source: string }[] = [
        ...here.filter((s) => (RATIO_METRICS as readonly string[]).includes(s.metric) && isHeadline(s)).map((s) => ({ s, label: metricInfo(s.metric).title.toLowerCase(), source: sourceList(s.sources, names) })),
        ...ratioCosts(
          costs.filter((c) => c.host === host && c.scenario === scenario),
          bulk,
        ).map((c) => ({ s: c as SeriesStats, label: costLabel(c), source: c.method })),
      ];
      const key = (s: SeriesStats) => `${s.metric}|${formatDims(variantOf(s.dims))}`;
      const refs = new Map(candidates.filter((c) => c.s.backend === ref).map((c) => [key(c.s), c.s]));
      for (const c of candidates.sort((a, b) => byPath(a.s.backend, b.s.backend))) {
        const den = refs.get(key(c.s));
        if (!den || c.s.backend === ref) continue;
        const estimate = medianRatio(
          c.s.points.map((p) => p.value),
          den.points.map((p) => p.value),
        );
        if (!estimate) continue;
        out.push({
          host,
          scenario,
          metric: c.s.metric,
          variant: variantOf(c.s.dims),
          numerator: c.s.backend,
          denominator: ref,
          estimate,
          n: { numerator: c.s.summary.n, denominator: den.summary.n },
          label: c.label,
          direction: metricInfo(c.s.metric).direction,
          source: c.source,
        });
      }
    }
  }
  return out;
}
