// The statistics follow the order a run ran its repetitions in (run.json `schedule`): points in that
// order, and a drift along interleaved rounds said as such, with advice that fits rounds.

import { describe, expect, it } from 'vitest';
import type { SampleRecord } from '../../../harness/samples.ts';
import { analyseSeries, groupSamples, repKey } from '../../../harness/stats/series.ts';

function rec(rep: number, value: number): SampleRecord {
  return { run: 'r1', backend: 'e1000', scenario: 'tcp-stream', rep, warmup: false, metric: 'throughput', unit: 'bit/s', value, time: '2025-01-01T00:00:00Z', source: 'iperf3' };
}

describe('series in run order', () => {
  const records = [0, 1, 2, 3, 4].map((rep) => rec(rep, 100 - rep * 5));

  it('sorts the points by the position the run gives each repetition', () => {
    // A run that ran repetition 4 first and 0 last.
    const position = new Map([0, 1, 2, 3, 4].map((rep) => [repKey('h', 'e1000', 'tcp-stream', rep), 4 - rep]));
    const [g] = groupSamples(records, { defaultHost: 'h', order: { rounds: () => false, position } });
    expect(g!.points.map((p) => p.rep)).toEqual([4, 3, 2, 1, 0]);
    expect(g!.orderedBy).toBe('repetition');
    expect(analyseSeries(g!)!.drift!.slopePerRep).toBeGreaterThan(0);
  });

  it('judges drift along the rounds when the run was in rounds, and says that the paths shared it', () => {
    const position = new Map([0, 1, 2, 3, 4].map((rep) => [repKey('h', 'e1000', 'tcp-stream', rep), rep * 3]));
    const [g] = groupSamples(records, { defaultHost: 'h', order: { rounds: () => true, position } });
    expect(g!.orderedBy).toBe('round');
    const w = analyseSeries(g!)!.warnings.find((x) => x.code === 'drift')!;
    expect(w.message).toMatch(/^drifts downward over the rounds: .* per round \(-5\.\d % of the median per round\)$/);
    expect(w.advice).toMatch(/interleaved rounds.*every path alike/);
  });

  it('without an order (older runs): repetition order, as before', () => {
    const [g] = groupSamples(records, { defaultHost: 'h' });
    expect(g!.orderedBy).toBeUndefined();
    expect(analyseSeries(g!)!.warnings.find((x) => x.code === 'drift')!.message).toMatch(/over the run: .* per repetition/);
  });
});
