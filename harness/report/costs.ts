// The headline cost figures of a path, derived from the collectors' breakdowns: device accesses
// (software emulation) or VM exits per GB and per packet, summed per guest over what is on the
// network path, and host CPU per Gbit/s or per Mpps summed over every thread of the path. Each sum
// is taken per repetition, so its spread and interval come from the repetitions. Which parts were
// summed and which were left out (and why) travel with the figure, so the report can say so.

import { VIRTIO_INTERRUPT_EVENTS } from '../collectors/parse/qemu-trace.ts';
import { seriesKey, type Dims } from '../samples.ts';
import { analyseSeries, BREAKDOWN_DIMS, sumSeries, type SeriesInput, type SeriesStats } from '../stats/series.ts';
import type { QualityThresholds } from '../stats/warnings.ts';
import { sourceName } from './format.ts';

/** What a cost figure counts. */
export type CostCount = 'device-accesses' | 'exits' | 'host-cpu';
/** What it is divided by. */
export type CostBasis = 'per-gb' | 'per-packet' | 'per-gbps' | 'per-mpps';

/** Normalised cost metrics and what they count. */
export const COST_METRICS: Readonly<Record<string, { count: CostCount; basis: CostBasis }>> = {
  deviceAccessesPerGB: { count: 'device-accesses', basis: 'per-gb' },
  deviceAccessesPerPacket: { count: 'device-accesses', basis: 'per-packet' },
  exitsPerGB: { count: 'exits', basis: 'per-gb' },
  exitsPerPacket: { count: 'exits', basis: 'per-packet' },
  hostCpuPerGbps: { count: 'host-cpu', basis: 'per-gbps' },
  hostCpuPerMpps: { count: 'host-cpu', basis: 'per-mpps' },
};

/** A part seen in the breakdown but not added to the sum, with the reason in words. */
export interface LeftOut {
  part: string;
  why: string;
}

/** A summed cost figure of one path, scenario and workload variant (and guest, for counts per VM). */
export interface CostSeries extends SeriesStats {
  count: CostCount;
  basis: CostBasis;
  /** The guest whose own QEMU process was counted; absent for the path total (both guests, or every thread). */
  guest?: string;
  /** The workload variant (e.g. `{ payloadBytes: 64 }`); `{}` for a scenario with one variant. */
  variant: Dims;
  /** The breakdown dimension that was summed over (`region`, `reason`, `event`, `stat`, `role`), or `total`. */
  over: string;
  /** What was summed: regions, reasons, roles, guests; `total` when the collector reported one. */
  parts: string[];
  leftOut: LeftOut[];
  /** What is counted, in the report's words: `device accesses (software emulation)`, `VM exits`, `I/O exits`, `host CPU`. */
  what: string;
  /** How the count was taken, e.g. `TCG trace`, `perf kvm:kvm_exit`, `debugfs`, `/proc`. */
  method: string;
}

/** Regions that are not on the network path: timers and legacy devices the guests touch anyway. */
const OFF_PATH_REGION = /^(hpet|rtc|mc146818|pit|i8254|pic|i8259|elcr|serial|i8042|pcspk|fwcfg|fw_cfg|port92|acpi|apm|kvmvapic|vga|ide|dma-|ps2|fdc|floppy|smbus|pm-|isa-)/i;
/** The device's own interrupt notifications: the same interrupt as the MSI write it causes. */
const NOTIFY_EVENTS = new Set<string>(VIRTIO_INTERRUPT_EVENTS);

/**
 * Whether a memory region's device accesses count toward a path's sum. Counted: every guest access to
 * the NIC and to the interrupt controller that serves it (with the idle baseline subtracted, the
 * extra local-APIC accesses are the guest acknowledging the NIC's interrupts), and the guest's
 * virtqueue kicks. Left out: accesses a device model made itself (`… (from device)`, e.g. an MSI
 * write: interrupt delivery, not a guest access), the device's interrupt notifications (the same
 * interrupts again), and timers and legacy devices that are not on the network path.
 */
