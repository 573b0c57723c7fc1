import { describe as suite, expect, it } from 'vitest';
import { InternalError } from '../../../harness/errors.ts';
import { describe } from '../../../harness/stats/describe.ts';
import { tCdf, tQuantile, tTwoSidedP } from '../../../harness/stats/tdist.ts';

suite('Student t distribution', () => {
  it('gives the tabulated two-sided 95 % factors', () => {
    // Values from any t table (cross-checked with scipy.stats.t.ppf).
    expect(tQuantile(0.975, 1)).toBeCloseTo(12.7062047, 6);
    expect(tQuantile(0.975, 4)).toBeCloseTo(2.7764451, 6);
    expect(tQuantile(0.975, 30)).toBeCloseTo(2.0422725, 6);
    expect(tQuantile(0.975, 1000)).toBeCloseTo(1.9623391, 6);
    expect(tQuantile(0.025, 4)).toBeCloseTo(-2.7764451, 6);
  });
  it('has a cumulative distribution symmetric about 0', () => {
    expect(tCdf(0, 7)).toBeCloseTo(0.5, 12);
    expect(tCdf(2.228, 10)).toBeCloseTo(0.974994114, 7);
    expect(tCdf(-1.5, 3.7)).toBeCloseTo(0.106799085, 7);
    expect(tTwoSidedP(0, 3)).toBe(1);
  });
});

suite('describe', () => {
  it('matches a hand-computed case', () => {
    // 1..5: mean 3, median 3, s = √2.5 = 1.58114, t(0.975, 4) = 2.77645, half-width = 2.77645 · 1.58114 / √5 = 1.96324.
    const s = describe([3, 1, 5, 2, 4]);
    expect(s.n).toBe(5);
    expect(s.mean).toBe(3);
    expect(s.median).toBe(3);
    expect(s.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(s.cvPercent).toBeCloseTo((Math.sqrt(2.5) / 3) * 100, 10);
    expect(s.ci!.low).toBeCloseTo(3 - 1.9632432, 6);
    expect(s.ci!.high).toBeCloseTo(3 + 1.9632432, 6);
    expect(s.ci!.level).toBe(0.95);
    expect(s.ci!.method).toMatch(/Student t/);
    expect([s.min, s.max]).toEqual([1, 5]);
  });
  it('has no spread or interval for a single value', () => {
    const s = describe([42]);
    expect(s).toMatchObject({ n: 1, mean: 42, median: 42, min: 42, max: 42, sd: null, cvPercent: null, ci: null });
  });
  it('collapses the interval for identical values', () => {
    const s = describe([7, 7, 7, 7]);
    expect(s.sd).toBe(0);
    expect(s.cvPercent).toBe(0);
    expect(s.ci).toMatchObject({ low: 7, high: 7 });
  });
  it('takes the median of an even count as the mean of the middle two', () => {
    expect(describe([1, 2, 3, 10]).median).toBe(2.5);
  });
  it('has no CV for a zero mean', () => {
    expect(describe([-1, 1]).cvPercent).toBeNull();
  });
  it('refuses empty and non-finite input', () => {
    expect(() => describe([])).toThrow(InternalError);
    expect(() => describe([1, Number.NaN])).toThrow(/non-finite/);
  });
});
