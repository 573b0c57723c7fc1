// Building the ReportModel from loaded runs: which runs are current, their series statistics, the
// ratios between paths, the trend over earlier runs, every warning, and the verdict line.

import { UsageError } from '../errors.ts';
import { metricInfo } from '../metrics.ts';
import { seriesKey, type SampleRecord } from '../samples.ts';
import { T_INTERVAL_METHOD } from '../stats/describe.ts';
import { DRIFT_MIN_N } from '../stats/drift.ts';
import { OUTLIER_MIN_RELATIVE_DEVIATION, OUTLIER_THRESHOLD } from '../stats/outliers.ts';
import { medianRatio, RATIO_METHOD } from '../stats/ratio.ts';
import { analyseSeries, groupSamples, isHeadline, repetitionWarnings, repKey, type SeriesStats } from '../stats/series.ts';
import { DEFAULT_THRESHOLDS, sortWarnings, type QualityThresholds, type Warning } from '../stats/warnings.ts';
import { compareBackends, formatNumber, formatValue } from './format.ts';
import type { LoadedRun } from './load.ts';
import { REPORT_SCHEMA, type BackendView, type RatioView, type ReportModel, type RunView, type TrendSeries } from './model.ts';

export interface BuildOptions {
  /** Report title; default names the profile and host(s). */
  title?: string;
  /** ISO time stamped on the report. */
  generatedAt: string;
  thresholds?: QualityThresholds;
  iopathVersion?: string;
}

/** Metrics whose paths are compared with the slowest path (ratio figures and the verdict). */
const RATIO_METRICS = ['throughput', 'packetRate'] as const;

/**
 * Build the model. The latest run of each host (by start time) is *current*: its series fill the
 * summary, figures and ratios. Earlier runs of the same profile on the same host only feed the
 * trend. Runs from several hosts are merged with the host as a dimension.
 */
export function buildReportModel(loaded: readonly LoadedRun[], options: BuildOptions): ReportModel {
  if (loaded.length === 0) throw new UsageError('a report needs at least one run folder', 'iopath report results/<run-id> [results/<other-run-id> ...]');
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const runs = [...loaded].sort((a, b) => a.record.startedAt.localeCompare(b.record.startedAt));
  const latestByHost = new Map<string, LoadedRun>();
  for (const r of runs) latestByHost.set(r.host, r);
  const current = [...latestByHost.values()];
  const hosts = [...latestByHost.keys()].sort();

  const series = current.flatMap((r) => analyseRun(r, thresholds));
  const backends = current.flatMap(backendViews);
  const ratios = computeRatios(series);
  const warnings = sortWarnings([
    ...runs.flatMap((r) => r.problems.map((w) => ({ ...w, subject: { ...w.subject, host: r.host } }))),
    ...current.flatMap(runWarnings),
    ...series.flatMap((s) => s.warnings),
    ...repetitionWarnings(series, thresholds),
  ]);
  const runViews = runs.map((r) => runView(r, latestByHost.get(r.host) === r));
  const multiHost = hosts.length > 1;
  const model: ReportModel = {
    schema: REPORT_SCHEMA,
    title: options.title ?? defaultTitle(current, multiHost),
    generatedAt: options.generatedAt,
    verdict: '',
    hosts,
    multiHost,
    runs: runViews,
    series,
    ratios,
    backends,
    warnings,
    thresholds,
    methods: {
      ci: `95 % ${T_INTERVAL_METHOD}`,
      ratio: `ratio of medians; 95 % ${RATIO_METHOD}`,
      outliers: `modified z-score 0.6745·(x − median)/MAD beyond ±${OUTLIER_THRESHOLD} (Iglewicz & Hoaglin 1993) and more than ${OUTLIER_MIN_RELATIVE_DEVIATION * 100} % from the median; flagged, not removed`,
      drift: `Mann–Kendall trend test over the repetitions in order (exact below 41 values without ties), from ${DRIFT_MIN_N} repetitions, p < ${thresholds.driftAlpha}; size by the Theil–Sen slope`,
      warmup: 'warm-up repetitions and repetitions recorded as failed are excluded from every statistic',
    },
    trend: computeTrend(runs),
    ...(options.iopathVersion ? { iopathVersion: options.iopathVersion } : {}),
  };
  model.verdict = verdictLine(model);
  return model;
}

function failedRepKeys(r: LoadedRun): Set<string> {
  const keys = new Set<string>();
  for (const b of r.record.backends) for (const rep of b.reps) if (rep.status === 'failed') keys.add(repKey(r.host, b.id, rep.scenario, rep.rep));
  return keys;
}

/** Samples of a run, with the run's host on every one (so series and backends agree on the host). */
function samplesOf(r: LoadedRun): SampleRecord[] {
  return r.samples.map((s) => ({ ...s, host: r.host }));
}

