import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/errors.ts';
import { renderReports } from '../../../harness/report/render.ts';
import { fixture } from './helpers.ts';

describe('renderReports', () => {
  it('writes every format and says why the PDF is missing when Chromium is not there', async () => {
    const out = mkdtempSync(join(tmpdir(), 'iopath-report-'));
    const lines: string[] = [];
    const r = await renderReports([fixture('tcg-dev-a-1')], out, { generatedAt: '2025-03-04T00:00:00Z', chromiumPath: '/nonexistent/chromium', log: (l) => lines.push(l) });
    expect(r.files.map((f) => f.slice(out.length + 1)).sort()).toEqual(['index.html', 'stats.csv', 'stats.json', 'summary.md']);
    expect(existsSync(join(out, 'report.pdf'))).toBe(false);
    expect(r.skipped).toEqual([{ file: join(out, 'report.pdf'), reason: expect.stringMatching(/no Chromium found \(looked at \/nonexistent\/chromium\); fix: apt-get install chromium/) }]);
    expect(lines.join('\n')).toMatch(/report\.pdf was not written: no Chromium found/);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/report\.pdf was not written: no Chromium found/);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/> report\.pdf was not written/);
    expect(r.figureErrors).toEqual([]);
    expect(r.notes).toEqual([expect.stringMatching(/report\.pdf was not written: no Chromium found/)]);
    // Every figure is embedded as a PNG.
    const pngs = [...readFileSync(join(out, 'index.html'), 'utf8').matchAll(/src="data:image\/png;base64,([^"]+)"/g)];
    expect(pngs.length).toBeGreaterThanOrEqual(8);
    for (const [, b64] of pngs) expect(Buffer.from(b64!, 'base64').subarray(1, 4).toString()).toBe('PNG');
  }, 60_000);

  it('skips the PDF when asked, and renders several runs as a merged report with a trend', async () => {
    const out = mkdtempSync(join(tmpdir(), 'iopath-report-'));
    const r = await renderReports([fixture('tcg-dev-a-1'), fixture('tcg-dev-a-2'), fixture('kvm-bench-b')], out, { pdf: false, generatedAt: '2025-03-04T00:00:00Z' });
    expect(r.skipped).toEqual([{ file: join(out, 'report.pdf'), reason: 'PDF not requested' }]);
    const page = readFileSync(join(out, 'index.html'), 'utf8');
    expect(page).toContain('id="trend"');
    expect(page).toContain('Throughput (receiver) over time');
    expect(page).toContain('<th>Host</th>');
    expect(page).toContain('VM exits per GB by exit reason');
  }, 60_000);

  it('refuses a folder that is not a run', async () => {
    await expect(renderReports([tmpdir()], mkdtempSync(join(tmpdir(), 'iopath-report-')), { pdf: false })).rejects.toBeInstanceOf(UsageError);
  });
});
