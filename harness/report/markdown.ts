// The Markdown summary: short enough for a GitHub job summary, with the verdict, per scenario what
// each path achieved and what it cost (the same tables as the HTML summary), the ratios to the
// reference path, the idle baseline, links to the flame graphs, what was not measured, and the
// warnings.

import type { MetricName } from '../metrics.ts';
import { escapeMarkdown as md } from './escape.ts';
import { flameCostText } from './flames.ts';
import { formatTime, notRunGroups } from './format.ts';
import { orderWords, subjectText } from './html-sections.ts';
import { describeWall } from '../run/wall.ts';
import { ablationMarkdown } from './ablation-view.ts';
import { labStatements } from './lab.ts';
import { notReadyLine, placedPaths, placementLines } from './placement.ts';
import type { ReportModel } from './model.ts';
import type { Warning } from '../stats/warnings.ts';
import { costMethodNotes, costTableOf, idleTable, performanceTableLong, ratioMatrix, scenarioBlocks, type Table } from './summary.ts';

/** Metrics the Markdown summary is built around (the HTML and CSV have every series). */
export const SUMMARY_METRICS: readonly MetricName[] = [
  'throughput',
  'packetRate',
  'lossPercent',
  'latencyP50',
  'latencyP90',
  'latencyP99',
  'latencyP999',
  'exitsPerGB',
  'exitsPerPacket',
  'deviceAccessesPerGB',
  'deviceAccessesPerPacket',
  'hostCpuPerGbps',
  'hostCpuPerMpps',
];

const MAX_WARNINGS = 15;

/** A neutral table as a GitHub Markdown table, its caption in italics above it. */
function mdTable(t: Table): string[] {
  const head = t.columns.map((c) => md([c.group, c.text, c.sub].filter(Boolean).join(' · ')));
  const align = t.columns.map((c) => (c.num ? '---:' : '---'));
  const rows = t.rows.map((r) => `| ${r.map((c) => `${md(c.text)}${c.noisy ? '\\*' : ''}${c.note ? ` ${md(c.note.replace(/\n/g, ', '))}` : ''}`).join(' | ')} |`);
  return [`*${md(t.caption)}*`, '', `| ${head.join(' | ')} |`, `| ${align.join(' | ')} |`, ...rows, ''];
}

