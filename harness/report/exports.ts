// CSV and JSON exports of the statistics: every series of the current runs (CSV and JSON), and in
// JSON also the summed cost figures, the idle baseline, the ratios and the warnings.

import { metricInfo } from '../metrics.ts';
import { csvField } from './escape.ts';
import { formatDims } from './format.ts';
import type { ReportModel } from './model.ts';

export const STATS_SCHEMA = 'iopath.stats/1';

const CSV_COLUMNS = [
  'host',
  'run',
  'backend',
  'scenario',
  'metric',
  'dims',
  'unit',
  'direction',
  'n',
  'median',
  'mean',
  'sd',
  'cv_percent',
  'ci_low',
  'ci_high',
  'ci_level',
  'min',
  'max',
  'outlier_reps',
  'drift_p',
  'drift_slope_per_rep',
  'excluded_warmup',
  'excluded_failed',
  'sources',
] as const;

/** One row per series, in raw units (bit/s, pkt/s, us, ...), RFC 4180. */
export function renderCsv(model: ReportModel): string {
  const runOf = new Map(model.runs.filter((r) => r.current).map((r) => [r.host, r.id]));
  const lines = [CSV_COLUMNS.join(',')];
  for (const s of model.series) {
    const row: (string | number | null)[] = [
      s.host,
      runOf.get(s.host) ?? '',
      s.backend,
      s.scenario,
      s.metric,
      formatDims(s.dims).replace(/, /g, ';'),
      s.unit,
      metricInfo(s.metric).direction,
      s.summary.n,
      s.summary.median,
      s.summary.mean,
      s.summary.sd,
      s.summary.cvPercent,
      s.summary.ci?.low ?? null,
      s.summary.ci?.high ?? null,
      s.summary.ci?.level ?? null,
      s.summary.min,
      s.summary.max,
      s.outliers.map((o) => o.rep).join(' '),
      s.drift?.p ?? null,
      s.drift?.slopePerRep ?? null,
      s.excluded.warmup,
      s.excluded.failedRep,
      s.sources.join(' '),
    ];
    lines.push(row.map(csvField).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** The statistics as JSON: a stable, documented shape for scripts. */
export function renderStatsJson(model: ReportModel): string {
  const doc = {
    schema: STATS_SCHEMA,
    generatedAt: model.generatedAt,
    title: model.title,
    verdict: model.verdict,
    methods: model.methods,
    thresholds: model.thresholds,
    runs: model.runs.map((r) => ({ id: r.id, host: r.host, status: r.status, partial: r.partial, partialReasons: r.partialReasons, current: r.current, startedAt: r.startedAt, endedAt: r.endedAt ?? null, profile: r.profile, accel: r.provenance?.accel ?? null })),
    series: model.series.map((s) => ({
      host: s.host,
      backend: s.backend,
      scenario: s.scenario,
      metric: s.metric,
      dims: s.dims,
      unit: s.unit,
      direction: metricInfo(s.metric).direction,
      sources: s.sources,
      summary: s.summary,
      values: s.points.map((p) => ({ rep: p.rep, value: p.value })),
      outliers: s.outliers,
      drift: s.drift,
      excluded: s.excluded,
    })),
    costs: model.costs.map((c) => ({
      host: c.host,
      backend: c.backend,
      scenario: c.scenario,
      metric: c.metric,
      variant: c.variant,
      guest: c.guest ?? null,
      count: c.count,
      basis: c.basis,
      what: c.what,
      method: c.method,
      summedOver: c.over,
      parts: c.parts,
      leftOut: c.leftOut,
      unit: c.unit,
      summary: c.summary,
      values: c.points.map((p) => ({ rep: p.rep, value: p.value })),
    })),
    packetSizes: model.packetSizes,
    idle: model.idle,
    references: model.references,
    ratios: model.ratios,
    ablation: model.ablation,
    backends: model.backends,
    warnings: model.warnings,
    trend: model.trend,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
