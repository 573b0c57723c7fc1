// Drift over a run: does a series rise or fall with the repetition index? Mann–Kendall test with
// the Theil–Sen slope as the size of the trend.

import { median } from 'simple-statistics';
import { normalCdf } from './tdist.ts';

export interface DriftResult {
  n: number;
  /** Mann–Kendall S = Σ_{i<j} sign(x_j − x_i). */
  s: number;
  /** Kendall's tau-a, S / (n(n−1)/2). */
  tau: number;
  /** Two-sided p-value. */
  p: number;
  /** `exact` (no ties, n ≤ 40) or `normal` (with tie correction and continuity correction). */
  method: 'exact' | 'normal';
  /** Theil–Sen slope: median of (x_j − x_i)/(j − i), in the series' unit per repetition. */
  slopePerRep: number;
}

/** Fewer repetitions than this cannot show a trend at 5 % (the smallest exact p for n = 4 is 0.083). */
export const DRIFT_MIN_N = 5;

/**
 * Mann–Kendall trend test (Mann 1945; Kendall, *Rank Correlation Methods*, 1975) on values in the
 * order they were measured. Without ties and for n ≤ 40 the p-value is exact: S = N − 2·I where I is
 * the number of inversions, whose null distribution is given by the Mahonian numbers. Otherwise the
 * normal approximation with the tie-corrected variance and a continuity correction is used.
 * The slope is the Theil–Sen estimator (Sen 1968). Returns null below {@link DRIFT_MIN_N} values.
 */
export function mannKendall(values: readonly number[]): DriftResult | null {
  const xs = [...values];
  const n = xs.length;
  if (n < DRIFT_MIN_N) return null;
  let s = 0;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      s += Math.sign(xs[j]! - xs[i]!);
      slopes.push((xs[j]! - xs[i]!) / (j - i));
    }
  }
  const pairs = (n * (n - 1)) / 2;
  const ties = tieGroups(xs);
  const slopePerRep = median(slopes);
  if (ties.length === 0 && n <= 40) {
    return { n, s, tau: s / pairs, p: exactTwoSidedP(n, s), method: 'exact', slopePerRep };
  }
  const variance = (n * (n - 1) * (2 * n + 5) - ties.reduce((acc, t) => acc + t * (t - 1) * (2 * t + 5), 0)) / 18;
  if (variance <= 0) return { n, s, tau: s / pairs, p: 1, method: 'normal', slopePerRep };
  const z = s === 0 ? 0 : (s - Math.sign(s)) / Math.sqrt(variance);
  const p = Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
  return { n, s, tau: s / pairs, p, method: 'normal', slopePerRep };
}

/** Sizes of groups of equal values (only groups of 2 or more). */
function tieGroups(xs: number[]): number[] {
  const counts = new Map<number, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.values()].filter((c) => c > 1);
}

/** P(|S| ≥ |s|) under H0 from the distribution of inversions of a random permutation of n. */
function exactTwoSidedP(n: number, s: number): number {
  // dist[k] = P(I = k), built one element at a time: P_m(k) = (1/m) Σ_{j<m} P_{m−1}(k − j).
  let dist = [1];
  for (let m = 2; m <= n; m++) {
    const next = new Array<number>(dist.length + m - 1).fill(0);
    for (let k = 0; k < dist.length; k++) for (let j = 0; j < m; j++) next[k + j]! += dist[k]! / m;
    dist = next;
  }
  const pairs = (n * (n - 1)) / 2;
  let p = 0;
  for (let inv = 0; inv < dist.length; inv++) {
    if (Math.abs(pairs - 2 * inv) >= Math.abs(s) - 1e-9) p += dist[inv]!;
  }
  return Math.min(1, p);
}
