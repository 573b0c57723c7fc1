// Public surface of the statistics module: pure functions over numbers and sample records.

export { describe, T_INTERVAL_METHOD, type ConfidenceInterval, type Summary } from './describe.ts';
export { findOutliers, OUTLIER_ALPHA, OUTLIER_MIN_N, OUTLIER_MIN_RELATIVE_DEVIATION, type OutlierOptions, type OutlierReport } from './outliers.ts';
export { mannKendall, DRIFT_MIN_N, type DriftResult } from './drift.ts';
export { medianRatio, RATIO_METHOD, type RatioEstimate, type BootstrapOptions } from './ratio.ts';
export { permutationTest, welchTest, relativeChange, binomial, CHANGE_METHOD, type TestResult } from './hypothesis.ts';
export { tCdf, tQuantile, tTwoSidedP, incompleteBeta, normalCdf } from './tdist.ts';
export { seededRandom } from './resample.ts';
export { pairedLogRatio, atLeast, within, abbaIsA, abbaPairs, PAIRED_RATIO_METHOD, type Pair, type PairedRatio, type Verdict } from './paired.ts';
export {
  groupSamples,
  analyseSeries,
  repetitionWarnings,
  repKey,
  isHeadline,
  hasBreakdownDims,
  sumSeries,
  mergedQualityWarnings,
  HEADLINE_METRICS,
  BREAKDOWN_DIMS,
  formatP,
  type SeriesId,
  type SeriesInput,
  type SeriesStats,
} from './series.ts';
export { DEFAULT_THRESHOLDS, sortWarnings, type QualityThresholds, type Warning, type WarningCode, type WarningSubject } from './warnings.ts';
