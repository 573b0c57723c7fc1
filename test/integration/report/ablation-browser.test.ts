// The Variants section of a report in real headless Chromium: a stored run with variants
// (IOPATH_ABLATION_RUN, e.g. a real sweep's results folder, or the fixture tcg-variants) renders
// with no console errors and no requests, its ablation figure drawn and not blank, its table and
// words on the page.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { findChromium, openBrowser, type BrowserSession } from '../../../harness/report/pdf.ts';
import { renderReports, type RenderResult } from '../../../harness/report/render.ts';
import { needs } from '../../helpers/host.ts';
import { fixture } from '../../unit/report/helpers.ts';
import { loadReport } from './page.ts';

const chromium = findChromium();
const browser = needs('report tests in Chromium', 'path' in chromium ? undefined : `${chromium.reason} (${chromium.fix})`);
const runDir = process.env.IOPATH_ABLATION_RUN ? resolve(process.env.IOPATH_ABLATION_RUN) : fixture('tcg-variants');

browser.describe('the Variants section in headless Chromium', () => {
  let result: RenderResult;
  let out: string;
  let session: BrowserSession;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'iopath-ablation-browser-'));
    result = await renderReports([runDir], out, { generatedAt: '2025-03-05T00:00:00Z', pdf: false });
    session = await openBrowser((chromium as { path: string }).path);
  }, 180_000);

  afterAll(async () => {
    await session?.close();
  });

  browser.it('loads with no errors and no requests, the ablation figure drawn, its table and words shown', async () => {
    const { page } = session;
    const { errors, requests, images } = await loadReport(page, join(out, 'index.html'));
    expect(result.figureErrors).toEqual([]);
    const views = result.model.ablation;
    expect(views.length).toBeGreaterThan(0);
    const ablation = images.filter((i) => i.alt.startsWith('Variants of'));
    expect(ablation).toHaveLength(views.length);
    for (const img of ablation) {
      expect(img.complete, img.alt).toBe(true);
      expect(img.width, img.alt).toBeGreaterThan(500);
      expect(img.variance, `${img.alt} looks blank`).toBeGreaterThan(100);
    }
    const section = page.locator('section#ablation');
    expect(await section.locator('table.ablation tbody tr').count()).toBe(views.reduce((n, v) => n + v.rows.length, 0));
    const words = await section.locator('ul.notes li').allInnerTexts();
    expect(words).toHaveLength(views.reduce((n, v) => n + v.rows.length, 0));
    for (const w of words) expect(w).toMatch(/: throughput [-+]?\d/);
    expect(await page.locator('nav.toc a[href="#ablation"]').count()).toBe(1);
    console.log(words.join('\n'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 120_000);
});
