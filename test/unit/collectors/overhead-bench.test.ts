// The overhead benchmark's arithmetic and its alternation of on/off rounds, driven by a scripted
// runReps (the real one needs booted guests; see the report for measured figures).

import { describe, expect, it } from 'vitest';
import { compareThroughput, formatOverhead, measureOverhead } from '../../../harness/collectors/overhead-bench.ts';

describe('compareThroughput', () => {
  it('ratio of medians, with an interval around it, and the verdict', () => {
    const r = compareThroughput([9.6e9, 9.7e9, 9.8e9], [9.9e9, 10e9, 10.1e9]);
    expect(r.medianOn).toBe(9.7e9);
    expect(r.medianOff).toBe(10e9);
    expect(r.ratio).toBeCloseTo(0.97, 12);
    expect(r.pass).toBe(true);
    expect(r.interval[0]).toBeLessThanOrEqual(r.ratio);
    expect(r.interval[1]).toBeGreaterThanOrEqual(r.ratio);
    expect(compareThroughput([9e9], [10e9]).pass).toBe(false);
  });

  it('is reproducible (seeded bootstrap)', () => {
    const a = compareThroughput([1, 2, 3, 4], [2, 3, 4, 5]);
    const b = compareThroughput([1, 2, 3, 4], [2, 3, 4, 5]);
    expect(a.interval).toEqual(b.interval);
  });
});

describe('measureOverhead', () => {
  it('alternates the order of on and off from round to round and pairs the rounds', async () => {
    const calls: boolean[] = [];
    const r = await measureOverhead({
      rounds: 3,
      runReps: async (on) => {
        calls.push(on);
        return on ? [0.99e9, 1.01e9] : [1e9, 1e9];
      },
    });
    expect(calls).toEqual([false, true, true, false, false, true]);
    expect(r.on).toHaveLength(6);
    expect(r.ratio).toBeCloseTo(1, 12);
    expect(r.pairedRatio).toBeCloseTo(1, 12);
    expect(formatOverhead(r)).toMatch(/throughput ratio on\/off: 1\.000 .* goal >= 0\.97: met/);
  });

  it('refuses nonsense throughputs', async () => {
    await expect(measureOverhead({ rounds: 1, runReps: async () => [] })).rejects.toThrow(/expected positive throughputs/);
  });
});