export function renderMarkdown(model: ReportModel): string {
  const out: string[] = [];
  out.push(`## ${md(model.title)}`, '', `**${md(model.verdict)}**`, '');
  for (const t of labStatements(model)) out.push(`> **${md(t)}**`, '');
  for (const r of model.runs.filter((x) => x.current && x.partial)) out.push(`> **Partial run ${md(r.id)}:** ${md(r.partialReasons.join('; '))}`, '');
  const current = model.runs.filter((r) => r.current);
  out.push(
    current.map((r) => `Run \`${md(r.id)}\` on ${md(r.host)}, ${md(formatTime(r.startedAt))}, profile ${md(r.profile.name)}, ${r.provenance ? `${r.provenance.accel.kind.toUpperCase()}: ${md(r.provenance.accel.reason)}` : 'no provenance'}.`).join('  \n'),
    '',
  );
  const { blocks } = scenarioBlocks(model);
  let clipped = false;
  for (const b of blocks) {
    out.push(`### ${md(b.scenario)}${model.multiHost ? ` on ${md(b.host)}` : ''}${b.title ? ` — ${md(b.title)}` : ''}`, '');
    const perf = performanceTableLong(model, b.host, b.scenario);
    if (perf) {
      clipped ||= perf.clipped;
      out.push(...mdTable(perf.table));
    }
    const cost = costTableOf(model, b.host, b.scenario);
    if (cost) out.push(...mdTable(cost));
    for (const n of b.notes) out.push(`> ${md(n)}`, '');
  }
  if (blocks.length) {
    out.push(`<sub>\\* noisy: coefficient of variation above ${model.thresholds.cvPercent} %.${clipped ? ' Intervals are cut at 0: none of these quantities can be negative.' : ''}</sub>`, '');
  }
  for (const host of model.hosts) {
    const t = ratioMatrix(model, host);
    if (!t) continue;
    out.push(`### Paths relative to ${md(model.references.find((r) => r.host === host)?.backend ?? 'the reference')}${model.multiHost ? ` on ${md(host)}` : ''}`, '', ...mdTable(t));
  }
  out.push(...ablationMarkdown(model, mdTable));
  const notes = costMethodNotes(model);
  if (notes.length) {
    out.push('### How the cost figures were counted', '');
    for (const n of notes) out.push(`- ${md(n)}`);
    out.push('');
  }
  const idle = idleTable(model);
  if (idle) out.push('### Idle baseline', '', 'Measured once per path at rest and subtracted, scaled to each window\'s length, from every measured window; it is not a scenario.', '', ...mdTable(idle));
  const flames = model.backends.flatMap((b) => (b.flames ?? []).map((f) => ({ b, f })));
  if (flames.length) {
    out.push('### Flame graphs', '', "Call stacks of each path's host threads, sampled with perf in one repetition per path; that repetition is excluded from every statistic (sampling takes CPU from the guests). Each SVG opens in a browser.", '');
    for (const { b, f } of flames) out.push(`- ${model.multiHost ? `${md(b.host)}: ` : ''}**${md(b.id)}**, ${md(f.scenario)} repetition ${f.rep}: [${md(f.href)}](${f.href}). Cost: ${md(flameCostText(f))}`);
    out.push('');
  }
  const notRun = model.backends.filter((b) => b.status !== 'ok');
  if (notRun.length) {
    out.push('### Paths not fully measured', '');
    for (const { b, alike } of notRunGroups(notRun)) {
      const also = alike.length ? ` and its ${alike.length === 1 ? 'variant' : `${alike.length} variants`} (${md(alike.join(', '))})` : '';
      out.push(`- ${model.multiHost ? `${md(b.host)}: ` : ''}**${md(b.id)}**${also} ${b.status}${b.reason ? `: ${md(b.reason)}` : ''}${b.fix ? ` Fix: ${md(b.fix)}` : ''}`);
    }
    out.push('');
  }
  const placed = placedPaths(model);
  if (placed.length) {
    out.push('### CPU placement', '');
    for (const { b, p } of placed) for (const l of placementLines(b, p)) out.push(`- ${md(l)}`);
    out.push('');
  }
  for (const r of model.runs.filter((x) => x.current && x.readiness)) {
    const line = notReadyLine(r.readiness!);
    out.push(`### Host readiness${model.runs.length > 1 ? ` (run ${md(r.id)})` : ''}: ${r.readiness!.ready ? 'ready' : 'not ready'}`, '');
    if (line) out.push(`> ${md(line)}`, '');
    for (const i of r.readiness!.items) out.push(`- ${i.status === 'ok' ? 'ok' : i.status === 'unknown' ? 'unknown' : '**not ready**'}: ${md(i.title)}: ${md(i.detail)}${i.status === 'not-ready' && i.fix ? ` Fix: \`${i.fix}\`` : ''}`);
    if (r.hostSpeed) out.push(`- ${md(r.hostSpeed)}`);
    out.push('');
  }
  if (model.warnings.length) {
    out.push(`### Warnings (${model.warnings.length})`, '');
    const finding = (w: Warning) => `${md(w.message)}${w.advice ? `. *${md(w.advice)}.*` : ''}`;
    for (const w of model.warnings.slice(0, MAX_WARNINGS)) {
      const head = `- **${w.severity}** ${md(subjectText(w.subject, model.multiHost))}:`;
      // An entry that groups the findings of one path and scenario lists them, most consequential first.
      if (w.findings) out.push(head, ...w.findings.map((f) => `  - ${finding(f)}`));
      else out.push(`${head} ${finding(w)}`);
    }
    if (model.warnings.length > MAX_WARNINGS) out.push(`- … and ${model.warnings.length - MAX_WARNINGS} more in index.html`);
    out.push('');
  }
  for (const r of model.runs.filter((x) => x.current && (x.order || x.wall))) {
    out.push(`<sub>Run ${md(r.id)}: ${[r.order ? orderWords(r.order) : '', r.wall ? describeWall(r.wall) : ''].filter(Boolean).map(md).join('; ')}.</sub>`, '');
  }
  out.push(`<sub>Mean intervals: ${md(model.methods.ci)}. Ratios: ${md(model.methods.ratio)}. Full report: index.html / report.pdf; every series: stats.csv, stats.json.</sub>`, '');
  return out.join('\n');
}
