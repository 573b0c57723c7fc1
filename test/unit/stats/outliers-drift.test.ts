import { describe, expect, it } from 'vitest';
import { mannKendall } from '../../../harness/stats/drift.ts';
import { findOutliers } from '../../../harness/stats/outliers.ts';
import { seededRandom } from '../../../harness/stats/resample.ts';
import { tQuantile } from '../../../harness/stats/tdist.ts';

describe('findOutliers (leave-one-out t, n-aware)', () => {
  const normal = (random: () => number) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  /** The old rule, for contrast: |0.6745·(x − median)/MAD| > 3.5. */
  const madFlags = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const med = (sorted[(xs.length - 1) >> 1]! + sorted[xs.length >> 1]!) / 2;
    const dev = xs.map((x) => Math.abs(x - med)).sort((a, b) => a - b);
    const mad = (dev[(xs.length - 1) >> 1]! + dev[xs.length >> 1]!) / 2;
    return xs.some((x) => mad > 0 && Math.abs((0.6745 * (x - med)) / mad) > 3.5);
  };

  it('flags a far value, scored against the mean and spread of the others', () => {
    // 15 against 10, 10.1, 9.9, 10.05, 9.95: mean 10, sd √(0.025/4) = 0.0790569,
    // t = 5 / (0.0790569 · √1.2) = 57.735; the limit at n = 6 is t(4) at 1 − 0.01/12.
    const r = findOutliers([10, 10.1, 9.9, 10.05, 9.95, 15]);
    expect(r.indices).toEqual([5]);
    expect(r.scores[5]).toBeCloseTo(57.735, 2);
    expect(r.threshold).toBeCloseTo(tQuantile(1 - 0.01 / 12, 4), 9);
    expect(r.threshold).toBeGreaterThan(7);
  });
  it('still catches a true outlier at n = 5', () => {
    // 120 against 100, 101, 99, 100.5: t = 19.875 / (0.8539 · √1.25) = 20.8, limit 10.2.
    const r = findOutliers([100, 101, 99, 100.5, 120]);
    expect(r.indices).toEqual([4]);
    expect(r.threshold).toBeCloseTo(10.21, 1);
  });
  it('does not flag ordinary spread that the MAD z-score called two outliers', () => {
    // MAD of five values is 0.05 here, so ±0.6 scores 8.1 under the old rule; against the others' spread it is t = 2.2.
    const xs = [10, 10.05, 9.95, 10.6, 9.4];
    expect(madFlags(xs)).toBe(true);
    expect(findOutliers(xs).indices).toEqual([]);
  });
  it('flags by chance in about 1 % of normal series at small n, where the MAD rule flags one in five', () => {
    const random = seededRandom(42);
    for (const n of [5, 8]) {
      let flagged = 0;
      let mad = 0;
      const trials = 4000;
      for (let k = 0; k < trials; k++) {
        const xs = Array.from({ length: n }, () => 100 + normal(random));
        if (findOutliers(xs, { minRelativeDeviation: 0 }).indices.length) flagged++;
        if (madFlags(xs)) mad++;
      }
      expect(flagged / trials).toBeLessThan(0.016);
      expect(mad / trials).toBeGreaterThan(0.1);
    }
  });
  it('catches most values shifted by 12 standard deviations at n = 5', () => {
    const random = seededRandom(7);
    let caught = 0;
    for (let k = 0; k < 2000; k++) {
      const xs = Array.from({ length: 5 }, () => 100 + normal(random));
      xs[0]! += 12;
      if (findOutliers(xs).indices.includes(0)) caught++;
    }
    expect(caught / 2000).toBeGreaterThan(0.5);
  });
  it('flags nothing below 5 values, nor a 2 % wobble of a tight series', () => {
    expect(findOutliers([10, 10, 10, 30])).toMatchObject({ indices: [], threshold: null });
    expect(findOutliers([1, 100]).indices).toEqual([]);
    expect(findOutliers([100, 100.1, 99.9, 100.05, 102]).scores[4]).toBeGreaterThan(20);
    expect(findOutliers([100, 100.1, 99.9, 100.05, 102]).indices).toEqual([]);
  });
  it('decides by the floors alone when the others are all equal', () => {
    const r = findOutliers([5, 5, 5, 5, 9]);
    expect(r.indices).toEqual([4]);
    expect(r.scores[4]).toBeNull();
    expect(findOutliers([100, 100, 100, 100, 101]).indices).toEqual([]);
    expect(findOutliers([3, 3, 3, 3, 3])).toMatchObject({ indices: [], scores: [0, 0, 0, 0, 0] });
    // Packet loss near 0: 0.3 points is not an outlier, 5 points is.
    expect(findOutliers([0, 0, 0, 0, 0.3], { minAbsoluteDeviation: 1 }).indices).toEqual([]);
    expect(findOutliers([0, 0, 0, 0, 5], { minAbsoluteDeviation: 1 }).indices).toEqual([4]);
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
