import { describe, expect, it } from 'vitest';
import type { MetricName } from '../../../harness/metrics.ts';
import type { SampleRecord } from '../../../harness/samples.ts';
import { analyseSeries, groupSamples, isHeadline, mergedQualityWarnings, repKey, repetitionWarnings, sumSeries } from '../../../harness/stats/series.ts';

function rec(over: Partial<SampleRecord>): SampleRecord {
  return { run: 'r1', backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false, metric: 'throughput', unit: 'bit/s', value: 1, time: '2025-01-01T00:00:00Z', source: 'iperf3', ...over };
}

describe('groupSamples', () => {
  it('excludes warm-up and failed repetitions and counts them', () => {
    const records = [
      rec({ rep: 0, warmup: true, value: 50 }),
      rec({ rep: 0, value: 10 }),
      rec({ rep: 2, value: 12 }),
      rec({ rep: 1, value: 11 }),
      rec({ rep: 3, value: 999 }),
      rec({ backend: 'virtio-net', rep: 0, value: 30 }),
    ];
    const groups = groupSamples(records, { defaultHost: 'h', failedReps: new Set([repKey('h', 'e1000', 'tcp-stream', 3)]) });
    expect(groups).toHaveLength(2);
    const e = groups.find((g) => g.backend === 'e1000')!;
    expect(e.points.map((p) => p.value)).toEqual([10, 11, 12]);
    expect(e.excluded).toEqual({ warmup: 1, failedRep: 1 });
    expect(e.host).toBe('h');
    expect(e.sources).toEqual(['iperf3']);
  });
  it('keeps dimensions and hosts apart', () => {
    const groups = groupSamples(
      [rec({ metric: 'exits', unit: 'count', dims: { guest: 'a' } }), rec({ metric: 'exits', unit: 'count', dims: { guest: 'b' } }), rec({ metric: 'exits', unit: 'count', dims: { guest: 'a' }, host: 'other' })],
      { defaultHost: 'h' },
    );
    expect(groups.map((g) => g.key).sort()).toEqual(['h|e1000|tcp-stream|exits|guest=a', 'h|e1000|tcp-stream|exits|guest=b', 'other|e1000|tcp-stream|exits|guest=a']);
  });
});

describe('analyseSeries warnings', () => {
  const base = { key: 'k', host: 'h', backend: 'e1000', scenario: 'tcp-stream', metric: 'throughput' as MetricName, dims: {}, unit: 'bit/s' as const, sources: [], excluded: { warmup: 0, failedRep: 0 } };
  const pts = (vs: number[]) => vs.map((value, rep) => ({ rep, value, time: '' }));

  it('warns about noise, outliers and drift in words', () => {
    const noisy = analyseSeries({ ...base, points: pts([100, 70, 130, 90, 110]) })!;
    expect(noisy.warnings.map((w) => w.code)).toContain('high-cv');
    const outlier = analyseSeries({ ...base, points: pts([10, 10.1, 9.9, 10.05, 9.95, 15]) })!;
    expect(outlier.outliers).toEqual([{ rep: 5, value: 15, score: expect.closeTo(57.735, 2) }]);
    expect(outlier.warnings.find((w) => w.code === 'outlier')!.message).toMatch(/repetition 5 is an outlier: 49\.6 % above the median, t = 57\.7 against the other 5 repetitions, beyond 7\.\d \(the limit at n = 6\)/);
    const drifting = analyseSeries({ ...base, points: pts([100, 99, 98, 97, 96, 95]) })!;
    const drift = drifting.warnings.find((w) => w.code === 'drift')!;
    expect(drift.message).toMatch(/drifts downward/);
    expect(drift.advice).toBeTruthy();
  });
  it('is quiet for steady identical samples and for neutral metrics', () => {
    expect(analyseSeries({ ...base, points: pts([5, 5, 5, 5, 5]) })!.warnings).toEqual([]);
    expect(analyseSeries({ ...base, metric: 'bytesReceived', points: pts([1, 50, 2, 3, 4]) })!.warnings).toEqual([]);
  });
  it('returns null when nothing is left and describes n = 1', () => {
    expect(analyseSeries({ ...base, points: [] })).toBeNull();
    const one = analyseSeries({ ...base, points: pts([3]) })!;
    expect(one.summary.ci).toBeNull();
    expect(repetitionWarnings([one]).map((w) => w.code)).toEqual(['no-ci']);
    const three = analyseSeries({ ...base, points: pts([3, 3.1, 2.9]) })!;
    expect(repetitionWarnings([three])[0]!.message).toMatch(/only 3 measured repetitions/);
  });
});

