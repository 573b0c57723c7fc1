import { describe, expect, it } from 'vitest';
import { exactPercentiles, MIN_BEYOND, nearestRank } from '../../../harness/stats/percentiles.ts';

describe('nearestRank', () => {
  it('is ⌈p·n⌉ in exact arithmetic', () => {
    // 0.9 * 10 is 9.000000000000002 in floating point: a naive ceil would give rank 10.
    expect(nearestRank(90, 10)).toBe(9);
    expect(nearestRank(50, 10)).toBe(5);
    expect(nearestRank(50, 11)).toBe(6);
    expect(nearestRank(99.99, 100_000)).toBe(99_990);
    expect(nearestRank(99.9, 59_368)).toBe(59_309);
    expect(nearestRank(100, 7)).toBe(7);
    expect(nearestRank(0.001, 7)).toBe(1);
    expect(() => nearestRank(0, 7)).toThrow(RangeError);
    expect(() => nearestRank(50, 0)).toThrow(RangeError);
  });
});

describe('exactPercentiles', () => {
  it('picks measured values by rank, from an unsorted copy', () => {
    const values = [7, 3, 10, 1, 9, 2, 8, 4, 6, 5];
    const r = exactPercentiles(values, [50, 90, 99], 1)!;
    expect(r.percentiles).toEqual([
      { percent: 50, value: 5, rank: 5, beyond: 5 },
      { percent: 90, value: 9, rank: 9, beyond: 1 },
    ]);
    // p99 of ten values is the largest: nothing lies beyond it.
    expect(r.unsupported).toEqual([99]);
    expect(r).toMatchObject({ n: 10, min: 1, max: 10, mean: 5.5 });
    expect(values).toEqual([7, 3, 10, 1, 9, 2, 8, 4, 6, 5]);
  });

  it(`reports a percentile only with at least ${MIN_BEYOND} values beyond it`, () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    const r = exactPercentiles(hundred)!;
    expect(r.percentiles.map((p) => [p.percent, p.value, p.beyond])).toEqual([
      [50, 50, 50],
      [90, 90, 10],
    ]);
    expect(r.unsupported).toEqual([99, 99.9, 99.99]);
    const thousand = exactPercentiles(Array.from({ length: 1000 }, (_, i) => i + 1))!;
    expect(thousand.percentiles.map((p) => p.percent)).toEqual([50, 90, 99]);
    expect(thousand.percentiles.at(-1)).toEqual({ percent: 99, value: 990, rank: 990, beyond: 10 });
  });

  it('handles ties, one value and none', () => {
    expect(exactPercentiles([4, 4, 4, 4], [50, 90], 0)!.percentiles.map((p) => p.value)).toEqual([4, 4]);
    expect(exactPercentiles([3], [50], 0)).toMatchObject({ n: 1, percentiles: [{ value: 3, rank: 1, beyond: 0 }], max: 3 });
    expect(exactPercentiles([])).toBeNull();
  });
});
