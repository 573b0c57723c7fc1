// Pure arithmetic that turns a repetition's collector counts into comparable figures: the idle
// baseline subtracted, then per GB moved, per packet, per Gbit/s and per Mpps. Every normalised
// sample keeps the dims and source of the count it came from, so a figure always names its source.

import type { MetricName } from '../metrics.ts';
import { seriesKey, type Sample, type Unit } from '../samples.ts';

/** The work a repetition did, from its workload samples. */
export interface Work {
  /** Bytes moved over the window (receiver side). */
  bytes: number;
  /** Packets moved, when the workload or the switch counted them. */
  packets?: number;
  /** Length of the measured window in seconds. */
  durationSec: number;
}

/** The samples of one window and how long it lasted. */
export interface WindowSamples {
  samples: readonly Sample[];
  durationSec: number;
}

export interface Normalised {
  samples: Sample[];
  /** Data-quality problems in words (shown by the report). */
  warnings: string[];
}

const keyOf = (s: Sample) => `${seriesKey({ backend: '', scenario: '', metric: s.metric, dims: s.dims })}|${s.source ?? ''}`;

/**
 * Subtract the idle baseline, series by series (same metric, source and dims):
 *
 *   value = measured − idle × (measure.durationSec / idle.durationSec)
 *
 * The idle window is meant to be as long as the measured one; the ratio corrects small differences.
 * A result below zero (the workload did not add to the idle count, plus noise) is clamped to 0, and
 * reported as a warning when it is more than 10 % (and more than 1) below the scaled baseline. Series without an idle counterpart are returned unchanged.
 */
/** A clamp to 0 is reported when the measured value is more than this fraction below the baseline. */
export const MATERIAL_DEFICIT_FRACTION = 0.1;

export function subtractBaseline(measure: WindowSamples, idle: WindowSamples | undefined): Normalised {
  if (!idle || idle.durationSec <= 0) return { samples: measure.samples.map((s) => ({ ...s })), warnings: [] };
  const scale = measure.durationSec / idle.durationSec;
  const baseline = new Map(idle.samples.map((s) => [keyOf(s), s.value]));
  const warnings: string[] = [];
  const samples = measure.samples.map((s) => {
    const base = baseline.get(keyOf(s));
    if (base === undefined) return { ...s };
    const value = s.value - base * scale;
    if (value < 0) {
      // Worth a word only when material: a timer that ticked once less than at rest is noise.
      if (-value > Math.max(MATERIAL_DEFICIT_FRACTION * base * scale, 1)) {
        warnings.push(`${s.metric} ${describeDims(s)}: idle baseline (${fmt(base * scale)}) exceeds the measured ${fmt(s.value)}; clamped to 0`);
      }
      return { ...s, value: 0 };
    }
    return { ...s, value };
  });
  return { samples, warnings };
}

const PER: Partial<Record<string, { perGB: MetricName; perPacket: MetricName }>> = {
  exits: { perGB: 'exitsPerGB', perPacket: 'exitsPerPacket' },
  deviceAccesses: { perGB: 'deviceAccessesPerGB', perPacket: 'deviceAccessesPerPacket' },
};

/**
 * Normalise baseline-subtracted counts by the work done. For each count sample (dims kept):
 *
 * - `exits`, `deviceAccesses`:  perGB = count / (bytes / 1e9)        [count/GB, decimal GB]
 *                               perPacket = count / packets           [count/pkt]
 * - `hostCpu` (CPU seconds s):  hostCpuPerGbps = s × 1e9 / (bytes × 8) [cpu-s/(Gbit/s)]
 *                               hostCpuPerMpps = s × 1e6 / packets     [cpu-s/Mpps]
 *
 * hostCpuPerGbps reads as "CPU-seconds per second of window (cores kept busy) per Gbit/s of
 * throughput": (s / T) / (bytes × 8 / 1e9 / T), where the window length T cancels, so it equals
 * CPU-seconds per Gbit moved and does not depend on how long the window was. hostCpuPerMpps
 * likewise is cores per million packets per second. Per-packet figures are left out when packets
 * are unknown, per-GB ones when no bytes moved (request/response traffic); nothing is emitted
 * for a window that moved neither (with a warning).
 */
export function normalise(counts: readonly Sample[], work: Work): Normalised {
  const warnings: string[] = [];
  const samples: Sample[] = [];
  const hasPackets = work.packets !== undefined && work.packets > 0;
  const hasBytes = work.bytes > 0;
  if (!hasBytes && !hasPackets) {
    warnings.push('the window moved no bytes and no packets: nothing was normalised');
    return { samples, warnings };
  }
  const push = (from: Sample, metric: MetricName, unit: Unit, value: number) => {
    const s: Sample = { metric, value, unit };
    if (from.source !== undefined) s.source = from.source;
    if (from.dims !== undefined) s.dims = { ...from.dims };
    samples.push(s);
  };
  for (const c of counts) {
    const per = PER[c.metric];
    if (per) {
      if (hasBytes) push(c, per.perGB, 'count/GB', c.value / (work.bytes / 1e9));
      if (hasPackets) push(c, per.perPacket, 'count/pkt', c.value / work.packets!);
    } else if (c.metric === 'hostCpu') {
      if (hasBytes) push(c, 'hostCpuPerGbps', 'cpu-s/(Gbit/s)', (c.value * 1e9) / (work.bytes * 8));
      if (hasPackets) push(c, 'hostCpuPerMpps', 'cpu-s/Mpps', (c.value * 1e6) / work.packets!);
    }
  }
  return { samples, warnings };
}

/**
 * The work of a repetition from its workload samples: bytes from `bytesReceived`, packets from
 * `packetsReceived` (each summed over dims, e.g. over parallel streams).
 */
export function workFromSamples(samples: readonly Sample[], durationSec: number): Work {
  const sum = (metric: MetricName) => samples.filter((s) => s.metric === metric).reduce((a, s) => a + s.value, 0);
  const work: Work = { bytes: sum('bytesReceived'), durationSec };
  if (samples.some((s) => s.metric === 'packetsReceived')) work.packets = sum('packetsReceived');
  return work;
}

/**
 * Totals of one metric grouped by the given dims (others summed away), e.g. host CPU per role, or
 * all exits of a guest. Only meaningful for series that do not overlap: perf-kvm's events overlap
 * (kvm_pio exits are also kvm_userspace_exit exits) and must not be summed across `event`.
 */
export function sumBy(samples: readonly Sample[], metric: MetricName, keep: readonly string[]): Sample[] {
  const groups = new Map<string, Sample>();
  for (const s of samples) {
    if (s.metric !== metric) continue;
    const dims: Record<string, string | number> = {};
    for (const k of keep) if (s.dims?.[k] !== undefined) dims[k] = s.dims[k]!;
    const key = `${s.source ?? ''}|${JSON.stringify(dims)}`;
    const g = groups.get(key);
    if (g) g.value += s.value;
    else groups.set(key, { metric, value: s.value, unit: s.unit, ...(s.source === undefined ? {} : { source: s.source }), dims });
  }
  return [...groups.values()];
}

function describeDims(s: Sample): string {
  return s.dims ? Object.entries(s.dims).map(([k, v]) => `${k}=${v}`).join(' ') : '';
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}
