// Data-quality findings in words: what is wrong with a series or a run, and what to do about it.

import type { MetricName } from '../metrics.ts';
import type { Dims } from '../samples.ts';

export type WarningCode =
  | 'no-ci'
  | 'few-reps'
  | 'high-cv'
  | 'outlier'
  | 'drift'
  | 'failed-rep'
  | 'backend-failed'
  | 'partial-run'
  | 'malformed-data'
  | 'no-samples'
  | 'no-power'
  | 'host-differs'
  | 'collector-unavailable'
  | 'rep-note';

/** Where a finding applies; absent fields mean "all of them". */
export interface WarningSubject {
  host?: string;
  run?: string;
  backend?: string;
  scenario?: string;
  metric?: MetricName;
  dims?: Dims;
}

export interface Warning {
  code: WarningCode;
  /** `error`: numbers are missing or wrong; `warning`: numbers are shaky; `note`: worth knowing. */
  severity: 'note' | 'warning' | 'error';
  subject: WarningSubject;
  /** What was found, in a sentence. */
  message: string;
  /** What the user can do about it. */
  advice?: string;
}

/** Thresholds behind the warnings; the report prints them next to the warnings they cause. */
export interface QualityThresholds {
  /** A coefficient of variation above this (percent) is called noisy. */
  cvPercent: number;
  /** Fewer repetitions than this get a "few repetitions" warning. */
  minReps: number;
  /** Drift is reported when the Mann–Kendall p-value is below this. */
  driftAlpha: number;
}

export const DEFAULT_THRESHOLDS: QualityThresholds = { cvPercent: 10, minReps: 5, driftAlpha: 0.05 };

const severityRank = { error: 0, warning: 1, note: 2 } as const;

/** Errors first, then warnings, then notes; stable otherwise. */
export function sortWarnings(ws: readonly Warning[]): Warning[] {
  return [...ws].sort((a, b) => severityRank[a.severity] - severityRank[b.severity]);
}
