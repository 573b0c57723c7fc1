// Printing the HTML report to an A4 PDF with the system's headless Chromium (Debian `chromium`),
// driven by playwright-core. Never downloads a browser; a missing Chromium is a skip with a reason.

import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian and other distributions put Chromium, in the order they are tried. */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/snap/bin/chromium'];

/** Flags for a headless, offline, throw-away browser (root needs --no-sandbox). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export type ChromiumLookup = { path: string } | { reason: string; fix: string };

/**
 * Find an executable Chromium: only the explicit path when one is given; otherwise
 * $IOPATH_CHROMIUM, then the usual places.
 */
export function findChromium(explicit?: string): ChromiumLookup {
  const candidates = explicit ? [explicit] : [process.env.IOPATH_CHROMIUM, ...CHROMIUM_CANDIDATES].filter((p): p is string => !!p);
  for (const p of candidates) {
    try {
      accessSync(p, constants.X_OK);
      return { path: p };
    } catch {
      // try the next one
    }
  }
  return { reason: `no Chromium found (looked at ${candidates.join(', ')})`, fix: 'apt-get install chromium (or set IOPATH_CHROMIUM to a Chromium binary)' };
}

export interface BrowserSession {
  page: import('playwright-core').Page;
  close(): Promise<void>;
}

/**
 * Start Chromium with a fresh profile directory and one page that may not fetch anything over the
 * network (the report is self-contained; a request would be a bug). `close()` ends the browser and
 * removes the profile, and runs once.
 */
export async function openBrowser(chromiumPath: string): Promise<BrowserSession> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'iopath-chromium-'));
  let context: import('playwright-core').BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  } catch (err) {
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  await page.route(/^(?!data:|about:)/, (route) => route.abort());
  let closed: Promise<void> | undefined;
  return {
    page,
    close: () =>
      (closed ??= (async () => {
        try {
          await context.close();
        } finally {
          // On a slow host Chromium's helpers may still be writing to the profile as the browser
          // exits; retrying the removal waits for them rather than failing a printed report.
          await rm(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
        }
      })()),
  };
}

export type PdfOutcome = { written: true; file: string } | { written: false; reason: string };

/** Print `html` to `outFile` on A4 with page numbers. A missing Chromium or a failed print is a reason, not a throw. */
export async function printPdf(html: string, outFile: string, options: { chromiumPath?: string } = {}): Promise<PdfOutcome> {
  const found = findChromium(options.chromiumPath);
  if (!('path' in found)) return { written: false, reason: `${found.reason}; fix: ${found.fix}` };
  let session: BrowserSession | undefined;
  try {
    session = await openBrowser(found.path);
    const { page } = session;
    await page.setContent(html, { waitUntil: 'load', timeout: 60_000 });
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({
      format: 'A4',
      printBackground: true,
      preferCSSPageSize: true,
      displayHeaderFooter: true,
      headerTemplate: '<span></span>',
      footerTemplate: '<div style="font-size:8px;width:100%;text-align:center;color:#555;font-family:sans-serif"><span class="title"></span> · page <span class="pageNumber"></span> of <span class="totalPages"></span></div>',
    });
    await writeFile(outFile, pdf);
    return { written: true, file: outFile };
  } catch (err) {
    return { written: false, reason: `Chromium could not print the PDF: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    await session?.close();
  }
}
