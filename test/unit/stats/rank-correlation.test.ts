import { describe, expect, it } from 'vitest';
import { ranks, spearman } from '../../../harness/stats/rank-correlation.ts';

describe('Spearman rank correlation', () => {
  it('gives tied values the mean of the ranks they span', () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
  });

  it('is 1 for any increasing relation and -1 for any decreasing one, whatever its shape', () => {
    const x = [1, 2, 3, 4, 5, 6];
    expect(spearman(x, x.map((v) => Math.exp(v)))).toBeCloseTo(1, 12);
    expect(spearman(x, x.map((v) => 1 / v))).toBeCloseTo(-1, 12);
  });

  it('matches a hand-computed value with a tie', () => {
    // ranks x: 1 2 3 4 5; ranks y: 2 1 4.5 3 4.5 -> Pearson of the ranks.
    const rho = spearman([1, 2, 3, 4, 5], [2, 1, 5, 3, 5])!;
    expect(rho).toBeCloseTo(0.7182, 3);
  });

  it('has no value for a constant series or fewer than three pairs, and refuses unequal lengths', () => {
    expect(spearman([1, 2, 3], [4, 4, 4])).toBeUndefined();
    expect(spearman([1, 2], [2, 1])).toBeUndefined();
    expect(() => spearman([1, 2, 3], [1, 2])).toThrow(/3 values against 2/);
  });
});