export function regionRole(region: string): { counted: true } | { counted: false; why: string } {
  if (/\(from device\)$/.test(region)) return { counted: false, why: 'written by a device model itself (interrupt delivery), not a guest access' };
  if (NOTIFY_EVENTS.has(region)) return { counted: false, why: 'the device interrupting the guest: the same interrupts as the MSI writes, not a guest access' };
  if (OFF_PATH_REGION.test(region)) return { counted: false, why: 'a timer or legacy device, not on the network path' };
  return { counted: true };
}

/** perf events that are one exit each and do not overlap: port I/O, MMIO handled in the kernel or in QEMU. */
const IO_EXIT_EVENTS = ['kvm:kvm_pio', 'kvm:kvm_mmio', 'kvm:kvm_fast_mmio'];

/** The variant of a series: its dimensions without the guest and without breakdown dimensions. */
export function variantOf(dims: Dims): Dims {
  const out: Dims = {};
  for (const k of Object.keys(dims).sort()) if (k !== 'guest' && !BREAKDOWN_DIMS.includes(k)) out[k] = dims[k]!;
  return out;
}

const sameDims = (a: Dims, b: Dims) => seriesKey({ backend: '', scenario: '', metric: '', dims: a }) === seriesKey({ backend: '', scenario: '', metric: '', dims: b });
const onlyKeys = (dims: Dims, keys: readonly string[]) => Object.keys(dims).every((k) => keys.includes(k));

interface Choice {
  parts: SeriesInput[];
  over: string;
  names: string[];
  leftOut: LeftOut[];
  what: string;
  method: string;
}

/**
 * The series that make up one guest's count of one metric, by the first rule that applies:
 * a total the collector reported; for device accesses, the regions on the path; for exits, the sum
 * over exit reasons (perf), perf's `kvm:kvm_exit`, the `exits` statistic of debugfs or QMP (summed
 * over vCPUs), or, where `kvm_exit` does not fire, the I/O exits perf counts (`kvm_pio`, `kvm_mmio`,
 * `kvm_fast_mmio`). perf's events overlap (a `kvm_pio` exit is also a `kvm_exit`), so they are never
 * summed with each other beyond that last set.
 */
function chooseCount(count: 'device-accesses' | 'exits', series: readonly SeriesInput[], variant: Dims, guest: string): Choice | null {
  const base = { ...variant, guest };
  const total = series.find((s) => sameDims(s.dims, base));
  const src = (ss: readonly SeriesInput[]) => [...new Set(ss.flatMap((s) => s.sources).map((s) => sourceName(s)))].join(', ') || 'not recorded';
  if (total) return { parts: [total], over: 'total', names: ['total'], leftOut: [], what: count === 'exits' ? 'VM exits' : 'device accesses (software emulation)', method: src([total]) };
  const withDim = (dim: string, also: readonly string[] = []) =>
    series.filter((s) => s.dims.guest === guest && dim in s.dims && onlyKeys(s.dims, [...Object.keys(base), dim, ...also]) && sameDims(variantOf(s.dims), variant));
  if (count === 'device-accesses') {
    const regions = withDim('region');
    if (regions.length === 0) return null;
    const counted = regions.filter((s) => regionRole(String(s.dims.region)).counted);
    const leftOut = regions
      .map((s) => ({ part: String(s.dims.region), role: regionRole(String(s.dims.region)) }))
      .flatMap((x) => (x.role.counted ? [] : [{ part: x.part, why: x.role.why }]));
    return { parts: counted, over: 'region', names: counted.map((s) => String(s.dims.region)), leftOut, what: 'device accesses (software emulation)', method: src(regions) };
  }
  const reasons = withDim('reason');
  if (reasons.length) return { parts: reasons, over: 'reason', names: reasons.map((s) => String(s.dims.reason)), leftOut: [], what: 'VM exits', method: `${src(reasons)}, kvm_exit by exit reason` };
  const events = withDim('event');
  const kvmExit = events.filter((s) => s.dims.event === 'kvm:kvm_exit');
  if (kvmExit.length) return { parts: kvmExit, over: 'event', names: ['kvm:kvm_exit'], leftOut: [], what: 'VM exits', method: `${src(kvmExit)} kvm:kvm_exit` };
  const stats = withDim('stat', ['vcpu']).filter((s) => s.dims.stat === 'exits');
  if (stats.length) {
    // One source only: debugfs and QMP report the same counter.
    const first = stats[0]!.sources[0];
    const one = stats.filter((s) => s.sources[0] === first);
    return { parts: one, over: 'stat', names: ['exits'], leftOut: [], what: 'VM exits', method: `${src(one)} exits statistic${one.some((s) => 'vcpu' in s.dims) ? ', summed over vCPUs' : ''}` };
  }
  const io = events.filter((s) => IO_EXIT_EVENTS.includes(String(s.dims.event)));
  if (io.length) {
    const leftOut = events.filter((s) => !io.includes(s)).map((s) => ({ part: String(s.dims.event), why: 'overlaps the I/O exits (or is not an I/O exit): not added' }));
    return { parts: io, over: 'event', names: io.map((s) => String(s.dims.event)), leftOut, what: 'I/O exits', method: `${src(io)} ${io.map((s) => String(s.dims.event).replace('kvm:', '')).join(' + ')}` };
  }
  return null;
}

