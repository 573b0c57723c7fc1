// From sample records to analysed series: grouping by series key, dropping warm-up and failed
// repetitions, and the per-series statistics and quality findings.

import { metricInfo } from '../metrics.ts';
import type { Dims, SampleRecord, Unit } from '../samples.ts';
import { seriesKey } from '../samples.ts';
import { describe, type Summary } from './describe.ts';
import { mannKendall, type DriftResult } from './drift.ts';
import { findOutliers } from './outliers.ts';
import { DEFAULT_THRESHOLDS, type QualityThresholds, type Warning } from './warnings.ts';

/** The coordinates of a series. */
export interface SeriesId {
  /** `seriesKey()` of the coordinates, host included. */
  key: string;
  host: string;
  backend: string;
  scenario: string;
  metric: string;
  dims: Dims;
}

/** The measured (non warm-up, non failed) values of a series in repetition order. */
export interface SeriesInput extends SeriesId {
  unit: Unit;
  /** Tools the values came from (`source` of the samples), sorted. */
  sources: string[];
  points: { rep: number; value: number; time: string }[];
  excluded: { warmup: number; failedRep: number };
}

export interface SeriesStats extends SeriesInput {
  summary: Summary;
  /** Repetitions flagged by the modified z-score. */
  outliers: { rep: number; value: number; score: number }[];
  drift: DriftResult | null;
  warnings: Warning[];
}

/** Identifies one repetition for the failed-repetition set. */
export function repKey(host: string, backend: string, scenario: string, rep: number): string {
  return `${host}|${backend}|${scenario}|${rep}`;
}

/**
 * Group samples into series. Warm-up samples are excluded, and so are samples of repetitions that
 * run.json marks failed (their numbers describe a broken window); both are counted.
 */
export function groupSamples(
  records: readonly SampleRecord[],
  options: { defaultHost: string; failedReps?: ReadonlySet<string> },
): SeriesInput[] {
  const groups = new Map<string, SeriesInput>();
  for (const r of records) {
    const host = r.host ?? options.defaultHost;
    const dims = r.dims ?? {};
    const key = seriesKey({ ...r, host, dims });
    let g = groups.get(key);
    if (!g) {
      g = { key, host, backend: r.backend, scenario: r.scenario, metric: r.metric, dims, unit: r.unit, sources: [], points: [], excluded: { warmup: 0, failedRep: 0 } };
      groups.set(key, g);
    }
    if (r.source && !g.sources.includes(r.source)) g.sources.push(r.source);
    if (r.warmup) g.excluded.warmup++;
    else if (options.failedReps?.has(repKey(host, r.backend, r.scenario, r.rep))) g.excluded.failedRep++;
    else g.points.push({ rep: r.rep, value: r.value, time: r.time });
  }
  for (const g of groups.values()) {
    g.sources.sort();
    g.points.sort((a, b) => a.rep - b.rep || a.time.localeCompare(b.time));
  }
  return [...groups.values()];
}

/** Whether quality warnings are worth a reader's attention for this series (not a volume counter or one slice of a breakdown). */
export function isHeadline(s: Pick<SeriesId, 'metric' | 'dims'>): boolean {
  return metricInfo(s.metric).direction !== 'neutral' && !('reason' in s.dims) && !('region' in s.dims);
}

/** Statistics of one series; null when every value was excluded. */
export function analyseSeries(input: SeriesInput, thresholds: QualityThresholds = DEFAULT_THRESHOLDS): SeriesStats | null {
  if (input.points.length === 0) return null;
  const values = input.points.map((p) => p.value);
  const summary = describe(values);
  const out = findOutliers(values);
  const outliers = out.indices.map((i) => ({ rep: input.points[i]!.rep, value: values[i]!, score: out.scores[i]! }));
  const drift = mannKendall(values);
  const warnings: Warning[] = [];
  if (isHeadline(input)) {
    const subject = { host: input.host, backend: input.backend, scenario: input.scenario, metric: input.metric, dims: input.dims };
    if (summary.cvPercent !== null && summary.cvPercent > thresholds.cvPercent) {
      warnings.push({
        code: 'high-cv',
        severity: 'warning',
        subject,
        message: `noisy: coefficient of variation ${summary.cvPercent.toFixed(1)} % is above ${thresholds.cvPercent} %`,
        advice: 'stop other work on the host, pin the guests to cores, or raise the number of repetitions',
      });
    }
    for (const o of outliers) {
      warnings.push({
        code: 'outlier',
        severity: 'warning',
        subject,
        message: `repetition ${o.rep} is an outlier: ${summary.median === 0 ? '' : `${((Math.abs(o.value - summary.median) / Math.abs(summary.median)) * 100).toFixed(1)} % ${o.value > summary.median ? 'above' : 'below'} the median, `}modified z-score ${o.score.toFixed(1)} beyond ±${out.threshold}${out.scale === 'mean-absolute-deviation' ? ' (MAD is 0, so the mean absolute deviation was the scale)' : ''}`,
        advice: 'look at that repetition’s raw output; the median is robust to it, the mean and its interval are not',
      });
    }
    if (drift && drift.p < thresholds.driftAlpha) {
      const perRep = summary.median === 0 ? '' : ` (${((drift.slopePerRep / Math.abs(summary.median)) * 100).toFixed(1)} % of the median per repetition)`;
      warnings.push({
        code: 'drift',
        severity: 'warning',
        subject,
        message: `drifts ${drift.slopePerRep > 0 ? 'upward' : 'downward'} over the run: Mann–Kendall p = ${formatP(drift.p)}, Theil–Sen slope ${drift.slopePerRep.toPrecision(3)} ${input.unit} per repetition${perRep}`,
        advice: 'the host may be warming up, throttling or under changing load; add warm-up, fix the CPU frequency, or check for background work',
      });
    }
  }
  return { ...input, summary, outliers, drift, warnings };
}

/**
 * One finding per (host, backend, scenario) whose headline series have too few repetitions:
 * n = 1 has no spread and no interval at all; n below `minReps` gives wide intervals and no drift test.
 */
export function repetitionWarnings(series: readonly SeriesStats[], thresholds: QualityThresholds = DEFAULT_THRESHOLDS): Warning[] {
  const byGroup = new Map<string, { s: SeriesStats; n: number }>();
  for (const s of series) {
    if (!isHeadline(s)) continue;
    const k = `${s.host}|${s.backend}|${s.scenario}`;
    const prev = byGroup.get(k);
    if (!prev || s.summary.n > prev.n) byGroup.set(k, { s, n: s.summary.n });
  }
  const out: Warning[] = [];
  for (const { s, n } of byGroup.values()) {
    const subject = { host: s.host, backend: s.backend, scenario: s.scenario };
    if (n === 1) {
      out.push({ code: 'no-ci', severity: 'warning', subject, message: 'only 1 measured repetition: no spread and no confidence interval', advice: `measure at least ${thresholds.minReps} repetitions (--reps ${thresholds.minReps})` });
    } else if (n < thresholds.minReps) {
      out.push({
        code: 'few-reps',
        severity: 'note',
        subject,
        message: `only ${n} measured repetitions: confidence intervals are wide and drift cannot be tested`,
        advice: `measure at least ${thresholds.minReps} repetitions (--reps ${thresholds.minReps})`,
      });
    }
  }
  return out;
}

export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}
