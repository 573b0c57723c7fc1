// `iopath report`: load run folders, build the model, draw the figures, and write index.html,
// report.pdf, summary.md, stats.csv and stats.json into one folder.

import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QualityThresholds } from '../stats/warnings.ts';
import { buildReportModel } from './build.ts';
import { renderFigures } from './charts.ts';
import { renderCsv, renderStatsJson } from './exports.ts';
import { buildFigures } from './figures.ts';
import { renderHtml } from './html.ts';
import { loadRun } from './load.ts';
import { renderMarkdown } from './markdown.ts';
import type { ReportModel } from './model.ts';
import { printPdf } from './pdf.ts';

export interface RenderOptions {
  /** Report title; default names the run(s) and profile. */
  title?: string;
  /** Time stamped on the report (default: now). */
  generatedAt?: Date | string;
  /** Print report.pdf (default true). */
  pdf?: boolean;
  /** Chromium binary for the PDF (default: $IOPATH_CHROMIUM, then /usr/bin/chromium, ...). */
  chromiumPath?: string;
  thresholds?: QualityThresholds;
  iopathVersion?: string;
  /** Progress lines (e.g. console.error); silent by default. */
  log?: (line: string) => void;
}

export interface RenderResult {
  /** Absolute or outDir-joined paths of every file written. */
  files: string[];
  /** Files not written, with the reason (e.g. report.pdf without Chromium). */
  skipped: { file: string; reason: string }[];
  /** Figures that could not be drawn (the report says so in their place). */
  figureErrors: { id: string; error: string }[];
  /** Lines worth showing the user on the console: a skipped PDF, undrawable figures, a partial run. */
  notes: string[];
  model: ReportModel;
}

/**
 * Render every report format from stored results; needs no VM. Throws a UsageError for a folder that
 * is not a run; a partial run is rendered and marked partial; a missing Chromium skips only the PDF.
 */
export async function renderReports(runDirs: string[], outDir: string, options: RenderOptions = {}): Promise<RenderResult> {
  const log = options.log ?? (() => {});
  const runs = runDirs.map(loadRun);
  const generatedAt = options.generatedAt === undefined ? new Date().toISOString() : new Date(options.generatedAt).toISOString();
  const model = buildReportModel(runs, {
    generatedAt,
    ...(options.title ? { title: options.title } : {}),
    ...(options.thresholds ? { thresholds: options.thresholds } : {}),
    ...(options.iopathVersion ? { iopathVersion: options.iopathVersion } : {}),
  });
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const skipped: RenderResult['skipped'] = [];
  const put = async (name: string, content: string | Buffer) => {
    const file = join(outDir, name);
    await writeFile(file, content);
    files.push(file);
  };

  // Flame graphs are copied beside index.html (which links them relatively), so the report folder
  // holds everything it links; one missing from the run folder is said instead of linked dead.
  const flameNotes: string[] = [];
  for (const r of runs) {
    for (const b of model.backends.filter((x) => x.run === r.record.run && x.host === r.host)) {
      for (const f of b.flames ?? []) {
        try {
          await mkdir(join(outDir, 'flame'), { recursive: true });
          await copyFile(join(r.dir, f.file), join(outDir, f.href));
          files.push(join(outDir, f.href));
        } catch (err) {
          flameNotes.push(`flame graph ${f.file} of ${b.id} could not be copied: ${(err as Error).message}`);
        }
      }
    }
  }

  log(`drawing ${model.series.length} series from ${runs.length} run(s)`);
  const figures = await renderFigures(buildFigures(model));
  const figureErrors = figures.filter((f) => f.error).map((f) => ({ id: f.spec.id, error: f.error! }));

  const pdfFile = join(outDir, 'report.pdf');
  let pdfNote: string | undefined;
  let pdfSkip: string | undefined;
  if (options.pdf === false) pdfSkip = 'PDF not requested';
  const htmlText = (note?: string) => renderHtml(model, figures, note ? { pdfNote: note } : {});

  await put('index.html', htmlText());
  if (!pdfSkip) {
    log('printing report.pdf with headless Chromium');
    const outcome = await printPdf(htmlText(), pdfFile, options.chromiumPath ? { chromiumPath: options.chromiumPath } : {});
    if (outcome.written) files.push(pdfFile);
    else pdfSkip = outcome.reason;
  }
  if (pdfSkip) {
    skipped.push({ file: pdfFile, reason: pdfSkip });
    pdfNote = `report.pdf was not written: ${pdfSkip}`;
    log(pdfNote);
    // Say it in the HTML too, so a reader of index.html knows why there is no PDF beside it.
    await writeFile(join(outDir, 'index.html'), htmlText(pdfNote));
  }
  await put('summary.md', renderMarkdown(model) + (pdfNote ? `\n> ${pdfNote}\n` : ''));
  await put('stats.csv', renderCsv(model));
  await put('stats.json', renderStatsJson(model));
  const notes = [
    ...model.runs.filter((r) => r.current && r.partial).map((r) => `run ${r.id} is partial: ${r.partialReasons.join('; ')}`),
    ...figureErrors.map((f) => `figure ${f.id} could not be drawn: ${f.error}`),
    ...flameNotes,
    ...skipped.filter((x) => x.reason !== 'PDF not requested').map((x) => `${x.file} was not written: ${x.reason}`),
  ];
  return { files, skipped, figureErrors, notes, model };
}
