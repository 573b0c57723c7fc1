// The cost figures: device accesses or exits per GB and per packet per path and guest, exits by
// reason, and host CPU per Gbit/s or per Mpps by role; stacked by their parts, each part in one
// colour across the report.

import { metricInfo, type MetricName } from '../metrics.ts';
import { type SeriesStats } from '../stats/series.ts';
import { compareVariants, variantLabel, variantOf, type CostBasis, type CostSeries } from './costs.ts';
import { PART_COLORS, SERIES_COLORS, type FigureDataset, type FigureSection, type FigureSpec } from './figure-spec.ts';
import { axisLabel, datasetFrom, marksCaption, MAX_PARTS, scaleOf, slug, sourcesOf, uniqueVariants } from './figure-parts.ts';
import { displayScale, pathOrder } from './format.ts';
import type { ReportModel } from './model.ts';

export function partColors(model: ReportModel): Map<string, string> {
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
export function countFigure(model: ReportModel, scenario: string, count: 'exits' | 'device-accesses', basis: CostBasis, colors: Map<string, string>): FigureSpec | null {
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
export function breakdown(model: ReportModel, scenario: string, metric: MetricName, dim: 'reason', colors: Map<string, string>): FigureSpec | null {
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
export function cpuFigure(model: ReportModel, scenario: string, basis: 'per-gbps' | 'per-mpps', colors: Map<string, string>): FigureSpec | null {
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
