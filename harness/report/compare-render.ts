// Views of a CompareResult: Markdown (for a CI job summary), a self-contained HTML page with a
// small interval plot per row, and the files `iopath compare --out DIR` writes.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { metricInfo } from '../metrics.ts';
import { formatP } from '../stats/series.ts';
import { ablationCompareHtml, ablationCompareMarkdown } from './compare-ablation.ts';
import type { CompareResult, ComparisonRow, Verdict } from './compare.ts';
import { escapeMarkdown as md, html, raw, type SafeHtml } from './escape.ts';
import { directionWords, displayScale, formatDims, formatPercent, formatScaled, formatTime } from './format.ts';
import { REPORT_CSS } from './html-style.ts';

const VERDICT_CLASS: Record<Verdict, string> = { better: 'better', worse: 'worse', 'no significant change': 'same', changed: 'neutral' };

function means(r: ComparisonRow): { base: string; run: string } {
  const scale = displayScale(r.unit, Math.max(Math.abs(r.baseline.mean), Math.abs(r.run.mean)));
  return { base: `${formatScaled(r.baseline.mean, scale)} ${scale.unit}`, run: `${formatScaled(r.run.mean, scale)} ${scale.unit}` };
}

function changeText(r: ComparisonRow): string {
  if (r.changePercent === null) return 'n/a';
  return `${formatPercent(r.changePercent, true)}${r.ci ? ` [${formatPercent(r.ci.low, true)}, ${formatPercent(r.ci.high, true)}]` : ''}`;
}

function metricText(r: ComparisonRow): string {
  const d = formatDims(r.dims);
  const arrow = r.direction === 'higher-is-better' ? ' ↑' : r.direction === 'lower-is-better' ? ' ↓' : '';
  return `${metricInfo(r.metric).title}${d ? ` (${d})` : ''}${arrow}`;
}

function headerLines(c: CompareResult): string[] {
  const s = (x: CompareResult['baseline']) => `\`${x.id}\` on ${md(x.host)}, ${md(formatTime(x.startedAt))}, profile ${md(x.profile.name)}${x.accel ? `, ${x.accel.toUpperCase()}` : ''}${x.partial ? ' **(partial)**' : ''}`;
  return [`Baseline: ${s(c.baseline)}  `, `Run: ${s(c.run)}  `, `Test: ${md(c.options.test === 'welch' ? "Welch's t-test" : 'permutation test of the means')}, α = ${c.options.alpha}, noise floor ${c.options.noiseFloorPercent} %; a change is flagged only when it is significant and beyond the floor.`];
}

function mdTable(rows: readonly ComparisonRow[]): string[] {
  const out = ['| Path | Scenario | Metric | Baseline mean | Run mean | Change [95 % CI] | p | Verdict |', '| --- | --- | --- | ---: | ---: | ---: | ---: | --- |'];
  for (const r of rows) {
    const m = means(r);
    const v = r.verdict === 'worse' ? '**worse** ❌' : r.verdict === 'better' ? '**better** ✅' : r.verdict;
    out.push(`| ${md(r.backend)} | ${md(r.scenario)} | ${md(metricText(r))} | ${md(m.base)} | ${md(m.run)} | ${changeText(r)} | ${formatP(r.p)} | ${v} |`);
  }
  return out;
}

export function renderCompareMarkdown(c: CompareResult): string {
  const out = [`## iopath compare: ${md(c.baseline.id)} → ${md(c.run.id)}`, '', `**${md(c.verdict)}**`, '', ...headerLines(c), ''];
  const flagged = c.rows.filter((r) => r.verdict !== 'no significant change');
  if (flagged.length) out.push('### Flagged', '', ...mdTable(flagged), '');
  if (c.warnings.length) {
    out.push('### Warnings', '');
    for (const w of c.warnings) out.push(`- **${w.severity}**${w.subject.backend ? ` ${md(w.subject.backend)}` : ''}: ${md(w.message)}${w.advice ? `. *${md(w.advice)}.*` : ''}`);
    out.push('');
  }
  if (c.onlyInBaseline.length || c.onlyInRun.length) {
    const list = (xs: CompareResult['onlyInRun']) => xs.map((x) => `${md(x.backend)} ${md(x.scenario)} ${md(metricInfo(x.metric).title)}${formatDims(x.dims) ? ` (${md(formatDims(x.dims))})` : ''}`).join('; ');
    if (c.onlyInBaseline.length) out.push(`Only in the baseline (not compared): ${list(c.onlyInBaseline)}.`, '');
    if (c.onlyInRun.length) out.push(`Only in the run (not compared): ${list(c.onlyInRun)}.`, '');
  }
  out.push(...ablationCompareMarkdown(c.ablation));
  out.push(`<details><summary>All ${c.rows.length} comparisons</summary>`, '', ...mdTable(c.rows), '', '</details>', '');
  return out.join('\n');
}

