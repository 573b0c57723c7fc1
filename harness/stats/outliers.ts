// Outlier flags by the modified z-score (median and MAD), the robust rule hyperfine also uses.

import { mean, median, medianAbsoluteDeviation } from 'simple-statistics';

/** |modified z| above this flags an outlier (Iglewicz & Hoaglin 1993 recommend 3.5). */
export const OUTLIER_THRESHOLD = 3.5;

/**
 * A flagged value must also lie this far from the median, relative to it (5 %, the default noise
 * floor of `compare`). With five repetitions the MAD can be tiny by chance, and a repetition 1 % off
 * would otherwise be called an outlier: statistically odd, practically irrelevant.
 */
export const OUTLIER_MIN_RELATIVE_DEVIATION = 0.05;

export interface OutlierReport {
  /** Index into the input of every flagged value. */
  indices: number[];
  /** Modified z-score of every input value (0 for all when the series has no spread). */
  scores: number[];
  /** Which scale was used: MAD, mean absolute deviation when MAD is 0, or none when all values are equal. */
  scale: 'mad' | 'mean-absolute-deviation' | 'none';
  threshold: number;
}

/**
 * Modified z-scores M_i = 0.6745 · (x_i − median) / MAD (Iglewicz & Hoaglin, *How to Detect and
 * Handle Outliers*, ASQC 1993); values with |M_i| > 3.5 are flagged. When MAD = 0 (more than half the
 * values equal) the same authors' fallback M_i = (x_i − median) / (1.253314 · MeanAD) is used; when
 * that is 0 too, every value equals the median and nothing is an outlier. A value is flagged only when
 * it is also at least `minRelativeDeviation` away from the median (see
 * {@link OUTLIER_MIN_RELATIVE_DEVIATION}). Flagged values are kept in the statistics (the median is
 * already robust to them); the report names them.
 */
export function findOutliers(values: readonly number[], threshold = OUTLIER_THRESHOLD, minRelativeDeviation = OUTLIER_MIN_RELATIVE_DEVIATION): OutlierReport {
  const xs = [...values];
  if (xs.length < 3) return { indices: [], scores: xs.map(() => 0), scale: 'none', threshold };
  const med = median(xs);
  const mad = medianAbsoluteDeviation(xs);
  let scores: number[];
  let scale: OutlierReport['scale'];
  if (mad > 0) {
    scores = xs.map((x) => (0.6745 * (x - med)) / mad);
    scale = 'mad';
  } else {
    const meanAd = mean(xs.map((x) => Math.abs(x - med)));
    if (meanAd === 0) return { indices: [], scores: xs.map(() => 0), scale: 'none', threshold };
    scores = xs.map((x) => (x - med) / (1.253314 * meanAd));
    scale = 'mean-absolute-deviation';
  }
  const farEnough = (x: number) => Math.abs(x - med) > minRelativeDeviation * Math.abs(med);
  const indices = scores.flatMap((s, i) => (Math.abs(s) > threshold && farEnough(xs[i]!) ? [i] : []));
  return { indices, scores, scale, threshold };
}
