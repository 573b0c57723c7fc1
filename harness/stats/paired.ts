// Ratios from paired measurements: A and B measured side by side in rounds (or in adjacent
// repetitions), one pair per round. The ratio is exp(mean of the pairs' log ratios) with a Student t
// interval on that mean, so drift slower than a pair cancels; and a verdict that says when the
// interval is too wide to decide against a goal.

import { InternalError } from '../errors.ts';
import type { ConfidenceInterval } from './describe.ts';
import { tQuantile } from './tdist.ts';

export const PAIRED_RATIO_METHOD = 'Student t interval on the mean of the pairs\u2019 log ratios, exponentiated (geometric mean ratio)';

export interface Pair {
  a: number;
  b: number;
}

export interface PairedRatio {
  /** Number of pairs. */
  n: number;
  /** Geometric mean of a/b over the pairs. */
  ratio: number;
  /** Null with fewer than two pairs (no spread to estimate). */
  ci: ConfidenceInterval | null;
  /** Half-width of the interval as a fraction of the ratio, on the log scale (≈ ±x). */
  halfWidth: number | null;
  /** Standard deviation of the pairs' log ratios. */
  sdLog: number | null;
}

/** exp(mean log(a/b)) with a t interval. Every value must be positive. */
export function pairedLogRatio(pairs: readonly Pair[], level = 0.95): PairedRatio {
  if (pairs.length === 0) throw new InternalError('pairedLogRatio: no pairs');
  for (const p of pairs) {
    if (!(p.a > 0 && p.b > 0 && Number.isFinite(p.a) && Number.isFinite(p.b))) {
      throw new InternalError(`pairedLogRatio: values must be positive and finite, got ${p.a} / ${p.b}`);
    }
  }
  const logs = pairs.map((p) => Math.log(p.a / p.b));
  const n = logs.length;
  const mean = logs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { n, ratio: Math.exp(mean), ci: null, halfWidth: null, sdLog: null };
  const sd = Math.sqrt(logs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return {
    n,
    ratio: Math.exp(mean),
    ci: { level, low: Math.exp(mean - half), high: Math.exp(mean + half), method: PAIRED_RATIO_METHOD },
    halfWidth: Math.expm1(half),
    sdLog: sd,
  };
}

/**
 * Pairs needed for the interval's half-width to stay under `halfWidth` (a fraction: 0.03 for ±3 %)
 * if the pairs' log ratios keep the spread `sdLog`: the least n ≥ 2 with
 * t(level, n − 1) · sdLog / √n ≤ log(1 + halfWidth). Null when it would take more than `max`.
 */
export function pairsFor(sdLog: number, halfWidth: number, level = 0.95, max = 1000): number | null {
  if (!(sdLog >= 0 && halfWidth > 0)) throw new InternalError(`pairsFor: spread ${sdLog} and half-width ${halfWidth} must be non-negative and positive`);
  const limit = Math.log1p(halfWidth);
  for (let n = 2; n <= max; n++) {
    if (tQuantile(1 - (1 - level) / 2, n - 1) * (sdLog / Math.sqrt(n)) <= limit) return n;
  }
  return null;
}

export type Verdict = 'yes' | 'no' | 'undecided';

/** Whether the ratio is at least `goal`: decided only when the whole interval lies on one side. */
export function atLeast(r: PairedRatio, goal: number): Verdict {
  if (!r.ci) return 'undecided';
  if (r.ci.low >= goal) return 'yes';
  if (r.ci.high < goal) return 'no';
  return 'undecided';
}

/**
 * Whether A and B agree within ±tolerance (e.g. 0.05): yes when the whole interval lies inside
 * [1 − tolerance, 1/(1 − tolerance)], no when it lies wholly outside, undecided otherwise.
 */
export function within(r: PairedRatio, tolerance: number): Verdict {
  if (!r.ci) return 'undecided';
  const lo = 1 - tolerance;
  const hi = 1 / lo;
  if (r.ci.low >= lo && r.ci.high <= hi) return 'yes';
  if (r.ci.high < lo || r.ci.low > hi) return 'no';
  return 'undecided';
}

/**
 * Pairs that fit in a run of 2n repetitions alternating A B / B A (so a trend within the run falls
 * on both sides alike): repetition i is A when `abbaIsA(i)`.
 */
export function abbaIsA(rep: number): boolean {
  const pair = Math.floor(rep / 2);
  return rep % 2 === (pair % 2 === 0 ? 0 : 1);
}

/** Join the values of repetitions 0..2n-1 laid out by `abbaIsA` into pairs (an unpaired tail is left out). */
export function abbaPairs(values: ReadonlyMap<number, number>): Pair[] {
  const pairs: Pair[] = [];
  const last = Math.max(-1, ...values.keys());
  for (let first = 0; first + 1 <= last; first += 2) {
    const x = values.get(first);
    const y = values.get(first + 1);
    if (x === undefined || y === undefined) continue;
    pairs.push(abbaIsA(first) ? { a: x, b: y } : { a: y, b: x });
  }
  return pairs;
}
