// The ReportModel: everything a report shows, computed once from one or more run folders. Every
// renderer (HTML, PDF, Markdown, CSV, JSON, charts) is a pure function of it.

import type { MetricName } from '../metrics.ts';
import type { Direction } from '../metrics.ts';
import type { BackendStatus, NegotiatedRecord, PhaseTiming, PlacementRecord, Provenance, ReadinessRecord, RunStatus, VariantRecord, WallRecord } from '../run/record.ts';
import type { AblationView } from './ablation.ts';
import type { CostSeries, PacketSize } from './costs.ts';
import type { IdleView } from './idle.ts';
import type { PathLook } from './format.ts';
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
  /** How the repetitions were ordered (runs that record it). */
  order?: { requested: 'rounds' | 'blocks'; mode: 'rounds' | 'blocks'; reason?: string; groups?: { paths: string[]; mode: 'rounds' | 'blocks' }[] };
  /** Wall time inside and outside measured windows (runs that record it). */
  wall?: WallRecord;
  notes: string[];
  error?: string;
  /** Which collectors could count on the run's host, and why not (when run.json records it). */
  collectors: CollectorAvailability[];
  /** Whether its series are in the summary (the latest run of each host) or only in the trend. */
  current: boolean;
  /** Host readiness as the run checked it (runs before it was recorded lack it). */
  readiness?: ReadinessRecord;
  /** The host-speed probe over the run's measured repetitions, in a sentence (runs that record it). */
  hostSpeed?: string;
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
  /** Each guest's NIC as negotiated: virtio feature bits and ethtool offloads (runs that record it). */
  negotiated?: Record<string, NegotiatedRecord>;
  /**
   * For a variant (its id is `<path>~<name>`): the path it varies (`variant.of`, also a BackendView
   * and a series of its own), what it changes and the properties that were not followed. An ablation
   * view sets each variant's series beside its path's.
   */
  variant?: VariantRecord;
  /** CPU placement of the path's threads, and the other load while it ran (when recorded). */
  placement?: PlacementRecord;
  /** Every collector considered for this path, available or with the reason it was not. */
  collectors: CollectorAvailability[];
  /** Repetitions that ran (ok, failed, warm-up), and those blocked by a failure around them (counted only when there are some). */
  reps: { measuredOk: number; failed: number; warmup: number; blocked?: number };
  failedReps: { scenario: string; rep: number; warmup: boolean; reason?: string }[];
  /** Flame graphs of the path (profile flame): one per sampled repetition, that repetition left out of statistics. */
  flames?: FlameView[];
}

/** One flame graph: the repetition it was sampled in, at what cost, and where the report keeps its SVG. */
export interface FlameView {
  scenario: string;
  rep: number;
  /** In words: what ran and what it cost (perf's samples and CPU seconds). */
  what: string;
  samples?: number;
  cpuSec?: number;
  /** Seconds perf sampled, the span cpuSec was spent in. */
  sampledSec?: number;
  /** The scenario's headline figure in the sampled repetition against its median over the path's other repetitions. */
  effect?: { metric: string; unit: string; sampled: number; othersMedian: number; others: number };
  /** The SVG in the run folder, relative to it. */
  file: string;
  /** Where the report links it, relative to the report folder (render copies it there). */
  href: string;
}

/**
 * A path compared with the reference path of its host (the path whose descriptor says it is the
 * reference, when it was measured; otherwise the first measured path in the report's order), on one
 * scenario and variant.
 */
export interface RatioView {
  host: string;
  scenario: string;
  /** The metric compared (for cost figures, the normalised metric, e.g. `deviceAccessesPerGB`). */
  metric: MetricName;
  /** Workload variant, e.g. `{ payloadBytes: 64 }`; `{}` for none. */
  variant: Dims;
  numerator: string;
  denominator: string;
  /** median(numerator) / median(denominator) with its interval. */
  estimate: RatioEstimate;
  n: { numerator: number; denominator: number };
  /** What is compared, in words: `throughput (receiver)`, `device accesses (software emulation) per GB, both guests`. */
  label: string;
  direction: Direction;
  /** Where the numbers came from, in words. */
  source: string;
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
  metric: MetricName;
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
  /** How the variants' changes against their paths were estimated (reports with variants). */
  ablation?: string;
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
  /** Statistics of every series of the current runs (the idle baseline is not a series; see `idle`). */
  series: SeriesStats[];
  /** Headline cost figures summed from the breakdowns (per guest and per path), with their own statistics. */
  costs: CostSeries[];
  /** What a packet was (mean bytes per packet at the guests' NICs), per path, scenario and variant. */
  packetSizes: PacketSize[];
  /** The idle baseline of each path, subtracted from every measured window. */
  idle: IdleView[];
  /** The path every other path is compared with, per host. */
  references: { host: string; backend: string }[];
  /** How each path is shown (order, colour, reference role), as its run recorded it. */
  paths: PathLook[];
  /** Names of the sample sources: the generic ones and those of the paths' own collectors. */
  sourceNames: Readonly<Record<string, string>>;
  ratios: RatioView[];
  /** Each path measured with variants: every variant's change against the path (empty without variants). */
  ablation: AblationView[];
  backends: BackendView[];
  warnings: Warning[];
  thresholds: QualityThresholds;
  methods: MethodNotes;
  /** Each metric over time, when several runs of the same profile on the same host were given. */
  trend: TrendSeries[];
  iopathVersion?: string;
}
