// The self-contained HTML report: one file, charts embedded as PNG data URIs, no external
// resources, every string from results and profiles escaped. A pure function of the model and the
// drawn figures.

import type { RenderedFigure } from './charts.ts';
import { html, raw, type SafeHtml } from './escape.ts';
import { directionWords, formatTime } from './format.ts';
import { REPORT_CSS } from './html-style.ts';
import {
  collectorsSection,
  flamesSection,
  costNotesSection,
  featuresSection,
  methodsSection,
  pathsSection,
  phasesSection,
  placementSection,
  provenanceSection,
  ratiosSection,
  summarySection,
  trendTable,
  warningsSection,
} from './html-sections.ts';
import { ablationSection } from './ablation-view.ts';
import { LAB_RATE_NOTE, LAB_RATE_SECTIONS, labRuns, labStatements } from './lab.ts';
import type { ReportModel } from './model.ts';

/** What the count figures are, said once above the figures. */
const COUNTS_LEAD =
  'Why a path is slow: how often the guest leaves to the hypervisor (VM exits, on KVM) or how often QEMU emulates a device access (device accesses, under software emulation), per GB moved and per packet; and how much host CPU the path burns per unit of work.';

function figureMarkup(f: RenderedFigure, lab = false): SafeHtml {
  const s = f.spec;
  const labWords = lab && LAB_RATE_SECTIONS.has(s.section) ? html` <strong>${capitalise(LAB_RATE_NOTE)} of any real host.</strong>` : '';
  const caption = html`<figcaption><strong>${s.title}.</strong> ${directionWords(s.direction)}. Source: ${s.sources.length ? s.sources.join(', ') : 'not recorded'}. ${s.caption}.${labWords}</figcaption>`;
  if (!f.png) return html`<div class="figure-error" id="${s.id}">Figure “${s.title}” could not be drawn: ${f.error ?? 'unknown error'}</div>`;
  return html`<figure id="${s.id}" class="${s.width}"><img src="data:image/png;base64,${f.png.toString('base64')}" alt="${s.title}">${caption}</figure>`;
}

/** The figures scenario by scenario, each scenario's pairs of half-width figures side by side. */
function figureGroups(model: ReportModel, figures: readonly RenderedFigure[]): SafeHtml {
  // Trend and ablation figures have sections of their own.
  const current = figures.filter((f) => f.spec.section !== 'trend' && f.spec.section !== 'ablation');
  const scenarios = [...new Set(current.map((f) => f.spec.scenario ?? ''))];
  const counted = current.some((f) => ['exits', 'device-accesses'].includes(f.spec.section));
  const lab = labRuns(model).length > 0;
  return html`<p class="lead">${COUNTS_LEAD}</p>${
    counted ? '' : html`<p>No exit or device-access counts in ${model.runs.length > 1 ? 'these runs' : 'this run'}. Why each collector could not count is under <a href="#collectors">Collectors</a>, or in the run notes (Provenance).</p>`
  }${scenarios.map(
    (sc) => html`<h3 id="fig-${sc || 'other'}">${sc || 'Other'}</h3><div class="figures">${current.filter((f) => (f.spec.scenario ?? '') === sc).map((f) => figureMarkup(f, lab))}</div>`,
  )}`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export interface HtmlOptions {
  /** A line about the PDF (e.g. why it was not produced), shown in the footer. */
  pdfNote?: string;
}

/** The reference path (`<path> (reference)`), or `the reference path of each host` when they differ. */
function referenceWords(model: ReportModel): string {
  const refs = [...new Set(model.references.map((r) => r.backend))];
  return refs.length === 1 ? `${refs[0]} (reference)` : 'the reference path of each host';
}

/** The whole report as one HTML document. */
export function renderHtml(model: ReportModel, figures: readonly RenderedFigure[], options: HtmlOptions = {}): string {
  const partial = model.runs.filter((r) => r.current && r.partial);
  const trendFigures = figures.filter((f) => f.spec.section === 'trend');
  const current = model.runs.filter((r) => r.current);
  const doc = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>${model.title}</title>
<style>${raw(REPORT_CSS)}</style>
</head>
<body>
<header>
<h1>${model.title}</h1>
<p class="verdict">${model.verdict}</p>
<p class="meta">${current.length > 1 ? `${current.length} runs merged, one per host: ` : 'Run '}${current.map((r) => `${r.id} on ${r.host} (${formatTime(r.startedAt)}, profile ${r.profile.name}, ${r.provenance ? r.provenance.accel.kind.toUpperCase() : 'accelerator unknown'})`).join('; ')}. Generated ${formatTime(model.generatedAt)}${model.iopathVersion ? ` by iopath ${model.iopathVersion}` : ''}.</p>
${labStatements(model).map((t) => html`<div class="banner lab">${t}</div>`)}
${partial.map((r) => html`<div class="banner"><strong>Partial run ${r.id}.</strong> ${r.partialReasons.join('; ')}. Only what was measured before it stopped is shown.</div>`)}
<nav class="toc"><a href="#summary">Summary</a><a href="#ratios">Ratios</a><a href="#costs">Cost notes and idle baseline</a>${model.ablation.length ? html`<a href="#ablation">Variants</a>` : ''}<a href="#figures">Figures</a><a href="#paths">Paths</a><a href="#collectors">Collectors</a>${model.backends.some((b) => b.flames?.length) ? html`<a href="#flames">Flame graphs</a>` : ''}<a href="#features">Features</a><a href="#placement">Placement and readiness</a><a href="#warnings">Warnings (${model.warnings.length})</a>${model.trend.length ? html`<a href="#trend">Trend</a>` : ''}<a href="#provenance">Provenance</a><a href="#phases">Phase timings</a><a href="#methods">Methods</a></nav>
</header>
<section id="summary"><h2>Summary</h2>${summarySection(model)}<h3 id="ratios">Paths relative to ${referenceWords(model)}</h3>${ratiosSection(model)}<h3 id="costs">How the cost figures were counted</h3>${costNotesSection(model)}</section>
${model.ablation.length ? html`<section id="ablation"><h2>Variants against their paths</h2>${ablationSection(model, figures)}</section>` : ''}
<section id="figures"><h2>Figures</h2>${figureGroups(model, figures)}</section>
<section id="paths"><h2>Paths</h2>${pathsSection(model)}<h3 id="collectors">Collectors per path</h3>${collectorsSection(model)}${flamesSection(model)}<h3 id="features">Negotiated features</h3>${featuresSection(model)}<h3 id="placement">CPU placement and host readiness</h3>${placementSection(model)}</section>
<section id="warnings"><h2>Warnings</h2>${warningsSection(model)}</section>
${model.trend.length ? html`<section id="trend"><h2>Trend</h2><p>Each metric over the runs of the same profile on the same host, oldest first.</p><div class="figures">${trendFigures.map((f) => figureMarkup(f))}</div>${trendTable(model)}</section>` : ''}
<section id="provenance"><h2>Provenance</h2>${provenanceSection(model)}</section>
<section id="phases"><h2>Phase timings</h2>${phasesSection(model)}</section>
<section id="methods"><h2>Methods</h2>${methodsSection(model)}</section>
<footer>iopath report · ${model.schema}${options.pdfNote ? ` · ${options.pdfNote}` : ''}</footer>
</body>
</html>
`;
  return doc.value;
}
