// The summed cost figures: which regions count toward a path's device accesses, which exit source
// is used on KVM, sums per repetition, the path total, host CPU over roles, and packet sizes.

import { describe, expect, it } from 'vitest';
import { costLabel, costSeries, packetSizes, regionRole, variantLabel, variantOf } from '../../../harness/report/costs.ts';
import { idleWindowSec } from '../../../harness/report/idle.ts';
import type { RunRecord } from '../../../harness/run/record.ts';
import type { SampleRecord } from '../../../harness/samples.ts';
import { groupSamples } from '../../../harness/stats/series.ts';
import { DEFAULT_THRESHOLDS } from '../../../harness/stats/warnings.ts';

function rec(over: Partial<SampleRecord>): SampleRecord {
  return { run: 'r', backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false, metric: 'deviceAccessesPerGB', unit: 'count/GB', value: 1, time: '2026-01-01T00:00:00Z', source: 'tcg-trace', ...over };
}

/** The same samples for repetitions 0..2, each value scaled by (1 + rep / 10). */
function reps(samples: Partial<SampleRecord>[]): SampleRecord[] {
  return [0, 1, 2].flatMap((rep) => samples.map((s) => rec({ ...s, rep, value: (s.value ?? 1) * (1 + rep / 10) })));
}

const costsOf = (records: SampleRecord[]) => costSeries(groupSamples(records, { defaultHost: 'h' }), DEFAULT_THRESHOLDS);

describe('regionRole', () => {
  it('counts the NIC, the interrupt controller and virtqueue kicks; leaves out device-made accesses, notifications and timers', () => {
    for (const r of ['e1000-mmio', 'e1000-io', 'apic-msi', 'msix-table', 'virtio_queue_notify', 'virtio-pci-isr-virtio-net', 'virtio-pci-common-virtio-net', 'ioapic']) expect(regionRole(r), r).toEqual({ counted: true });
    for (const r of ['apic-msi (from device)', 'virtio_notify', 'virtio_notify_irqfd', 'hpet', 'rtc-index', 'pit', 'serial', 'fwcfg.dma']) expect(regionRole(r).counted, r).toBe(false);
    expect(regionRole('hpet')).toEqual({ counted: false, why: expect.stringMatching(/not on the network path/) });
    expect(regionRole('apic-msi (from device)')).toEqual({ counted: false, why: expect.stringMatching(/not a guest access/) });
  });
});

