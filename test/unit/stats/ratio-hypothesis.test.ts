import { describe, expect, it } from 'vitest';
import { binomial, permutationTest, relativeChange, welchTest } from '../../../harness/stats/hypothesis.ts';
import { medianRatio } from '../../../harness/stats/ratio.ts';

describe('medianRatio', () => {
  it('is the ratio of medians, with a bootstrap interval around it', () => {
    const r = medianRatio([4.1, 4.3, 4.2, 4.25, 4.15], [1.4, 1.38, 1.42, 1.41, 1.39])!;
    expect(r.value).toBeCloseTo(4.2 / 1.4, 12);
    expect(r.ci!.low).toBeLessThanOrEqual(r.value);
    expect(r.ci!.high).toBeGreaterThanOrEqual(r.value);
    expect(r.ci!.low).toBeGreaterThan(4.1 / 1.42 - 1e-9);
    expect(r.ci!.high).toBeLessThan(4.3 / 1.38 + 1e-9);
    expect(r.ci!.method).toMatch(/bootstrap/);
  });
  it('is reproducible (seeded)', () => {
    const a = [3, 5, 4, 6, 5];
    const b = [1, 2, 1.5, 1.2, 1.8];
    expect(medianRatio(a, b)).toEqual(medianRatio(a, b));
  });
  it('collapses for identical samples and has no interval for n = 1', () => {
    expect(medianRatio([2, 2, 2], [1, 1, 1])).toMatchObject({ value: 2, ci: { low: 2, high: 2 } });
    expect(medianRatio([2], [1, 1])).toEqual({ value: 2, ci: null });
  });
  it('has no ratio over a zero median', () => {
    expect(medianRatio([1, 2], [0, 0])).toBeNull();
    expect(medianRatio([], [1])).toBeNull();
  });
});

describe('permutationTest', () => {
  it('is exact for small samples', () => {
    // C(6,3) = 20 splits; only the observed split and its mirror reach |Δmean| = 3: p = 2/20.
    const r = permutationTest([1, 2, 3], [4, 5, 6]);
    expect(r.p).toBeCloseTo(0.1, 12);
    expect(r.minP).toBeCloseTo(0.1, 12);
    expect(r.method).toMatch(/exact/);
  });
  it('gives p = 1 for identical samples', () => {
    expect(permutationTest([5, 5, 5], [5, 5, 5]).p).toBe(1);
    expect(permutationTest([1, 2, 3, 4, 5], [1, 2, 3, 4, 5]).p).toBe(1);
  });
  it('reaches significance with 5 against 5 clearly separated values', () => {
    const r = permutationTest([100, 101, 99, 100.5, 99.5], [80, 81, 79, 80.5, 79.5]);
    expect(r.p).toBeCloseTo(2 / 252, 12);
  });
  it('falls back to seeded Monte Carlo when there are too many splits', () => {
    const a = Array.from({ length: 12 }, (_, i) => 10 + (i % 3));
    const b = Array.from({ length: 12 }, (_, i) => 10.2 + (i % 3));
    const r1 = permutationTest(a, b, { maxExact: 1000 });
    expect(r1.method).toMatch(/Monte Carlo/);
    expect(r1).toEqual(permutationTest(a, b, { maxExact: 1000 }));
    expect(binomial(24, 12)).toBe(2704156);
  });
});

describe('welchTest', () => {
  it('matches a hand-computed case', () => {
    // means 2.5 and 5, s²/n = 0.41667 and 1.66667: t = 2.5/√2.08333 = 1.7321, df = 4.4118, p = 0.15158.
    const r = welchTest([1, 2, 3, 4], [2, 4, 6, 8]);
    expect(r.t).toBeCloseTo(1.7320508, 6);
    expect(r.df).toBeCloseTo(4.4117647, 6);
    expect(r.p).toBeCloseTo(0.1515805, 6);
  });
  it('handles zero spread', () => {
    expect(welchTest([1, 1], [1, 1]).p).toBe(1);
    expect(welchTest([1, 1], [2, 2]).p).toBe(0);
    expect(welchTest([1], [2, 3]).p).toBe(1);
  });
});

describe('relativeChange', () => {
  it('matches a hand-computed delta-method case', () => {
    // means 100 and 80: −20 %; s² = 2.5 each; R = 0.8; vr = 2.5/(5·100²), vb = 0.64 · 2.5/(5·100²);
    // df = 7.632 (Welch–Satterthwaite), interval −22.106 % … −17.894 % (scipy cross-check).
    const r = relativeChange([100, 102, 98, 101, 99], [80, 82, 79, 81, 78])!;
    expect(r.percent).toBeCloseTo(-20, 10);
    expect(r.ci!.low).toBeCloseTo(-22.10582, 4);
    expect(r.ci!.high).toBeCloseTo(-17.89418, 4);
  });
  it('is zero with a degenerate interval for identical samples', () => {
    expect(relativeChange([3, 3, 3], [3, 3, 3])).toMatchObject({ percent: 0, ci: { low: 0, high: 0 } });
  });
  it('has no interval for n = 1 and no value over a zero baseline', () => {
    expect(relativeChange([2], [3])).toEqual({ percent: 50, ci: null });
    expect(relativeChange([0, 0], [1, 2])).toBeNull();
  });
});