/** The guests counted in a set of series. */
function guestsOf(series: readonly SeriesInput[]): string[] {
  return [...new Set(series.filter((s) => s.dims.guest !== undefined).map((s) => String(s.dims.guest)))].sort();
}

/** Group by everything but the dims: one path, scenario and metric of one host. */
function groupByPath(series: readonly SeriesInput[], metrics: readonly string[]): Map<string, SeriesInput[]> {
  const groups = new Map<string, SeriesInput[]>();
  for (const s of series) {
    if (!metrics.includes(s.metric)) continue;
    const k = [s.host, s.backend, s.scenario, s.metric].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  return groups;
}

function variantsOf(series: readonly SeriesInput[]): Dims[] {
  const seen = new Map<string, Dims>();
  for (const s of series) {
    const v = variantOf(s.dims);
    seen.set(seriesKey({ backend: '', scenario: '', metric: '', dims: v }), v);
  }
  return [...seen.values()];
}

/**
 * One choice of parts per guest, made on the raw counts (`deviceAccesses`, `exits`) when present so
 * that idle windows and normalised figures use the same parts.
 */
export function countParts(count: 'device-accesses' | 'exits', series: readonly SeriesInput[], variant: Dims, guest: string): Choice | null {
  return chooseCount(count, series, variant, guest);
}

/**
 * Every summed cost figure of the given series (one run's, idle excluded): per guest and for the
 * path (both guests), per variant, for device accesses or exits per GB and per packet; and host CPU
 * per Gbit/s and per Mpps over every thread of the path. Each is analysed as a series of its own,
 * with quality warnings (these are headline figures).
 */
export function costSeries(series: readonly SeriesInput[], thresholds: QualityThresholds): CostSeries[] {
  const out: CostSeries[] = [];
  const analyse = (input: SeriesInput | null, extra: Omit<CostSeries, keyof SeriesStats>): void => {
    if (!input) return;
    const stats = analyseSeries(input, thresholds, true);
    if (stats) out.push({ ...stats, ...extra });
  };
  for (const group of groupByPath(series, Object.keys(COST_METRICS)).values()) {
    const s0 = group[0]!;
    const { count, basis } = COST_METRICS[s0.metric]!;
    const id = { host: s0.host, backend: s0.backend, scenario: s0.scenario, metric: s0.metric };
    for (const variant of variantsOf(group)) {
      if (count === 'host-cpu') {
        const total = group.find((s) => sameDims(s.dims, variant));
        const parts = total ? [total] : group.filter((s) => sameDims(variantOf(s.dims), variant) && onlyKeys(s.dims, [...Object.keys(variant), 'role', 'kind']));
        if (parts.length === 0) continue;
        const roles = total ? ['total'] : [...new Set(parts.map((s) => String(s.dims.role ?? 'other')))].sort();
        analyse(sumSeries(parts, { ...id, dims: variant }), { count, basis, variant, over: total ? 'total' : 'role', parts: roles, leftOut: [], what: 'host CPU', method: [...new Set(parts.flatMap((p) => p.sources).map((s) => sourceName(s)))].join(', ') });
        continue;
      }
      const perGuest: { guest: string; input: SeriesInput; choice: Choice }[] = [];
      for (const guest of guestsOf(group)) {
        const choice = chooseCount(count, group, variant, guest);
        if (!choice || choice.parts.length === 0) continue;
        const input = sumSeries(choice.parts, { ...id, dims: { ...variant, guest } });
        if (!input) continue;
        perGuest.push({ guest, input, choice });
        analyse(input, { count, basis, variant, guest, over: choice.over, parts: choice.names, leftOut: choice.leftOut, what: choice.what, method: choice.method });
      }
      if (perGuest.length > 1) {
        const c = perGuest[0]!.choice;
        analyse(sumSeries(perGuest.map((g) => g.input), { ...id, dims: variant }), {
          count,
          basis,
          variant,
          over: 'guest',
          parts: perGuest.map((g) => g.guest),
          leftOut: [],
          what: c.what,
          method: [...new Set(perGuest.map((g) => g.choice.method))].join('; '),
        });
      }
    }
  }
  return out;
}

/** Mean bytes per packet the guests' interfaces counted in a window, per repetition (Σ bytes / Σ packets). */
export interface PacketSize {
  host: string;
  backend: string;
  scenario: string;
  variant: Dims;
  /** Median over the repetitions. */
  bytesPerPacket: number;
}

/**
 * What "a packet" was for each path and variant, from the guests' NIC counters: with TSO, GSO and
 * GRO on, a virtio guest counts 64 kB super-packets where a guest with an emulated NIC counts wire-sized frames,
 * so per-packet figures of a TCP stream compare different things and per GB is the fair basis.
 */
export function packetSizes(series: readonly SeriesInput[]): PacketSize[] {
  const out: PacketSize[] = [];
  const byPath = new Map<string, SeriesInput[]>();
  for (const s of series) {
    if (s.metric !== 'nicPackets' && s.metric !== 'nicBytes') continue;
    const k = [s.host, s.backend, s.scenario, seriesKey({ backend: '', scenario: '', metric: '', dims: variantOf(s.dims) })].join('\u0000');
    byPath.set(k, [...(byPath.get(k) ?? []), s]);
  }
  for (const group of byPath.values()) {
    const bytes = sumSeries(group.filter((s) => s.metric === 'nicBytes'), { ...group[0]!, dims: {} });
    const packets = sumSeries(group.filter((s) => s.metric === 'nicPackets'), { ...group[0]!, dims: {} });
    if (!bytes || !packets) continue;
    const ratios = packets.points.flatMap((p) => {
      const b = bytes.points.find((x) => x.rep === p.rep);
      return b && p.value > 0 ? [b.value / p.value] : [];
    });
    if (ratios.length === 0) continue;
    const sorted = ratios.sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    const s0 = group[0]!;
    out.push({ host: s0.host, backend: s0.backend, scenario: s0.scenario, variant: variantOf(s0.dims), bytesPerPacket: median });
  }
  return out;
}

/** `64 B` for a payload variant, `payloadBytes=64`-style otherwise; empty for no variant. */
export function variantLabel(v: Dims): string {
  const keys = Object.keys(v).sort();
  return keys.map((k) => (k === 'payloadBytes' ? `${v[k]} B` : `${k}=${v[k]}`)).join(', ');
}

/** Variants in a stable order: payload sizes ascending. */
export function compareVariants(a: Dims, b: Dims): number {
  const pa = Number(a.payloadBytes ?? NaN);
  const pb = Number(b.payloadBytes ?? NaN);
  if (!Number.isNaN(pa) && !Number.isNaN(pb) && pa !== pb) return pa - pb;
  return variantLabel(a).localeCompare(variantLabel(b));
}

const BASIS_WORDS: Record<CostBasis, string> = { 'per-gb': 'per GB', 'per-packet': 'per packet', 'per-gbps': 'per Gbit/s', 'per-mpps': 'per Mpps' };

/** `device accesses (software emulation) per GB, guest a`, `VM exits per packet, both guests`, `host CPU per Gbit/s`. */
export function costLabel(c: Pick<CostSeries, 'what' | 'basis' | 'guest' | 'count' | 'over'>): string {
  const who = c.count === 'host-cpu' ? '' : c.guest !== undefined ? `, guest ${c.guest}` : ', both guests';
  return `${c.what} ${BASIS_WORDS[c.basis]}${who}`;
}

export function basisWords(b: CostBasis): string {
  return BASIS_WORDS[b];
}
