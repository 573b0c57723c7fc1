// The catalogue of metric names, closed: a sample's metric is one of these names (samples.ts checks
// it when writing and when reading), so a misspelt metric is an error, never a neutral newcomer.
// Producers (workloads, collectors, the runner's normalisation, the paths' own collectors) and
// consumers (statistics, reports, comparison) agree on names, units and which direction is better
// here, so a report never shows an improvement as a regression.

import type { Unit } from './samples.ts';

export type Direction = 'higher-is-better' | 'lower-is-better' | 'neutral';

export interface MetricInfo {
  unit: Unit;
  title: string;
  direction: Direction;
  /** Report section the metric belongs to. */
  group: 'throughput' | 'packet-rate' | 'latency' | 'exits' | 'device-accesses' | 'cpu' | 'switch' | 'volume';
}

export const metrics = {
  throughput: { unit: 'bit/s', title: 'Throughput (receiver)', direction: 'higher-is-better', group: 'throughput' },
  throughputSender: { unit: 'bit/s', title: 'Throughput (sender)', direction: 'higher-is-better', group: 'throughput' },
  retransmits: { unit: 'count', title: 'TCP retransmits', direction: 'lower-is-better', group: 'throughput' },
  bytesReceived: { unit: 'bytes', title: 'Bytes received', direction: 'neutral', group: 'volume' },
  packetsReceived: { unit: 'count', title: 'Packets received', direction: 'neutral', group: 'volume' },
  /** The guests' own interface counters over the window; dims: guest, direction (rx/tx). */
  nicPackets: { unit: 'count', title: 'Guest NIC packets', direction: 'neutral', group: 'volume' },
  nicBytes: { unit: 'bytes', title: 'Guest NIC bytes', direction: 'neutral', group: 'volume' },
  packetRate: { unit: 'pkt/s', title: 'Delivered packet rate', direction: 'higher-is-better', group: 'packet-rate' },
  lossPercent: { unit: '%', title: 'Packet loss', direction: 'lower-is-better', group: 'packet-rate' },
  latencyP50: { unit: 'us', title: 'Round-trip latency p50', direction: 'lower-is-better', group: 'latency' },
  latencyP90: { unit: 'us', title: 'Round-trip latency p90', direction: 'lower-is-better', group: 'latency' },
  latencyP99: { unit: 'us', title: 'Round-trip latency p99', direction: 'lower-is-better', group: 'latency' },
  latencyMean: { unit: 'us', title: 'Round-trip latency mean', direction: 'lower-is-better', group: 'latency' },
  // The tail, from every round trip of sockperf's full log (a percentile is given only when at least
  // 10 round trips lie beyond it, see stats/percentiles.ts); runs before the full log lack them.
  latencyP999: { unit: 'us', title: 'Round-trip latency p99.9', direction: 'lower-is-better', group: 'latency' },
  latencyP9999: { unit: 'us', title: 'Round-trip latency p99.99', direction: 'lower-is-better', group: 'latency' },
  latencyMax: { unit: 'us', title: 'Round-trip latency max', direction: 'lower-is-better', group: 'latency' },
  /** Round trips in the full log that the percentiles of the repetition rest on (capped, see workloads/sockperf-log.ts). */
  latencySamples: { unit: 'count', title: 'Round trips in the full log', direction: 'neutral', group: 'latency' },
  /** VM exits in the window, baseline subtracted; dims: guest, and reason where known. */
  exits: { unit: 'count', title: 'VM exits', direction: 'lower-is-better', group: 'exits' },
  exitsPerGB: { unit: 'count/GB', title: 'VM exits per GB moved', direction: 'lower-is-better', group: 'exits' },
  exitsPerPacket: { unit: 'count/pkt', title: 'VM exits per packet', direction: 'lower-is-better', group: 'exits' },
  /** Other KVM statistics (debugfs, QMP) over the window; dims: guest, stat, and vcpu where per vCPU. */
  kvmStat: { unit: 'count', title: 'KVM statistic', direction: 'neutral', group: 'exits' },
  /** Software emulation: emulated device accesses (what would have been exits); dims: guest, region. */
  deviceAccesses: { unit: 'count', title: 'Device accesses (software emulation)', direction: 'lower-is-better', group: 'device-accesses' },
  deviceAccessesPerGB: { unit: 'count/GB', title: 'Device accesses per GB (software emulation)', direction: 'lower-is-better', group: 'device-accesses' },
  deviceAccessesPerPacket: { unit: 'count/pkt', title: 'Device accesses per packet (software emulation)', direction: 'lower-is-better', group: 'device-accesses' },
  /** Host CPU seconds over the window; dims: role (`qemu <guest>`, or a helper role a path declares) and kind. */
  hostCpu: { unit: 's', title: 'Host CPU time', direction: 'lower-is-better', group: 'cpu' },
  hostCpuPerGbps: { unit: 'cpu-s/(Gbit/s)', title: 'Host CPU per Gbit/s', direction: 'lower-is-better', group: 'cpu' },
  hostCpuPerMpps: { unit: 'cpu-s/Mpps', title: 'Host CPU per Mpps', direction: 'lower-is-better', group: 'cpu' },
  // Metrics of the paths' own collectors (each path lists the ones it produces in its descriptor's
  // `metrics`): the port counters of a userspace switch over the window; dims: port, and direction.
  switchPackets: { unit: 'count', title: 'Switch port packets', direction: 'neutral', group: 'switch' },
  switchBytes: { unit: 'bytes', title: 'Switch port bytes', direction: 'neutral', group: 'switch' },
  switchDrops: { unit: 'count', title: 'Switch port drops', direction: 'lower-is-better', group: 'switch' },
  /** Guest notifications a switch received (kicks) and sent (calls); dims: port. */
  switchKicks: { unit: 'count', title: 'Switch kicks received', direction: 'neutral', group: 'switch' },
  switchCalls: { unit: 'count', title: 'Switch calls (interrupts) sent', direction: 'neutral', group: 'switch' },
  /** A switch with several queue pairs per port: packets per queue; dims: port, direction, queue. */
  switchQueuePackets: { unit: 'count', title: 'Switch packets per queue', direction: 'neutral', group: 'switch' },
} as const satisfies Record<string, MetricInfo>;

export type MetricName = keyof typeof metrics;

/** Every metric name, in catalogue order. */
export const metricNames = Object.keys(metrics) as [MetricName, ...MetricName[]];

export function isMetricName(name: string): name is MetricName {
  return Object.hasOwn(metrics, name);
}

/** Information about a metric. */
export function metricInfo(name: MetricName): MetricInfo {
  return metrics[name];
}
