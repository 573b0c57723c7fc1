// The HTML report of a fixture run in real headless Chromium (Debian's, via playwright-core) and
// its PDF through poppler: no console errors, every chart loaded and not blank, readable pages.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadImage, createCanvas } from 'canvas';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { onPath } from '../../../harness/host/facts.ts';
import { needs } from '../../helpers/host.ts';
import { loadReport } from './page.ts';
import { findChromium, openBrowser, type BrowserSession } from '../../../harness/report/pdf.ts';
import { renderReports, type RenderResult } from '../../../harness/report/render.ts';
import { HOSTILE, hostileRun } from '../../unit/report/helpers.ts';

const OUTPUT = resolve(import.meta.dirname, '../../../test-output/report');


const chromium = findChromium();
const browser = needs('report tests in Chromium', 'path' in chromium ? undefined : `${chromium.reason} (${chromium.fix})`);
const poppler = needs('PDF page checks', onPath('pdftoppm') && onPath('pdfinfo') && onPath('pdftotext') ? undefined : 'poppler-utils (pdfinfo, pdftoppm, pdftotext) is not installed: apt-get install poppler-utils');

/** Population variance of the luminance of an RGBA buffer: 0 for a blank (single-colour) image. */
function lumaVariance(rgba: Uint8ClampedArray): number {
  let sum = 0;
  let sq = 0;
  const n = rgba.length / 4;
  for (let i = 0; i < rgba.length; i += 4) {
    const y = 0.2126 * rgba[i]! + 0.7152 * rgba[i + 1]! + 0.0722 * rgba[i + 2]!;
    sum += y;
    sq += y * y;
  }
  const mean = sum / n;
  return sq / n - mean * mean;
}

browser.describe('HTML report in headless Chromium', () => {
  let result: RenderResult;
  let out: string;
  let session: BrowserSession;

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'iopath-browser-'));
    result = await renderReports([hostileRun()], out, { generatedAt: '2025-03-04T00:00:00Z' });
    session = await openBrowser((chromium as { path: string }).path);
  }, 180_000);

  afterAll(async () => {
    await session?.close();
  });

  it('loads with no console errors, no requests, and every chart drawn', async () => {
    const { page } = session;
    const { errors, requests, images } = await loadReport(page, join(out, 'index.html'));
    expect(images.length).toBeGreaterThanOrEqual(8);
    for (const img of images) {
      expect(img.complete, img.alt).toBe(true);
      expect(img.width, img.alt).toBeGreaterThan(500);
      expect(img.variance, `${img.alt} looks blank`).toBeGreaterThan(100);
    }
    // The hostile profile name is text on the page, not markup.
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('h1').innerText()).toContain(HOSTILE);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'index.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  }, 120_000);

  poppler.it('prints a PDF whose pages read: title first, methods last, first page not blank', async () => {
    const pdf = join(out, 'report.pdf');
    expect(result.files).toContain(pdf);
    expect(result.skipped).toEqual([]);
    const info = execFileSync('pdfinfo', [pdf], { encoding: 'utf8' });
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info)![1]);
    expect(info).toMatch(/Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)/);
    // Summary, figures (two per page), paths, warnings, provenance, phases: between 5 and 16 A4 pages.
    expect(pages).toBeGreaterThanOrEqual(5);
    expect(pages).toBeLessThanOrEqual(16);
    const first = execFileSync('pdftotext', ['-f', '1', '-l', '1', '-layout', pdf, '-'], { encoding: 'utf8' });
    expect(first).toContain('iopath report');
    expect(first).toMatch(/virtio-net reaches 3\.\d+×/);
    expect(first).toMatch(/page 1 of \d+/);
    const last = execFileSync('pdftotext', ['-f', String(pages), '-l', String(pages), pdf, '-'], { encoding: 'utf8' });
    expect(last).toContain('Methods');
    mkdirSync(OUTPUT, { recursive: true });
    writeFileSync(join(OUTPUT, 'report.pdf'), readFileSync(pdf));
    execFileSync('pdftoppm', ['-f', '1', '-l', '1', '-r', '60', '-png', '-singlefile', pdf, join(OUTPUT, 'report-page1')]);
    const img = await loadImage(join(OUTPUT, 'report-page1.png'));
    const canvas = createCanvas(img.width, img.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const variance = lumaVariance(ctx.getImageData(0, 0, img.width, img.height).data);
    expect(img.width).toBeGreaterThan(400);
    expect(variance).toBeGreaterThan(50);
  }, 120_000);
});
