// The summary as renderer-neutral tables: per scenario what each path achieved (with intervals and
// the ratio to the reference path) and what it cost (device accesses or exits per GB and per
// packet, host CPU per Gbit/s or per Mpps), the ratios in one matrix, the idle baseline, and the
// notes on how the cost figures were counted. HTML and Markdown print the same cells, so the two
// never disagree. Pure functions of the ReportModel.

import { isHeadline } from '../stats/series.ts';
import { compareVariants, variantLabel, variantOf, type CostSeries } from './costs.ts';
import { orderedScenarios, isBulk } from './figures.ts';
import { pathOrder, formatNumber, formatValue } from './format.ts';
import type { RatioView, ReportModel } from './model.ts';
import { capital, costTable, performanceTable, ratioCell, referenceOf, type Ctx } from './summary-tables.ts';

export { costTableOf, performanceTableLong, referenceOf } from './summary-tables.ts';

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
  const paths = [...new Set(ratios.map((r) => r.numerator))].sort(pathOrder(model.paths));
  const order = orderedScenarios(model);
  const rowKey = (r: RatioView) => `${r.scenario}\u0000${variantLabel(r.variant)}\u0000${r.label}`;
  const rowsIn = [...new Map(ratios.map((r) => [rowKey(r), r])).values()].sort(
    (a, b) => order.indexOf(a.scenario) - order.indexOf(b.scenario) || compareVariants(a.variant, b.variant) || rank(a) - rank(b),
  );
  const rows = rowsIn.map((r0) => {
    const v = variantLabel(r0.variant);
    return [
      { text: `${r0.scenario}${v ? ` (${v})` : ''}` },
      { text: `${r0.label.replace(/, both guests$/, ' (both guests)')} ${r0.direction === 'higher-is-better' ? '↑' : '↓'}`, note: r0.source },
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
    .sort((a, b) => pathOrder(model.paths)(a.backend, b.backend) || a.host.localeCompare(b.host))
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

