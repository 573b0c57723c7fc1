// Outlier flags that know how many repetitions there are: each repetition is tested against the
// spread of the others, at a limit that grows as n shrinks, so that ordinary noise is rarely flagged.

import { mean, median, sampleStandardDeviation } from 'simple-statistics';
import { tQuantile } from './tdist.ts';

/** Chance that a series of normally distributed repetitions has any repetition flagged: 1 %. */
export const OUTLIER_ALPHA = 0.01;

/**
 * Fewer repetitions than this are never flagged: with 3 or 4 values, one that stands apart is as
 * likely the spread of the path as a broken repetition, and the test has almost no power there.
 */
export const OUTLIER_MIN_N = 5;

/**
 * A flagged value must also lie this far from the median, relative to it (5 %, the default noise
 * floor of `compare`): a 2 % wobble in a tight series may be statistically odd but is practically
 * irrelevant.
 */
export const OUTLIER_MIN_RELATIVE_DEVIATION = 0.05;

export interface OutlierOptions {
  alpha?: number;
  minN?: number;
  minRelativeDeviation?: number;
  /**
   * A flagged value must also lie at least this far from the median, in the series' own unit (0 by
   * default). For a quantity that is itself a percentage near 0 (packet loss), a relative floor says
   * nothing: 0.3 % against a median of 0 is "infinitely" far.
   */
  minAbsoluteDeviation?: number;
}

export interface OutlierReport {
  /** Index into the input of every flagged value. */
  indices: number[];
  /**
   * Each value's distance from the mean of the others in units of their spread (a Student t with
   * n − 2 degrees of freedom under normal noise); null when the others are all equal (no spread:
   * any difference is infinitely far), 0 for every value when nothing was tested.
   */
  scores: (number | null)[];
  /** The |t| a value must exceed at this n; null when the series is too short to test. */
  threshold: number | null;
  n: number;
}

/**
 * The leave-one-out (externally studentized) test behind Grubbs' test for one outlier: value x_i
 * against the other n − 1, t_i = (x_i − mean₋ᵢ) / (sd₋ᵢ · √(1 + 1/(n − 1))), which under normal noise
 * follows Student's t with n − 2 degrees of freedom. A value is flagged when |t_i| exceeds the
 * (1 − α/2n) quantile: by the union bound over the n values, a series of pure noise is flagged with
 * probability at most α, whatever n is (the limit is 10.2 at n = 5, 5.0 at n = 10, 4.2 at n = 20).
 * Unlike a MAD z-score, whose scale from five values is itself so noisy that one series in five is
 * flagged by chance at |z| > 3.5, the suspect never inflates its own yardstick. On top: nothing
 * below {@link OUTLIER_MIN_N} values, and nothing closer to the median than
 * {@link OUTLIER_MIN_RELATIVE_DEVIATION} (or `minAbsoluteDeviation`). When the others are all equal
 * the spread is 0 and only those floors decide. Two strays alike mask each other; with five values
 * they are spread, not outliers. Flagged values are kept in the statistics (the median is already
 * robust to them); the report names them.
 */
export function findOutliers(values: readonly number[], options: OutlierOptions = {}): OutlierReport {
  const alpha = options.alpha ?? OUTLIER_ALPHA;
  const minN = Math.max(3, options.minN ?? OUTLIER_MIN_N);
  const xs = [...values];
  const n = xs.length;
  const none: OutlierReport = { indices: [], scores: xs.map(() => 0), threshold: null, n };
  if (n < minN) return none;
  const threshold = tQuantile(1 - alpha / (2 * n), n - 2);
  const med = median(xs);
  const scores = xs.map((x, i) => {
    const others = xs.filter((_, j) => j !== i);
    const sd = sampleStandardDeviation(others);
    const d = x - mean(others);
    if (sd > 0) return d / (sd * Math.sqrt(1 + 1 / others.length));
    return d === 0 ? 0 : null;
  });
  const floor = Math.max((options.minRelativeDeviation ?? OUTLIER_MIN_RELATIVE_DEVIATION) * Math.abs(med), options.minAbsoluteDeviation ?? 0);
  const indices = scores.flatMap((t, i) => ((t === null || Math.abs(t) > threshold) && Math.abs(xs[i]! - med) > floor ? [i] : []));
  return { indices, scores, threshold, n };
}