/** An interval plot of one row: the floor band, zero, the change and its interval, on a shared scale. */
function intervalPlot(r: ComparisonRow, span: number, floor: number): SafeHtml {
  const w = 220;
  const h = 22;
  const x = (v: number) => Math.max(2, Math.min(w - 2, w / 2 + (v / span) * (w / 2 - 6)));
  const color = r.verdict === 'worse' ? '#c4271c' : r.verdict === 'better' ? '#1a7f37' : '#555';
  if (r.changePercent === null) return html`<span class="muted">n/a</span>`;
  const ci = r.ci ? html`<line x1="${x(r.ci.low).toFixed(1)}" x2="${x(r.ci.high).toFixed(1)}" y1="11" y2="11" stroke="${color}" stroke-width="2"/>` : '';
  return html`<svg width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="change ${formatPercent(r.changePercent, true)}"><rect x="${x(-floor).toFixed(1)}" y="2" width="${(x(floor) - x(-floor)).toFixed(1)}" height="18" fill="#eceff3"/><line x1="${x(0).toFixed(1)}" x2="${x(0).toFixed(1)}" y1="0" y2="${h}" stroke="#999"/>${ci}<circle cx="${x(r.changePercent).toFixed(1)}" cy="11" r="4" fill="${color}"/></svg>`;
}

export function renderCompareHtml(c: CompareResult): string {
  const extremes = c.rows.flatMap((r) => [r.changePercent ?? 0, r.ci?.low ?? 0, r.ci?.high ?? 0].map(Math.abs));
  // Wide intervals run off the edge rather than squeezing the floor band to nothing.
  const span = Math.min(Math.max(c.options.noiseFloorPercent * 2, ...extremes.filter(Number.isFinite)) * 1.05, Math.max(30, c.options.noiseFloorPercent * 3));
  const order: Record<Verdict, number> = { worse: 0, better: 1, changed: 2, 'no significant change': 3 };
  const rows = [...c.rows].sort((a, b) => order[a.verdict] - order[b.verdict]);
  const sideText = (x: CompareResult['baseline']) => `${x.id} on ${x.host}, ${formatTime(x.startedAt)}, profile ${x.profile.name}${x.accel ? `, ${x.accel.toUpperCase()}` : ''}${x.partial ? ' (partial)' : ''}`;
  const doc = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>iopath compare: ${c.baseline.id} → ${c.run.id}</title><style>${raw(REPORT_CSS)}${raw('body { max-width: 1280px; } .badge { white-space: normal; }')}</style></head>
<body>
<h1>iopath compare</h1>
<p class="verdict">${c.verdict}</p>
<p class="meta">Baseline: ${sideText(c.baseline)}.<br>Run: ${sideText(c.run)}.<br>${c.options.test === 'welch' ? "Welch's t-test" : 'Permutation test of the difference of means'}, α = ${c.options.alpha}; relative noise floor ${c.options.noiseFloorPercent} % (grey band); flagged rows first. A change is flagged only when it is significant <em>and</em> beyond the floor; better or worse follows each metric's direction. Change intervals: delta method on the ratio of means.</p>
${c.warnings.length ? html`<ul class="warnings">${c.warnings.map((w) => html`<li><span class="badge ${w.severity}">${w.severity}</span> ${w.subject.backend ? html`<strong>${w.subject.backend}</strong>: ` : ''}${w.message}.${w.advice ? html` <span class="advice">What to do: ${w.advice}.</span>` : ''}</li>`)}</ul>` : ''}
<table><thead><tr><th>Path · scenario</th><th>Metric</th><th class="num">Baseline mean (n)</th><th class="num">Run mean (n)</th><th class="num">Change [95 % CI]</th><th>−${span.toFixed(0)} % … +${span.toFixed(0)} %</th><th class="num">p</th><th>Verdict</th></tr></thead>
<tbody>${rows.map((r) => {
    const m = means(r);
    return html`<tr><td>${r.backend}<br><span class="muted">${r.scenario}</span></td><td>${metricText(r)}<br><span class="dir">${directionWords(r.direction)}</span></td><td class="num">${m.base} (${r.baseline.n})</td><td class="num">${m.run} (${r.run.n})</td><td class="num">${changeText(r)}</td><td>${intervalPlot(r, span, c.options.noiseFloorPercent)}</td><td class="num">${formatP(r.p)}</td><td><span class="badge ${VERDICT_CLASS[r.verdict]}">${r.verdict}</span>${r.note ? html`<br><span class="muted">${r.note}</span>` : ''}</td></tr>`;
  })}</tbody></table>
${c.onlyInBaseline.length ? html`<p class="muted">Only in the baseline (not compared): ${c.onlyInBaseline.map((x) => `${x.backend} ${x.scenario} ${x.metric}${formatDims(x.dims) ? ` (${formatDims(x.dims)})` : ''}`).join('; ')}.</p>` : ''}
${c.onlyInRun.length ? html`<p class="muted">Only in the run (not compared): ${c.onlyInRun.map((x) => `${x.backend} ${x.scenario} ${x.metric}${formatDims(x.dims) ? ` (${formatDims(x.dims)})` : ''}`).join('; ')}.</p>` : ''}
${ablationCompareHtml(c.ablation)}
<footer>iopath compare · ${c.schema}</footer>
</body></html>
`;
  return doc.value;
}

/** Write compare.html, compare.md and compare.json into outDir. */
export async function writeComparison(c: CompareResult, outDir: string): Promise<{ files: string[] }> {
  await mkdir(outDir, { recursive: true });
  const files = [join(outDir, 'compare.html'), join(outDir, 'compare.md'), join(outDir, 'compare.json')];
  await writeFile(files[0]!, renderCompareHtml(c));
  await writeFile(files[1]!, renderCompareMarkdown(c));
  await writeFile(files[2]!, JSON.stringify(c, null, 2) + '\n');
  return { files };
}
