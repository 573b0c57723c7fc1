// Baseline subtraction and normalisation by work, with hand-computed expectations.

import { describe, expect, it } from 'vitest';
import { normalise, subtractBaseline, sumBy, workFromSamples } from '../../../harness/collectors/normalise.ts';
import type { Sample } from '../../../harness/samples.ts';

const exits = (value: number, dims: Record<string, string>, source = 'perf'): Sample => ({ metric: 'exits', value, unit: 'count', source, dims });

describe('subtractBaseline', () => {
  it('subtracts the idle count of the same series, scaled by the window lengths', () => {
    const measure = { durationSec: 10, samples: [exits(5000, { guest: 'a', event: 'kvm:kvm_pio' }), exits(80, { guest: 'b', event: 'kvm:kvm_pio' })] };
    const idle = { durationSec: 5, samples: [exits(100, { event: 'kvm:kvm_pio', guest: 'a' }), exits(50, { guest: 'b', event: 'kvm:kvm_pio' })] };
    const r = subtractBaseline(measure, idle);
    expect(r.samples.map((s) => s.value)).toEqual([5000 - 200, 0]);
    expect(r.warnings).toEqual(['exits guest=b event=kvm:kvm_pio: idle baseline (100) exceeds the measured 80; clamped to 0']);
  });

  it('clamps a small shortfall below the baseline without a warning: a timer that ticked once less is noise', () => {
    const r = subtractBaseline({ durationSec: 5, samples: [exits(24, { guest: 'a', region: 'hpet' })] }, { durationSec: 5, samples: [exits(25, { guest: 'a', region: 'hpet' })] });
    expect(r.samples[0]!.value).toBe(0);
    expect(r.warnings).toEqual([]);
  });

  it('keeps series of different sources apart and leaves unmatched series alone', () => {
    const measure = { durationSec: 5, samples: [exits(300, { guest: 'a', stat: 'exits' }, 'debugfs'), exits(900, { guest: 'a', stat: 'exits' }, 'qmp')] };
    const idle = { durationSec: 5, samples: [exits(100, { guest: 'a', stat: 'exits' }, 'qmp')] };
    expect(subtractBaseline(measure, idle).samples.map((s) => s.value)).toEqual([300, 800]);
  });

  it('without an idle window the counts pass through unchanged', () => {
    const s = [exits(7, { guest: 'a' })];
    expect(subtractBaseline({ durationSec: 5, samples: s }, undefined).samples).toEqual(s);
  });
});

describe('normalise', () => {
  const work = { bytes: 2.5e9, packets: 1_000_000, durationSec: 10 };

  it('exits and device accesses per GB and per packet, dims and source kept', () => {
    const r = normalise(
      [exits(50_000, { guest: 'a', event: 'kvm:kvm_mmio' }), { metric: 'deviceAccesses', value: 63_000, unit: 'count', source: 'tcg-trace', dims: { guest: 'b', region: 'e1000-mmio' } }],
      work,
    );
    expect(r.samples).toEqual([
      { metric: 'exitsPerGB', value: 20_000, unit: 'count/GB', source: 'perf', dims: { guest: 'a', event: 'kvm:kvm_mmio' } },
      { metric: 'exitsPerPacket', value: 0.05, unit: 'count/pkt', source: 'perf', dims: { guest: 'a', event: 'kvm:kvm_mmio' } },
      { metric: 'deviceAccessesPerGB', value: 25_200, unit: 'count/GB', source: 'tcg-trace', dims: { guest: 'b', region: 'e1000-mmio' } },
      { metric: 'deviceAccessesPerPacket', value: 0.063, unit: 'count/pkt', source: 'tcg-trace', dims: { guest: 'b', region: 'e1000-mmio' } },
    ]);
  });

  it('host CPU per Gbit/s and per Mpps does not depend on the window length', () => {
    // 4 CPU-seconds in 10 s = 0.4 cores busy; 2.5e9 bytes in 10 s = 2 Gbit/s -> 0.2 cores per Gbit/s.
    const cpu: Sample = { metric: 'hostCpu', value: 4, unit: 's', source: 'proc', dims: { role: 'qemu a', kind: 'vcpu' } };
    const r = normalise([cpu], work);
    expect(r.samples[0]).toMatchObject({ metric: 'hostCpuPerGbps', unit: 'cpu-s/(Gbit/s)', dims: { role: 'qemu a', kind: 'vcpu' } });
    expect(r.samples[0]!.value).toBeCloseTo(0.2, 12);
    // 1e6 packets in 10 s = 0.1 Mpps -> 0.4 cores / 0.1 Mpps = 4 cores per Mpps.
    expect(r.samples[1]).toMatchObject({ metric: 'hostCpuPerMpps', unit: 'cpu-s/Mpps' });
    expect(r.samples[1]!.value).toBeCloseTo(4, 12);
    const twice = normalise([{ ...cpu, value: 8 }], { bytes: 5e9, packets: 2e6, durationSec: 20 });
    expect(twice.samples.map((s) => s.value)).toEqual(r.samples.map((s) => s.value));
  });

  it('leaves per-packet figures out when packets are unknown, and says when nothing moved', () => {
    expect(normalise([exits(10, { guest: 'a' })], { bytes: 1e9, durationSec: 5 }).samples.map((s) => s.metric)).toEqual(['exitsPerGB']);
    const none = normalise([exits(10, { guest: 'a' })], { bytes: 0, durationSec: 5 });
    expect(none.samples).toEqual([]);
    expect(none.warnings).toEqual(['the window moved no bytes and no packets: nothing was normalised']);
  });

  it('gives per-packet figures without per-GB ones for request/response traffic that counted no bytes', () => {
    const r = normalise([exits(10, { guest: 'a' }), { metric: 'hostCpu', value: 0.5, unit: 's' }], { bytes: 0, packets: 1000, durationSec: 5 });
    expect(r.samples.map((s) => [s.metric, s.value])).toEqual([
      ['exitsPerPacket', 0.01],
      ['hostCpuPerMpps', 500],
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('does not normalise other metrics', () => {
    expect(normalise([{ metric: 'kvmStat', value: 3, unit: 'count' }], work).samples).toEqual([]);
  });
});

describe('workFromSamples and sumBy', () => {
  it('bytes and packets summed over streams', () => {
    const w = workFromSamples(
      [
        { metric: 'bytesReceived', value: 1e9, unit: 'bytes', dims: { stream: 1 } },
        { metric: 'bytesReceived', value: 2e9, unit: 'bytes', dims: { stream: 2 } },
        { metric: 'throughput', value: 4.8e9, unit: 'bit/s' },
      ],
      5,
    );
    expect(w).toEqual({ bytes: 3e9, durationSec: 5 });
  });

  it('totals host CPU per role', () => {
    const cpu = (role: string, kind: string, value: number): Sample => ({ metric: 'hostCpu', value, unit: 's', source: 'proc', dims: { role, kind } });
    expect(sumBy([cpu('qemu a', 'vcpu', 1), cpu('qemu a', 'io', 0.5), cpu('qemu b', 'vcpu', 2)], 'hostCpu', ['role'])).toEqual([
      { metric: 'hostCpu', value: 1.5, unit: 's', source: 'proc', dims: { role: 'qemu a' } },
      { metric: 'hostCpu', value: 2, unit: 's', source: 'proc', dims: { role: 'qemu b' } },
    ]);
  });
});