describe('headline series and their findings', () => {
  const base = { key: 'k', host: 'h', backend: 'e1000', scenario: 'udp-small', dims: {}, unit: 'count/pkt' as const, sources: ['tcg-trace'], excluded: { warmup: 0, failedRep: 0 } };
  const pts = (vs: number[]) => vs.map((value, rep) => ({ rep, value, time: '' }));

  it('are the workload figures of a variant, never a slice of a breakdown', () => {
    expect(isHeadline({ metric: 'packetRate', dims: { payloadBytes: 64 } })).toBe(true);
    expect(isHeadline({ metric: 'latencyP99', dims: {} })).toBe(true);
    expect(isHeadline({ metric: 'deviceAccessesPerPacket', dims: { guest: 'a', region: 'e1000-mmio' } })).toBe(false);
    expect(isHeadline({ metric: 'hostCpu', dims: { role: 'qemu a', kind: 'vcpu' } })).toBe(false);
    expect(isHeadline({ metric: 'latencyMean', dims: {} })).toBe(false);
    expect(isHeadline({ metric: 'throughput', dims: { port: '0' } })).toBe(false);
  });

  it('give no quality warnings for a noisy slice of a breakdown, unless asked', () => {
    const noisy = { ...base, metric: 'deviceAccessesPerPacket' as MetricName, dims: { guest: 'a', region: 'apic-msi' }, points: pts([1, 2, 1, 2, 1]) };
    expect(analyseSeries(noisy)!.warnings).toEqual([]);
    expect(analyseSeries(noisy, undefined, true)!.warnings.map((w) => w.code)).toEqual(['high-cv']);
  });

  it('sums parts per repetition, a missing part counting 0', () => {
    const a = { ...base, metric: 'deviceAccessesPerPacket' as MetricName, dims: { region: 'x' }, points: pts([1, 2, 3]) };
    const b = { ...base, metric: 'deviceAccessesPerPacket' as MetricName, dims: { region: 'y' }, points: [{ rep: 1, value: 10, time: 't' }] };
    const sum = sumSeries([a, b], { host: 'h', backend: 'e1000', scenario: 'udp-small', metric: 'deviceAccessesPerPacket', dims: { guest: 'a' } })!;
    expect(sum.points.map((p) => p.value)).toEqual([1, 12, 3]);
    expect(sum.key).toBe('h|e1000|udp-small|deviceAccessesPerPacket|guest=a');
    expect(sumSeries([], { host: 'h', backend: 'e1000', scenario: 's', metric: 'exits', dims: {} })).toBeNull();
  });

  it('merge the noise findings of one path and scenario into one warning naming each figure', () => {
    const s1 = analyseSeries({ ...base, metric: 'packetRate', unit: 'count/pkt', dims: { payloadBytes: 64 }, points: pts([100, 70, 130, 90, 110]) })!;
    const s2 = analyseSeries({ ...base, metric: 'lossPercent', dims: { payloadBytes: 64 }, points: pts([1, 3, 2, 1, 3]) })!;
    const other = analyseSeries({ ...base, backend: 'virtio-net', metric: 'packetRate', dims: {}, points: pts([100, 60, 140, 100, 100]) })!;
    const merged = mergedQualityWarnings([s1, s2, other]);
    expect(merged.filter((w) => w.code === 'high-cv')).toHaveLength(2);
    const e1000 = merged.find((w) => w.subject.backend === 'e1000')!;
    expect(e1000.subject).toEqual({ host: 'h', backend: 'e1000', scenario: 'udp-small' });
    expect(e1000.message).toMatch(/^noisy: coefficient of variation above 10 % \(n = 5\) for delivered packet rate \(payloadBytes=64\) \d+\.\d %; packet loss \(payloadBytes=64\) \d+\.\d %$/);
    const grouped = mergedQualityWarnings([s1, s2], undefined, (s) => ({ name: 'figure', item: s.metric }));
    expect(grouped[0]!.message).toMatch(/for figure \(packetRate \d+\.\d %, lossPercent \d+\.\d %\)$/);
  });

  it('merge the outliers of one path and scenario by repetition, naming each figure', () => {
    const udp = { ...base, scenario: 'udp-small', dims: { payloadBytes: 64 } };
    const loss = analyseSeries({ ...udp, metric: 'lossPercent', unit: '%', points: pts([20, 21, 19, 20.5, 60, 20]) })!;
    const rate = analyseSeries({ ...udp, metric: 'packetRate', unit: 'pkt/s', points: pts([100, 101, 99, 100.5, 50, 100]) })!;
    expect([loss, rate].map((s) => s.outliers.map((o) => o.rep))).toEqual([[4], [4]]);
    const one = mergedQualityWarnings([loss, rate]).filter((w) => w.code === 'outlier');
    expect(one.map((w) => w.message)).toEqual(['repetition 4 is an outlier (off the median of n = 6) in packet loss (payloadBytes=64) +196 %; delivered packet rate (payloadBytes=64) −50 %']);
    expect(one[0]!.subject).toEqual({ host: 'h', backend: 'e1000', scenario: 'udp-small' });
    // Two repetitions off in the same figures are one finding; a third off elsewhere is another.
    const at = (s: typeof loss, reps: number[]) => ({ ...s, outliers: reps.map((rep) => ({ rep, value: s.points[rep]!.value, score: 20 })) });
    const two = mergedQualityWarnings([at(loss, [2, 4]), at(rate, [1, 2, 4])]).filter((w) => w.code === 'outlier');
    expect(two.map((w) => w.message)).toEqual([
      'repetitions 2 and 4 are outliers (n = 6) in packet loss (payloadBytes=64) and delivered packet rate (payloadBytes=64)',
      'repetition 1 is an outlier (off the median of n = 6) in delivered packet rate (payloadBytes=64) +1 %',
    ]);
  });

  it('say "too few repetitions" once for every path and scenario with the same count', () => {
    const two = (backend: string, scenario: string) => analyseSeries({ ...base, backend, scenario, metric: 'throughput', unit: 'count/pkt', points: pts([3, 3.1]) })!;
    const ws = repetitionWarnings([two('e1000', 'tcp-stream'), two('virtio-net', 'tcp-stream'), two('e1000', 'latency'), two('virtio-net', 'latency')]);
    expect(ws).toHaveLength(1);
    expect(ws[0]!.subject).toEqual({ host: 'h' });
    expect(ws[0]!.message).toBe('only 2 measured repetitions (tcp-stream, latency of e1000, virtio-net): confidence intervals are wide and drift cannot be tested');
  });
});
