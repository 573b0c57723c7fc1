// Two-sample tests for "did this metric change between a baseline and a new run", and the relative
// change with its interval.

import { mean, sampleVariance } from 'simple-statistics';
import type { ConfidenceInterval } from './describe.ts';
import { seededRandom } from './resample.ts';
import { tQuantile, tTwoSidedP } from './tdist.ts';

export interface TestResult {
  /** Two-sided p-value. */
  p: number;
  /** The smallest p-value this test can give with these sample sizes (power floor). */
  minP: number;
  method: string;
}

/**
 * Two-sided permutation test of the difference of means (Fisher 1935; Good, *Permutation Tests*,
 * 2000), the test Firecracker's `ab_test.py` uses. Every split of the pooled values into groups of the
 * original sizes is enumerated when there are at most `maxExact` of them (exact p); otherwise
 * `resamples` random splits from a seeded generator give p = (k + 1) / (R + 1) (Phipson & Smyth 2010).
 */
export function permutationTest(
  a: readonly number[],
  b: readonly number[],
  options: { maxExact?: number; resamples?: number; seed?: number } = {},
): TestResult {
  const { maxExact = 50_000, resamples = 10_000, seed = 0x5eed } = options;
  const na = a.length;
  const nb = b.length;
  if (na === 0 || nb === 0) return { p: 1, minP: 1, method: 'permutation test (no data)' };
  const pooled = [...a, ...b];
  const total = pooled.reduce((s, x) => s + x, 0);
  const n = na + nb;
  const statOf = (sumA: number) => Math.abs((total - sumA) / nb - sumA / na);
  const observed = statOf(a.reduce((s, x) => s + x, 0));
  const tolerance = 1e-9 * Math.max(1, Math.abs(observed));
  const splits = binomial(n, na);
  if (splits <= maxExact) {
    let extreme = 0;
    forEachSubsetSum(pooled, na, (sumA) => {
      if (statOf(sumA) >= observed - tolerance) extreme++;
    });
    return { p: extreme / splits, minP: (na === nb ? 2 : 1) / splits, method: `exact permutation test of the difference of means (${splits} splits)` };
  }
  const random = seededRandom(seed);
  const idx = pooled.map((_, i) => i);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    // Partial Fisher–Yates: the first na positions become group A.
    let sumA = 0;
    for (let i = 0; i < na; i++) {
      const j = i + Math.floor(random() * (n - i));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      sumA += pooled[idx[i]!]!;
    }
    if (statOf(sumA) >= observed - tolerance) extreme++;
  }
  return {
    p: (extreme + 1) / (resamples + 1),
    minP: 1 / (resamples + 1),
    method: `Monte Carlo permutation test of the difference of means (${resamples} seeded resamples)`,
  };
}

/**
 * Welch's unequal-variance t-test (Welch 1947) with Welch–Satterthwaite degrees of freedom.
 * Needs two values on each side; with no spread on either side, p is 1 for equal means and 0 otherwise.
 */
export function welchTest(a: readonly number[], b: readonly number[]): TestResult & { t: number; df: number } {
  if (a.length < 2 || b.length < 2) return { p: 1, minP: 1, t: 0, df: 0, method: "Welch's t-test (needs 2 values per run)" };
  const ua = sampleVariance([...a]) / a.length;
  const ub = sampleVariance([...b]) / b.length;
  const diff = mean([...b]) - mean([...a]);
  if (ua + ub === 0) return { p: diff === 0 ? 1 : 0, minP: 0, t: diff === 0 ? 0 : Infinity, df: a.length + b.length - 2, method: "Welch's t-test" };
  const t = diff / Math.sqrt(ua + ub);
  const df = (ua + ub) ** 2 / (ua ** 2 / (a.length - 1) + ub ** 2 / (b.length - 1));
  return { p: tTwoSidedP(t, df), minP: 0, t, df, method: "Welch's t-test" };
}

export const CHANGE_METHOD = 'delta method on the ratio of means, t interval with Welch–Satterthwaite df';

/**
 * Relative change of the mean, (mean(run) / mean(baseline) − 1) · 100, with an interval from the
 * delta method (first-order Taylor expansion of R = m_r/m_b: Var(R) ≈ R² (s_r²/(n_r m_r²) + s_b²/(n_b m_b²));
 * e.g. Casella & Berger, *Statistical Inference*, §5.5.4) and a t quantile whose degrees of freedom
 * come from the Welch–Satterthwaite formula over the two variance terms. Null interval when either side has fewer than 2 values; null result for a zero baseline mean.
 */
export function relativeChange(
  baseline: readonly number[],
  run: readonly number[],
  level = 0.95,
): { percent: number; ci: ConfidenceInterval | null } | null {
  if (baseline.length === 0 || run.length === 0) return null;
  const mb = mean([...baseline]);
  const mr = mean([...run]);
  if (mb === 0) return null;
  const r = mr / mb;
  const percent = (r - 1) * 100;
  if (baseline.length < 2 || run.length < 2) return { percent, ci: null };
  // Both terms are already multiplied by R², so a zero run mean needs no special case.
  const vr = sampleVariance([...run]) / (run.length * mb * mb);
  const vb = (r * r * sampleVariance([...baseline])) / (baseline.length * mb * mb);
  const se = Math.sqrt(vr + vb);
  const df = vr + vb === 0 ? baseline.length + run.length - 2 : (vr + vb) ** 2 / (vr ** 2 / (run.length - 1) + vb ** 2 / (baseline.length - 1));
  const half = tQuantile(1 - (1 - level) / 2, df) * se;
  return { percent, ci: { level, low: (r - half - 1) * 100, high: (r + half - 1) * 100, method: CHANGE_METHOD } };
}

/** C(n, k) as a float (exact for the sizes used here). */
export function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/** Call fn with the sum of every k-subset of xs. */
function forEachSubsetSum(xs: readonly number[], k: number, fn: (sum: number) => void): void {
  const walk = (start: number, left: number, sum: number) => {
    if (left === 0) return fn(sum);
    for (let i = start; i <= xs.length - left; i++) walk(i + 1, left - 1, sum + xs[i]!);
  };
  walk(0, k, 0);
}