/** Statistics of every series of one run (warm-up and failed repetitions excluded), in report order. */
export function analyseRun(r: LoadedRun, thresholds: QualityThresholds = DEFAULT_THRESHOLDS): SeriesStats[] {
  const inputs = groupSamples(samplesOf(r), { defaultHost: r.host, failedReps: failedRepKeys(r) });
  return inputs
    .map((i) => analyseSeries(i, thresholds))
    .filter((s): s is SeriesStats => s !== null)
    .sort(
      (a, b) =>
        a.host.localeCompare(b.host) ||
        a.scenario.localeCompare(b.scenario) ||
        compareBackends(a.backend, b.backend) ||
        a.metric.localeCompare(b.metric) ||
        a.key.localeCompare(b.key),
    );
}

function backendViews(r: LoadedRun): BackendView[] {
  return [...r.record.backends]
    .sort((a, b) => compareBackends(a.id, b.id))
    .map((b) => {
      const failed = b.reps.filter((x) => x.status === 'failed');
      const v: BackendView = {
        host: r.host,
        run: r.record.run,
        id: b.id,
        title: b.title,
        status: b.status,
        notes: b.notes ?? [],
        reps: {
          measuredOk: b.reps.filter((x) => !x.warmup && x.status === 'ok').length,
          failed: failed.length,
          warmup: b.reps.filter((x) => x.warmup).length,
        },
        failedReps: failed.map((x) => ({ scenario: x.scenario, rep: x.rep, warmup: x.warmup, ...(x.reason ? { reason: x.reason } : {}) })),
      };
      if (b.reason) v.reason = b.reason;
      if (b.fix) v.fix = b.fix;
      if (b.features) v.features = b.features;
      return v;
    });
}

function runWarnings(r: LoadedRun): Warning[] {
  const out: Warning[] = [];
  const run = r.record.run;
  if (r.partial) {
    out.push({
      code: 'partial-run',
      severity: 'error',
      subject: { host: r.host, run },
      message: `run ${run} is partial: ${r.partialReasons.join('; ')}`,
      advice: 'the numbers below cover only what was measured before it stopped; re-run the missing paths before drawing conclusions',
    });
  }
  const measured = new Set(r.samples.filter((s) => !s.warmup).map((s) => s.backend));
  for (const b of r.record.backends) {
    const subject = { host: r.host, run, backend: b.id };
    if (b.status === 'failed') {
      out.push({ code: 'backend-failed', severity: 'error', subject, message: `path failed: ${b.reason ?? 'no reason recorded'}`, ...(b.fix ? { advice: b.fix } : {}) });
    }
    if ((b.status === 'ok' || b.status === 'partial') && !measured.has(b.id)) {
      out.push({ code: 'no-samples', severity: 'error', subject, message: `path is marked "${b.status}" but has no measured samples`, advice: 'check samples.ndjson and the run log; this run should not be trusted for this path' });
    }
    for (const rep of b.reps) {
      if (rep.status !== 'failed') continue;
      out.push({
        code: 'failed-rep',
        severity: 'warning',
        subject: { ...subject, scenario: rep.scenario },
        message: `${rep.warmup ? 'warm-up ' : ''}repetition ${rep.rep} failed${rep.reason ? `: ${rep.reason}` : ''}; its samples are excluded`,
        advice: 'look at its raw output in the run folder',
      });
    }
  }
  return out;
}

function runView(r: LoadedRun, current: boolean): RunView {
  const rec = r.record;
  const v: RunView = {
    id: rec.run,
    dir: r.dir,
    host: r.host,
    status: rec.status,
    partial: r.partial,
    partialReasons: r.partialReasons,
    startedAt: rec.startedAt,
    profile: { name: rec.profile.name, path: rec.profile.path, hash: rec.profile.hash },
    argv: rec.argv,
    phases: rec.phases,
    notes: rec.notes,
    collectors: r.collectors,
    current,
    samples: { measured: r.samples.filter((s) => !s.warmup).length, warmup: r.samples.filter((s) => s.warmup).length },
  };
  if (rec.endedAt) v.endedAt = rec.endedAt;
  if (rec.provenance) v.provenance = rec.provenance;
  if (rec.error) v.error = rec.error;
  return v;
}

