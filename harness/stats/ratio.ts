// Ratios between two paths (e.g. the median throughput of one path over the reference path's) with an interval that carries
// the uncertainty of both.

import { median } from 'simple-statistics';
import type { ConfidenceInterval } from './describe.ts';
import { resampleWithReplacement, seededRandom, sortedQuantile } from './resample.ts';

export interface RatioEstimate {
  /** median(numerator) / median(denominator). */
  value: number;
  /** Percentile bootstrap interval; null when either side has fewer than 2 values. */
  ci: ConfidenceInterval | null;
}

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  level?: number;
}

export const RATIO_METHOD = 'percentile bootstrap of the ratio of medians (2000 resamples of each path, seeded)';

/**
 * Ratio of medians with a percentile bootstrap interval (Efron & Tibshirani, *An Introduction to
 * the Bootstrap*, 1993, ch. 13): both series are resampled independently with replacement, the
 * ratio of the resampled medians recorded, and the α/2 and 1 − α/2 quantiles taken. The generator is
 * seeded, so the same samples always give the same interval. Returns null when the denominator's
 * median is 0 (no ratio exists).
 */
export function medianRatio(numerator: readonly number[], denominator: readonly number[], options: BootstrapOptions = {}): RatioEstimate | null {
  if (numerator.length === 0 || denominator.length === 0) return null;
  const den = median([...denominator]);
  if (den === 0) return null;
  const value = median([...numerator]) / den;
  if (numerator.length < 2 || denominator.length < 2) return { value, ci: null };
  const { resamples = 2000, seed = 0x10fa7, level = 0.95 } = options;
  const random = seededRandom(seed);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const d = median(resampleWithReplacement(denominator, random));
    if (d === 0) continue;
    ratios.push(median(resampleWithReplacement(numerator, random)) / d);
  }
  if (ratios.length === 0) return { value, ci: null };
  ratios.sort((a, b) => a - b);
  const alpha = 1 - level;
  return {
    value,
    ci: { level, low: sortedQuantile(ratios, alpha / 2), high: sortedQuantile(ratios, 1 - alpha / 2), method: RATIO_METHOD },
  };
}
