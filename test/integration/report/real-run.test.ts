// The report of a real run (test/fixtures/runs/real-tcg-quick) end to end: every format written,
// the HTML in real headless Chromium with no console errors and every chart drawn and not blank,
// and a PDF that reads well on paper in a bounded number of pages.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { onPath } from '../../../harness/host/facts.ts';
import { needs } from '../../helpers/host.ts';
import { loadReport } from './page.ts';
import { findChromium, openBrowser, type BrowserSession } from '../../../harness/report/pdf.ts';
import { renderReports, type RenderResult } from '../../../harness/report/render.ts';
import { fixture } from '../../unit/report/helpers.ts';

const OUTPUT = resolve(import.meta.dirname, '../../../test-output/report');
/** A quick run (3 paths, 3 scenarios, 2 payload sizes) must read well in about 8 to 15 A4 pages. */
const MAX_PAGES = 15;


const chromium = findChromium();
const browser = needs('report tests in Chromium', 'path' in chromium ? undefined : `${chromium.reason} (${chromium.fix})`);
const poppler = needs('PDF page checks', onPath('pdfinfo') && onPath('pdftotext') ? undefined : 'poppler-utils (pdfinfo, pdftotext) is not installed: apt-get install poppler-utils');

browser.describe('report of a real run in headless Chromium', () => {
  let result: RenderResult;
  let out: string;
  let session: BrowserSession;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'iopath-real-report-'));
    result = await renderReports([fixture('real-tcg-quick')], out, { generatedAt: '2026-11-28T18:00:00Z' });
    session = await openBrowser((chromium as { path: string }).path);
  }, 180_000);

  afterAll(async () => {
    await session?.close();
  });

  it('writes every format, every figure drawn', () => {
    expect(result.files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['index.html', 'report.pdf', 'stats.csv', 'stats.json', 'summary.md']);
    expect(result.figureErrors).toEqual([]);
    expect(result.notes).toEqual([]);
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8'));
    expect(stats.costs.length).toBeGreaterThan(30);
    expect(stats.idle.map((i: { backend: string }) => i.backend)).toEqual(['e1000', 'virtio-net', 'vhost-user-testpmd']);
  });

  it('loads with no console errors and no requests, every chart image loaded and not blank', async () => {
    const { page } = session;
    const { errors, requests, images } = await loadReport(page, join(out, 'index.html'));
    expect(images.length).toBeGreaterThanOrEqual(10);
    for (const img of images) {
      expect(img.complete, img.alt).toBe(true);
      expect(img.width, img.alt).toBeGreaterThan(500);
      expect(img.variance, `${img.alt} looks blank`).toBeGreaterThan(100);
    }
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('#summary h3').allInnerTexts()).toEqual(expect.arrayContaining([expect.stringMatching(/^tcp-stream/), expect.stringMatching(/^udp-small/), expect.stringMatching(/^latency/)]));
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'real-index.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 120_000);

  poppler.it(`prints a PDF of at most ${MAX_PAGES} A4 pages: verdict first, methods last`, () => {
    const pdf = join(out, 'report.pdf');
    const info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)![1]);
    console.log(`real-tcg-quick report.pdf: ${pages} pages`);
    expect(pages).toBeGreaterThanOrEqual(6);
    expect(pages).toBeLessThanOrEqual(MAX_PAGES);
    const first = execFileSync('pdftotext', ['-f', '1', '-l', '1', '-layout', pdf, '-'], { encoding: 'utf8' });
    expect(first).toMatch(/virtio-net reaches [\d.]+×/);
    expect(first).toContain('tcp-stream');
    const last = execFileSync('pdftotext', ['-f', String(pages), '-l', String(pages), pdf, '-'], { encoding: 'utf8' });
    expect(last).toContain('Methods');
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(join(OUTPUT, 'real-report.pdf'), readFileSync(pdf));
  });
});
