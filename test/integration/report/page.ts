// Open a rendered report in a real browser page and measure what a reader would see: console
// errors, network requests (a self-contained report makes none), and every image's pixels.
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

export interface LoadedPage {
  errors: string[];
  requests: string[];
  images: { alt: string; complete: boolean; width: number; variance: number }[];
}

export async function loadReport(page: Page, htmlFile: string): Promise<LoadedPage> {
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('dialog', (d) => {
    errors.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (!r.url().startsWith('data:')) requests.push(r.url());
  });
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.setContent(readFileSync(htmlFile, 'utf8'), { waitUntil: 'load' });
  const images = await page.evaluate(() => {
    // The DOM types are not in this project's tsconfig (Node only): just what is used here.
    type Img = { alt: string; complete: boolean; naturalWidth: number; naturalHeight: number };
    type Ctx = { drawImage(i: Img, x: number, y: number): void; getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
    type Doc = { images: ArrayLike<Img>; createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d'): Ctx | null } };
    const document = (globalThis as unknown as { document: Doc }).document;
    return Array.from(document.images).map((img) => {
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < d.length; i += 4) {
        const y = 0.2126 * d[i]! + 0.7152 * d[i + 1]! + 0.0722 * d[i + 2]!;
        sum += y;
        sq += y * y;
      }
      const n = d.length / 4;
      return { alt: img.alt, complete: img.complete, width: img.naturalWidth, variance: n ? sq / n - (sum / n) ** 2 : 0 };
    });
  });
  return { errors, requests, images };
}