describe('costSeries', () => {
  it('sums the counted regions of each guest per repetition, and both guests for the path', () => {
    const costs = costsOf(
      reps([
        { dims: { guest: 'a', region: 'e1000-mmio' }, value: 100 },
        { dims: { guest: 'a', region: 'apic-msi' }, value: 20 },
        { dims: { guest: 'a', region: 'hpet' }, value: 7 },
        { dims: { guest: 'a', region: 'apic-msi (from device)' }, value: 9 },
        { dims: { guest: 'b', region: 'e1000-mmio' }, value: 50 },
      ]),
    );
    const a = costs.find((c) => c.guest === 'a')!;
    expect(a.points.map((p) => p.value)).toEqual([120, 132, 144]);
    expect(a.parts).toEqual(['e1000-mmio', 'apic-msi']);
    expect(a.leftOut.map((l) => l.part)).toEqual(['hpet', 'apic-msi (from device)']);
    expect(a).toMatchObject({ count: 'device-accesses', basis: 'per-gb', over: 'region', what: 'device accesses (software emulation)', method: 'TCG trace' });
    expect(costLabel(a)).toBe('device accesses (software emulation) per GB, guest a');
    const both = costs.find((c) => c.guest === undefined)!;
    expect(both.points.map((p) => p.value)).toEqual([170, 187, 204]);
    expect(both.dims).toEqual({});
    expect(costLabel(both)).toBe('device accesses (software emulation) per GB, both guests');
    // A region missing from one repetition counted 0 there.
    const gap = costsOf([...reps([{ dims: { guest: 'a', region: 'e1000-mmio' }, value: 10 }]), rec({ rep: 1, dims: { guest: 'a', region: 'apic-msi' }, value: 5 })]);
    expect(gap.find((c) => c.guest === 'a')!.points.map((p) => p.value)).toEqual([10, 16, 12]);
  });

  it('keeps workload variants apart and uses a total when the collector reported one', () => {
    const costs = costsOf(
      reps([
        { scenario: 'udp-small', metric: 'deviceAccessesPerPacket', unit: 'count/pkt', dims: { guest: 'a', payloadBytes: 64, region: 'e1000-mmio' }, value: 2 },
        { scenario: 'udp-small', metric: 'deviceAccessesPerPacket', unit: 'count/pkt', dims: { guest: 'a', payloadBytes: 1400, region: 'e1000-mmio' }, value: 3 },
        { dims: { guest: 'a' }, value: 500 },
        { dims: { guest: 'a', region: 'e1000-mmio' }, value: 480 },
      ]),
    );
    const udp = costs.filter((c) => c.scenario === 'udp-small' && c.guest === 'a');
    expect(udp.map((c) => [variantLabel(c.variant), c.summary.median])).toEqual([
      ['64 B', 2.2],
      ['1400 B', 3.3000000000000003],
    ]);
    const total = costs.find((c) => c.scenario === 'tcp-stream' && c.guest === 'a')!;
    expect(total).toMatchObject({ over: 'total', parts: ['total'] });
    expect(total.summary.median).toBeCloseTo(550, 9);
  });

  it('chooses one exit source per guest: reasons, then kvm_exit, then the exits statistic, then the I/O exits', () => {
    const exits = (samples: Partial<SampleRecord>[]) => costsOf(reps(samples.map((s) => ({ metric: 'exitsPerGB', source: 'perf', ...s })))).find((c) => c.guest === 'a')!;
    const reasons = exits([
      { dims: { guest: 'a', reason: 'HLT' }, value: 10 },
      { dims: { guest: 'a', reason: 'EPT_MISCONFIG' }, value: 30 },
      { dims: { guest: 'a', event: 'kvm:kvm_exit' }, value: 45 },
    ]);
    expect(reasons).toMatchObject({ what: 'VM exits', over: 'reason', method: 'perf, kvm_exit by exit reason' });
    expect(reasons.summary.n).toBe(3);
    expect(reasons.points[0]!.value).toBe(40);
    const kvmExit = exits([
      { dims: { guest: 'a', event: 'kvm:kvm_exit' }, value: 45 },
      { dims: { guest: 'a', event: 'kvm:kvm_pio' }, value: 5 },
    ]);
    expect(kvmExit).toMatchObject({ parts: ['kvm:kvm_exit'], method: 'perf kvm:kvm_exit' });
    expect(kvmExit.points[0]!.value).toBe(45);
    const stat = exits([
      { source: 'qmp', dims: { guest: 'a', vcpu: 0, stat: 'exits' }, value: 12 },
      { source: 'qmp', dims: { guest: 'a', vcpu: 1, stat: 'exits' }, value: 8 },
      { source: 'qmp', dims: { guest: 'a', vcpu: 0, stat: 'io_exits' }, value: 3 },
    ]);
    expect(stat).toMatchObject({ over: 'stat', method: 'QMP query-stats exits statistic, summed over vCPUs' });
    expect(stat.points[0]!.value).toBe(20);
    // A PVM host: kvm_exit never fires, so the non-overlapping I/O exit events are summed.
    const io = exits([
      { dims: { guest: 'a', event: 'kvm:kvm_pio' }, value: 5 },
      { dims: { guest: 'a', event: 'kvm:kvm_mmio' }, value: 7 },
      { dims: { guest: 'a', event: 'kvm:kvm_userspace_exit' }, value: 11 },
    ]);
    expect(io).toMatchObject({ what: 'I/O exits', method: 'perf kvm_pio + kvm_mmio' });
    expect(io.points[0]!.value).toBe(12);
    expect(io.leftOut.map((l) => l.part)).toEqual(['kvm:kvm_userspace_exit']);
  });

  it('sums host CPU over every role and kind of the path', () => {
    const costs = costsOf(
      reps([
        { metric: 'hostCpuPerGbps', unit: 'cpu-s/(Gbit/s)', source: 'proc', dims: { role: 'qemu a', kind: 'vcpu' }, value: 1 },
        { metric: 'hostCpuPerGbps', unit: 'cpu-s/(Gbit/s)', source: 'proc', dims: { role: 'qemu a', kind: 'io' }, value: 0.5 },
        { metric: 'hostCpuPerGbps', unit: 'cpu-s/(Gbit/s)', source: 'proc', dims: { role: 'testpmd', kind: 'lcore' }, value: 2 },
      ]),
    );
    expect(costs).toHaveLength(1);
    expect(costs[0]).toMatchObject({ count: 'host-cpu', basis: 'per-gbps', over: 'role', parts: ['qemu a', 'testpmd'], method: '/proc' });
    expect(costs[0]!.guest).toBeUndefined();
    expect(costs[0]!.points[0]!.value).toBe(3.5);
  });
});

describe('packetSizes and the idle window', () => {
  it('reads what a packet was from the guests\' NIC counters', () => {
    const sizes = packetSizes(
      groupSamples(
        reps([
          { metric: 'nicPackets', unit: 'count', dims: { guest: 'a', direction: 'rx' }, value: 1000 },
          { metric: 'nicBytes', unit: 'bytes', dims: { guest: 'a', direction: 'rx' }, value: 64_000_000 },
          { metric: 'nicPackets', unit: 'count', dims: { guest: 'b', direction: 'tx' }, value: 1000 },
          { metric: 'nicBytes', unit: 'bytes', dims: { guest: 'b', direction: 'tx' }, value: 64_000_000 },
        ]),
        { defaultHost: 'h' },
      ),
    );
    expect(sizes).toEqual([{ host: 'h', backend: 'e1000', scenario: 'tcp-stream', variant: {}, bytesPerPacket: 64_000 }]);
    expect(variantOf({ guest: 'a', payloadBytes: 64, region: 'x' })).toEqual({ payloadBytes: 64 });
  });

  it('takes the idle window as the runner sets it: the longest traffic window of the plan, 1 to 10 s, unless recorded', () => {
    const record = (plan: unknown, idleWindowSec?: number) => ({ profile: { plan }, backends: [{ id: 'e1000', ...(idleWindowSec ? { idleWindowSec } : {}) }] }) as unknown as RunRecord;
    const plan = { scenarios: [{ kind: 'tcp-stream', durationSec: 3, omitSec: 1 }, { kind: 'latency', durationSec: 5, omitSec: 2 }, { kind: 'udp-small', durationSec: 2, omitSec: 0 }] };
    expect(idleWindowSec(record(plan), 'e1000')).toEqual({ sec: 5, from: 'plan' });
    expect(idleWindowSec(record({ scenarios: [{ kind: 'tcp-stream', durationSec: 60, omitSec: 2 }] }), 'e1000')).toEqual({ sec: 10, from: 'plan' });
    expect(idleWindowSec(record(plan, 4.2), 'e1000')).toEqual({ sec: 4.2, from: 'recorded' });
    expect(idleWindowSec(record({}), 'e1000')).toEqual({ sec: null, from: 'unknown' });
  });
});
