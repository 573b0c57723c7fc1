import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../harness/samples.ts';
import { analyseSeries, groupSamples, repKey, repetitionWarnings } from '../../../harness/stats/series.ts';

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
  const base = { key: 'k', host: 'h', backend: 'e1000', scenario: 'tcp-stream', metric: 'throughput', dims: {}, unit: 'bit/s' as const, sources: [], excluded: { warmup: 0, failedRep: 0 } };
  const pts = (vs: number[]) => vs.map((value, rep) => ({ rep, value, time: '' }));

  it('warns about noise, outliers and drift in words', () => {
    const noisy = analyseSeries({ ...base, points: pts([100, 70, 130, 90, 110]) })!;
    expect(noisy.warnings.map((w) => w.code)).toContain('high-cv');
    const outlier = analyseSeries({ ...base, points: pts([10, 10.1, 9.9, 10.05, 9.95, 15]) })!;
    expect(outlier.outliers).toEqual([{ rep: 5, value: 15, score: expect.closeTo(44.742, 2) }]);
    expect(outlier.warnings.find((w) => w.code === 'outlier')!.message).toMatch(/repetition 5 is an outlier/);
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