/** Every path against the slowest path of the same host and scenario, for throughput and packet rate. */
function computeRatios(series: readonly SeriesStats[]): RatioView[] {
  const out: RatioView[] = [];
  const groups = new Map<string, SeriesStats[]>();
  for (const s of series) {
    if (!(RATIO_METRICS as readonly string[]).includes(s.metric) || Object.keys(s.dims).length > 0) continue;
    const k = `${s.host}|${s.scenario}|${s.metric}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const slowest = group.reduce((a, b) => (b.summary.median < a.summary.median ? b : a));
    const den = slowest.points.map((p) => p.value);
    for (const s of [...group].sort((a, b) => compareBackends(a.backend, b.backend))) {
      if (s === slowest) continue;
      const estimate = medianRatio(
        s.points.map((p) => p.value),
        den,
      );
      if (estimate) out.push({ host: s.host, scenario: s.scenario, metric: s.metric, numerator: s.backend, denominator: slowest.backend, estimate });
    }
  }
  return out;
}

/** Each headline metric over the runs of one profile on one host, when there are two or more. */
function computeTrend(runs: readonly LoadedRun[]): TrendSeries[] {
  const groups = new Map<string, LoadedRun[]>();
  for (const r of runs) {
    const k = `${r.host}\u0000${r.record.profile.name}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: TrendSeries[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const byKey = new Map<string, TrendSeries>();
    for (const r of group) {
      for (const s of analyseRun(r, DEFAULT_THRESHOLDS)) {
        if (!isHeadline(s)) continue;
        const key = seriesKey(s);
        let t = byKey.get(key);
        if (!t) {
          t = { host: s.host, profile: r.record.profile.name, backend: s.backend, scenario: s.scenario, metric: s.metric, dims: s.dims, unit: s.unit, sources: [], points: [] };
          byKey.set(key, t);
        }
        for (const src of s.sources) if (!t.sources.includes(src)) t.sources.push(src);
        t.points.push({ run: r.record.run, startedAt: r.record.startedAt, profileHash: r.record.profile.hash, summary: s.summary });
      }
    }
    out.push(...[...byKey.values()].filter((t) => t.points.length >= 2));
  }
  return out;
}

function defaultTitle(current: readonly LoadedRun[], multiHost: boolean): string {
  const profiles = [...new Set(current.map((r) => r.record.profile.name))].join(', ');
  if (multiHost) return `iopath report: profile ${profiles} on ${current.length} hosts`;
  return `iopath report: run ${current[0]!.record.run} (profile ${profiles})`;
}

/** The first line a reader sees: the biggest throughput gap, what was not measured, and how many warnings. */
export function verdictLine(model: Pick<ReportModel, 'runs' | 'series' | 'ratios' | 'backends' | 'warnings' | 'hosts' | 'multiHost'>): string {
  const parts: string[] = [];
  const partial = model.runs.filter((r) => r.current && r.partial);
  if (partial.length) parts.push(`PARTIAL RUN (${partial.map((r) => `${r.id}: ${r.status}`).join(', ')}).`);
  for (const host of model.hosts) {
    const on = (scenario: string) => (model.multiHost ? `On ${host}, ${scenario}:` : `On ${scenario}:`);
    const ratios = model.ratios.filter((r) => r.host === host && r.metric === 'throughput');
    const scenario = ratios.find((r) => r.scenario === 'tcp-stream')?.scenario ?? ratios[0]?.scenario;
    const best = ratios.filter((r) => r.scenario === scenario).sort((a, b) => b.estimate.value - a.estimate.value)[0];
    const headline = (backend: string, sc: string) =>
      model.series.find((s) => s.host === host && s.backend === backend && s.scenario === sc && s.metric === 'throughput' && Object.keys(s.dims).length === 0);
    if (best) {
      const ci = best.estimate.ci ? ` (95 % CI ${formatNumber(best.estimate.ci.low)}–${formatNumber(best.estimate.ci.high)}×)` : ' (no interval: too few repetitions)';
      const a = headline(best.numerator, best.scenario)!.summary.median;
      const b = headline(best.denominator, best.scenario)!.summary.median;
      parts.push(
        `${on(best.scenario)} ${best.numerator} reaches ${formatNumber(best.estimate.value)}× the median ${metricInfo('throughput').title.toLowerCase()} of ${best.denominator}${ci}, ${formatValue(a, 'bit/s')} against ${formatValue(b, 'bit/s')}.`,
      );
    } else {
      const only = model.series.filter((s) => s.host === host && s.metric === 'throughput' && Object.keys(s.dims).length === 0);
      if (only.length === 1) parts.push(`${on(only[0]!.scenario)} only ${only[0]!.backend} was measured, ${formatValue(only[0]!.summary.median, 'bit/s')} median throughput.`);
      else if (only.length === 0) parts.push(`No throughput was measured${model.multiHost ? ` on ${host}` : ''}.`);
    }
    const notRun = model.backends.filter((b) => b.host === host && (b.status === 'skipped' || b.status === 'failed'));
    if (notRun.length) parts.push(`Not measured${model.multiHost ? ` on ${host}` : ''}: ${notRun.map((b) => `${b.id} (${b.status})`).join(', ')}.`);
  }
  const errors = model.warnings.filter((w) => w.severity === 'error').length;
  const warns = model.warnings.filter((w) => w.severity === 'warning').length;
  const counts = [errors ? `${errors} error${errors > 1 ? 's' : ''}` : '', warns ? `${warns} warning${warns > 1 ? 's' : ''}` : ''].filter(Boolean);
  if (counts.length) parts.push(`See ${counts.join(' and ')} below.`);
  return parts.join(' ');
}
