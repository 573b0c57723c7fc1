// How the ablation view reads (see ablation.ts for what it computes): per path with variants, a
// figure of every variant's ratios to the path, a table of the same changes with their intervals,
// and one line of words per variant, the largest effect first. The same table feeds the HTML and the
// Markdown summary, so the two never disagree.

import { html, type SafeHtml } from './escape.ts';
import { escapeMarkdown as md } from './escape.ts';
import { ablationMethod, intervalWords, percentChange, rowWords, shownInterval, type AblationEffect, type AblationView } from './ablation.ts';
import { MIN_WHISKER_N } from './figure-parts.ts';
import { MEASURE_TITLES, measureLabel, measuresOf, who } from './ablation-figure.ts';
import type { RenderedFigure } from './charts.ts';
import { slug } from './figure-parts.ts';
import { formatValue } from './format.ts';
import { tableHtml } from './html-sections.ts';
import type { ReportModel } from './model.ts';
import type { Cell, Column, Table } from './summary.ts';

function effectCell(e: AblationEffect | undefined): Cell {
  if (!e) return { text: 'n/a' };
  const how = e.interval === 'paired' ? `${e.n} rounds, paired` : `n = ${e.n} per series, bootstrap`;
  return {
    text: percentChange(e.ratio),
    note: intervalWords(shownInterval(e)) || `n = ${e.n}: no interval below ${MIN_WHISKER_N}`,
    title: `${formatValue(e.value, e.unit)} against ${formatValue(e.base, e.unit)} (medians); ratio ${e.ratio.toFixed(3)}; ${how}`,
  };
}

/** Every variant of one path against it: the change of each measure in percent with its 95 % interval. */
export function ablationTable(model: Pick<ReportModel, 'multiHost'>, v: AblationView): Table {
  const measures = measuresOf(v);
  const columns: Column[] = [
    { text: 'Variant', num: false },
    { text: 'Changes', num: false },
    ...measures.map((m) => ({ text: measureLabel(v, m), sub: MEASURE_TITLES[m].sub, num: true, group: 'Change (95 % interval)' })),
  ];
  const rows = v.rows.map((r) => [
    { text: r.name, ...(r.refused.length ? { note: `not followed: ${r.refused.join(', ')}` } : {}) },
    { text: r.change },
    ...measures.map((m) => effectCell(r.effects.find((e) => e.measure === m))),
  ]);
  return { caption: `Variants of ${who(model, v)} against ${v.path} with QEMU's defaults, largest effect first`, columns, rows };
}

/** The HTML section: per path, its figure, its table and one line per variant. */
export function ablationSection(model: ReportModel, figures: readonly RenderedFigure[]): SafeHtml {
  return html`<p>What each variant of a path (profile <code>variants</code>) changed against the path itself, measured with QEMU's defaults in the same run. A ratio below 1× on throughput or packet rate is a loss; on a count or on CPU per Gbit/s it is a saving. ${capital(ablationMethod(model.ablation))}.</p>${model.ablation.map((v) => {
    const f = figures.find((x) => x.spec.id === slug('ablation', v.host, v.path));
    const figure = f?.png
      ? html`<figure id="${f.spec.id}" class="full"><img src="data:image/png;base64,${f.png.toString('base64')}" alt="${f.spec.title}"><figcaption><strong>${f.spec.title}.</strong> ${f.spec.caption}.</figcaption></figure>`
      : f
        ? html`<div class="figure-error" id="${f.spec.id}">Figure “${f.spec.title}” could not be drawn: ${f.error ?? 'unknown error'}</div>`
        : html``;
    return html`<h3 id="${slug('ablation-of', v.host, v.path)}">${who(model, v)}</h3>${figure}${tableHtml(ablationTable(model, v), 'ablation')}<ul class="notes">${v.rows.map((r) => html`<li>${rowWords(r)}</li>`)}</ul>${
      v.missing.length ? html`<p class="muted">Not compared (no measured series of their own): ${v.missing.join(', ')}.</p>` : ''
    }`;
  })}`;
}

/** The Markdown lines: per path, the table and the words. */
export function ablationMarkdown(model: ReportModel, mdTable: (t: Table) => string[]): string[] {
  if (model.ablation.length === 0) return [];
  const out: string[] = [];
  for (const v of model.ablation) {
    out.push(`### Variants of ${md(who(model, v))}`, '', ...mdTable(ablationTable(model, v)));
    for (const r of v.rows) out.push(`- ${md(rowWords(r))}`);
    if (v.missing.length) out.push(`- not compared (no measured series of their own): ${md(v.missing.join(', '))}`);
    out.push('');
  }
  out.push(`<sub>Variants: ${md(ablationMethod(model.ablation))}.</sub>`, '');
  return out;
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
