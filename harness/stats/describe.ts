// Descriptive statistics of one series of repetitions: centre, spread and a confidence interval
// for the mean.

import { InternalError } from '../errors.ts';
import { max, mean, median, min, sampleStandardDeviation } from 'simple-statistics';
import { tQuantile } from './tdist.ts';

/** A two-sided interval with the method that produced it, so a report can name it. */
export interface ConfidenceInterval {
  /** Coverage, e.g. 0.95. */
  level: number;
  low: number;
  high: number;
  /** How it was computed, in words shown next to the numbers. */
  method: string;
}

/** Summary of one non-empty series. Fields that need two or more values are `null` for n = 1. */
export interface Summary {
  n: number;
  median: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator). */
  sd: number | null;
  /** Coefficient of variation sd / |mean| in percent; null when n < 2 or the mean is 0. */
  cvPercent: number | null;
  /** Confidence interval for the mean; null when n < 2. */
  ci: ConfidenceInterval | null;
  min: number;
  max: number;
}

export const T_INTERVAL_METHOD = 'Student t interval for the mean (mean ± t(n−1) · sd/√n)';

/**
 * Describe a series. The interval is the classical Student t interval for the mean,
 * mean ± t_{1−α/2, n−1} · s/√n, which assumes roughly normal, independent repetitions
 * (Student 1908; any statistics text, e.g. Wasserman, *All of Statistics*, §6.3.2). With
 * identical values the interval collapses to the mean.
 */
export function describe(values: readonly number[], level = 0.95): Summary {
  if (values.length === 0) throw new InternalError('describe() needs at least one value');
  for (const v of values) if (!Number.isFinite(v)) throw new InternalError(`non-finite value ${v} in a series`);
  const xs = [...values];
  const n = xs.length;
  const m = mean(xs);
  const base = { n, median: median(xs), mean: m, min: min(xs), max: max(xs) };
  if (n < 2) return { ...base, sd: null, cvPercent: null, ci: null };
  const sd = sampleStandardDeviation(xs);
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return {
    ...base,
    sd,
    cvPercent: m === 0 ? null : (sd / Math.abs(m)) * 100,
    ci: { level, low: m - half, high: m + half, method: T_INTERVAL_METHOD },
  };
}
