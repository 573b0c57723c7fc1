// The Markdown summary: short enough for a GitHub job summary, with the verdict, the key metrics
// per path, ratios, what was not measured, and the warnings.

import { metricInfo } from '../metrics.ts';
import { escapeMarkdown as md } from './escape.ts';
import { orderedScenarios } from './figures.ts';
import { compareBackends, displayScale, formatDims, formatNumber, formatPercent, formatScaled, formatTime } from './format.ts';
import { subjectText } from './html-sections.ts';
import type { ReportModel } from './model.ts';

/** Metrics shown in the Markdown summary (the HTML and CSV have every series). */
export const SUMMARY_METRICS = [
  'throughput',
  'packetRate',
  'lossPercent',
  'latencyP50',
  'latencyP99',
  'exitsPerGB',
  'exitsPerPacket',
  'deviceAccessesPerGB',
  'deviceAccessesPerPacket',
  'hostCpuPerGbps',
  'hostCpuPerMpps',
];

const MAX_WARNINGS = 15;

function arrowOf(metric: string): string {
  const d = metricInfo(metric).direction;
  return d === 'higher-is-better' ? ' ↑' : d === 'lower-is-better' ? ' ↓' : '';
}

export function renderMarkdown(model: ReportModel): string {
  const out: string[] = [];
  out.push(`## ${md(model.title)}`, '', `**${md(model.verdict)}**`, '');
  for (const r of model.runs.filter((x) => x.current && x.partial)) out.push(`> **Partial run ${md(r.id)}:** ${md(r.partialReasons.join('; '))}`, '');
  const current = model.runs.filter((r) => r.current);
  out.push(
    current.map((r) => `Run \`${md(r.id)}\` on ${md(r.host)}, ${md(formatTime(r.startedAt))}, profile ${md(r.profile.name)}, ${r.provenance ? `${r.provenance.accel.kind.toUpperCase()}: ${md(r.provenance.accel.reason)}` : 'no provenance'}.`).join('  \n'),
    '',
  );
  const hostCol = model.multiHost;
  for (const scenario of orderedScenarios(model)) {
    const rows = model.series
      .filter((s) => s.scenario === scenario && SUMMARY_METRICS.includes(s.metric) && Object.keys(s.dims).every((k) => k === 'guest' || k === 'role'))
      .sort((a, b) => SUMMARY_METRICS.indexOf(a.metric) - SUMMARY_METRICS.indexOf(b.metric) || compareBackends(a.backend, b.backend) || a.host.localeCompare(b.host) || formatDims(a.dims).localeCompare(formatDims(b.dims)));
    if (rows.length === 0) continue;
    out.push(`### ${md(scenario)}`, '');
    out.push(`| ${hostCol ? 'Host | ' : ''}Path | Metric | Median | Mean [95 % CI] | CV | n |`, `|${hostCol ? ' --- |' : ''} --- | --- | ---: | ---: | ---: | ---: |`);
    for (const s of rows) {
      const scale = displayScale(s.unit, Math.max(Math.abs(s.summary.max), Math.abs(s.summary.ci?.high ?? 0)));
      const f = (x: number) => formatScaled(x, scale);
      const dims = formatDims(s.dims);
      const ci = s.summary.ci ? `${f(s.summary.mean)} [${f(s.summary.ci.low)} – ${f(s.summary.ci.high)}]` : `${f(s.summary.mean)} [n/a]`;
      out.push(
        `| ${hostCol ? `${md(s.host)} | ` : ''}${md(s.backend)} | ${md(metricInfo(s.metric).title)}${dims ? ` (${md(dims)})` : ''}${arrowOf(s.metric)} | ${f(s.summary.median)} ${md(scale.unit)} | ${ci} | ${s.summary.cvPercent === null ? 'n/a' : formatPercent(s.summary.cvPercent)} | ${s.summary.n} |`,
      );
    }
    out.push('');
  }
  if (model.ratios.length) {
    out.push('### Paths relative to the slowest path', '');
    for (const r of model.ratios) {
      const ci = r.estimate.ci ? ` (95 % CI ${formatNumber(r.estimate.ci.low)}–${formatNumber(r.estimate.ci.high)}×)` : '';
      out.push(`- ${hostCol ? `${md(r.host)}, ` : ''}${md(r.scenario)}, ${md(metricInfo(r.metric).title.toLowerCase())}: ${md(r.numerator)} ÷ ${md(r.denominator)} = **${formatNumber(r.estimate.value)}×**${ci}`);
    }
    out.push('');
  }
  const notRun = model.backends.filter((b) => b.status !== 'ok');
  if (notRun.length) {
    out.push('### Paths not fully measured', '');
    for (const b of notRun) out.push(`- ${hostCol ? `${md(b.host)}: ` : ''}**${md(b.id)}** ${b.status}${b.reason ? `: ${md(b.reason)}` : ''}${b.fix ? ` Fix: ${md(b.fix)}` : ''}`);
    out.push('');
  }
  if (model.warnings.length) {
    out.push(`### Warnings (${model.warnings.length})`, '');
    for (const w of model.warnings.slice(0, MAX_WARNINGS)) out.push(`- **${w.severity}** ${md(subjectText(w.subject, model.multiHost))}: ${md(w.message)}${w.advice ? `. *${md(w.advice)}.*` : ''}`);
    if (model.warnings.length > MAX_WARNINGS) out.push(`- … and ${model.warnings.length - MAX_WARNINGS} more in index.html`);
    out.push('');
  }
  out.push(`<sub>Mean intervals: ${md(model.methods.ci)}. Full report: index.html / report.pdf; every series: stats.csv, stats.json.</sub>`, '');
  return out.join('\n');
}
