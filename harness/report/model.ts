// The ReportModel: everything a report shows, computed once from one or more run folders. Every
// renderer (HTML, PDF, Markdown, CSV, JSON, charts) is a pure function of it.

import type { BackendStatus, PhaseTiming, Provenance, RunStatus } from '../run/record.ts';
import type { CollectorAvailability } from './load.ts';
import type { Dims, Unit } from '../samples.ts';
import type { RatioEstimate } from '../stats/ratio.ts';
import type { SeriesStats } from '../stats/series.ts';
import type { Summary } from '../stats/describe.ts';
import type { QualityThresholds, Warning } from '../stats/warnings.ts';

export const REPORT_SCHEMA = 'iopath.report/1';

/** One run folder as the report shows it. */
export interface RunView {
  id: string;
  dir: string;
  host: string;
  status: RunStatus;
  partial: boolean;
  partialReasons: string[];
  startedAt: string;
  endedAt?: string;
  profile: { name: string; path: string; hash: string };
  argv: string[];
  provenance?: Provenance;
  phases: PhaseTiming[];
  notes: string[];
  error?: string;
  /** Which collectors could count on the run's host, and why not (when run.json records it). */
  collectors: CollectorAvailability[];
  /** Whether its series are in the summary (the latest run of each host) or only in the trend. */
  current: boolean;
  samples: { measured: number; warmup: number };
}

/** One path (backend) of one current run. */
export interface BackendView {
  host: string;
  run: string;
  id: string;
  title: string;
  status: BackendStatus;
  reason?: string;
  fix?: string;
  notes: string[];
  features?: Record<string, string[]>;
  reps: { measuredOk: number; failed: number; warmup: number };
  failedReps: { scenario: string; rep: number; warmup: boolean; reason?: string }[];
}

/** A path compared with the slowest path on the same host and scenario. */
export interface RatioView {
  host: string;
  scenario: string;
  metric: string;
  numerator: string;
  denominator: string;
  estimate: RatioEstimate;
}

/** One point of a trend: the summary of a series in one run. */
export interface TrendPoint {
  run: string;
  startedAt: string;
  profileHash: string;
  summary: Summary;
}

export interface TrendSeries {
  host: string;
  profile: string;
  backend: string;
  scenario: string;
  metric: string;
  dims: Dims;
  unit: Unit;
  /** Tools the values came from, as recorded in the samples. */
  sources: string[];
  points: TrendPoint[];
}

/** Names of the methods behind the numbers, printed in the report. */
export interface MethodNotes {
  ci: string;
  ratio: string;
  outliers: string;
  drift: string;
  warmup: string;
}

export interface ReportModel {
  schema: typeof REPORT_SCHEMA;
  title: string;
  /** ISO time the report was generated (passed in, so rendering is reproducible). */
  generatedAt: string;
  /** One line a reader sees first. */
  verdict: string;
  hosts: string[];
  /** More than one host: the host is shown as a dimension everywhere. */
  multiHost: boolean;
  runs: RunView[];
  /** Statistics of every series of the current runs. */
  series: SeriesStats[];
  ratios: RatioView[];
  backends: BackendView[];
  warnings: Warning[];
  thresholds: QualityThresholds;
  methods: MethodNotes;
  /** Each metric over time, when several runs of the same profile on the same host were given. */
  trend: TrendSeries[];
  iopathVersion?: string;
}
