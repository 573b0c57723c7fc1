import { describe, expect, it } from 'vitest';
import { mannKendall } from '../../../harness/stats/drift.ts';
import { findOutliers } from '../../../harness/stats/outliers.ts';

describe('findOutliers (modified z-score)', () => {
  it('flags a far value by median/MAD', () => {
    // median 10.025; |deviations| sorted .025 .025 .075 .075 .125 4.975 -> MAD .075;
    // M(15) = 0.6745 · 4.975 / 0.075 = 44.74, M(9.9) = −1.124.
    const r = findOutliers([10, 10.1, 9.9, 10.05, 9.95, 15]);
    expect(r.scale).toBe('mad');
    expect(r.indices).toEqual([5]);
    expect(r.scores[5]).toBeCloseTo(44.742, 3);
    expect(r.scores[2]).toBeCloseTo(-1.1242, 3);
    expect(r.threshold).toBe(3.5);
  });
  it('falls back to the mean absolute deviation when MAD is 0', () => {
    // median 5, MAD 0, MeanAD = 4/5 = 0.8, M(9) = 4 / (1.253314 · 0.8) = 3.989 > 3.5.
    const r = findOutliers([5, 5, 5, 5, 9]);
    expect(r.scale).toBe('mean-absolute-deviation');
    expect(r.indices).toEqual([4]);
    expect(r.scores[4]).toBeCloseTo(3.9894, 3);
  });
  it('finds nothing in identical samples, a single value or two values', () => {
    expect(findOutliers([3, 3, 3, 3])).toMatchObject({ indices: [], scale: 'none' });
    expect(findOutliers([3]).indices).toEqual([]);
    expect(findOutliers([1, 100]).indices).toEqual([]);
  });
});

describe('mannKendall (drift)', () => {
  it('gives the exact p-value for a monotonic run of 5', () => {
    // S = 10; only the identity and the reversal reach |S| = 10: p = 2/120.
    const r = mannKendall([1, 2, 3, 4, 5])!;
    expect(r).toMatchObject({ n: 5, s: 10, tau: 1, method: 'exact', slopePerRep: 1 });
    expect(r.p).toBeCloseTo(2 / 120, 12);
  });
  it('gives the exact p-value of a mixed order', () => {
    // [3,1,4,2,5]: 7 concordant, 3 discordant, S = 4; Mahonian n=5: 1 4 9 15 20 22 20 15 9 4 1;
    // |S| >= 4 <=> inversions <= 3 or >= 7: (1+4+9+15) · 2 = 58 of 120.
    const r = mannKendall([3, 1, 4, 2, 5])!;
    expect(r.s).toBe(4);
    expect(r.p).toBeCloseTo(58 / 120, 12);
  });
  it('uses the tie-corrected normal approximation with ties', () => {
    // S = 14; Var = (6·5·17 − 2·1·9)/18 = 27.333; z = 13/√27.333 = 2.4865; p = 0.012899.
    const r = mannKendall([1, 1, 2, 3, 4, 5])!;
    expect(r.method).toBe('normal');
    expect(r.s).toBe(14);
    expect(r.p).toBeCloseTo(0.0128989, 5);
  });
  it('says nothing about fewer than 5 values and sees no trend in identical ones', () => {
    expect(mannKendall([1, 2, 3, 4])).toBeNull();
    expect(mannKendall([2, 2, 2, 2, 2])).toMatchObject({ s: 0, p: 1 });
  });
});
