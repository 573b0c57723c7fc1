// `iopath compare` of two runs with variants: each variant's change against its path in the
// baseline and in the run, side by side, so a reader sees whether a feature's effect moved between
// the two (the series themselves are compared row by row like any path's).

import type { AblationEffect, AblationMeasure } from './ablation.ts';
import { effectWords } from './ablation.ts';
import { buildReportModel } from './build.ts';
import { escapeMarkdown as md, html, type SafeHtml } from './escape.ts';
import type { LoadedRun } from './load.ts';

/** One variant and measure, with its effect in each run (absent where that run did not measure it). */
export interface AblationPair {
  path: string;
  variant: string;
  change: string;
  measure: AblationMeasure;
  baseline?: AblationEffect;
  run?: AblationEffect;
}

/** The variants of both runs against their paths, matched by path, variant name and measure (hosts ignored, as in compare). */
export function compareAblation(baseline: LoadedRun, run: LoadedRun): AblationPair[] {
  const views = (r: LoadedRun) => buildReportModel([r], { generatedAt: r.record.startedAt }).ablation;
  const out = new Map<string, AblationPair>();
  for (const [side, r] of [['baseline', baseline], ['run', run]] as const) {
    for (const v of views(r)) {
      for (const row of v.rows) {
        for (const e of row.effects) {
          const key = `${v.path}\u0000${row.name}\u0000${e.measure}`;
          const pair = out.get(key) ?? { path: v.path, variant: row.name, change: row.change, measure: e.measure };
          pair[side] = e;
          out.set(key, pair);
        }
      }
    }
  }
  return [...out.values()];
}

const side = (e: AblationEffect | undefined) => (e ? effectWords(e) : 'not measured');

/** Markdown lines: one per variant and measure, baseline → run. */
export function ablationCompareMarkdown(pairs: readonly AblationPair[]): string[] {
  if (pairs.length === 0) return [];
  const out = ['### Variants against their paths, in each run', '', '| Path | Variant | Baseline | Run |', '| --- | --- | --- | --- |'];
  for (const p of pairs) out.push(`| ${md(p.path)} | ${md(p.change)} | ${md(side(p.baseline))} | ${md(side(p.run))} |`);
  out.push('');
  return out;
}

export function ablationCompareHtml(pairs: readonly AblationPair[]): SafeHtml {
  if (pairs.length === 0) return html``;
  return html`<h2>Variants against their paths, in each run</h2><p class="muted">Each variant's change against its own path within one run (95 % interval), in the baseline and in the run: whether a feature's effect moved between them.</p><table><thead><tr><th>Path</th><th>Variant</th><th>Baseline</th><th>Run</th></tr></thead><tbody>${pairs.map(
    (p) => html`<tr><td>${p.path}</td><td>${p.change}<br><span class="muted">${p.variant}</span></td><td>${side(p.baseline)}</td><td>${side(p.run)}</td></tr>`,
  )}</tbody></table>`;
}
