// A short real bench on virtio-net with flame graphs on: perf samples the path's host threads in its
// first measured repetition, run.json records that repetition's intrusion (samples, perf's CPU
// time, the SVG), the report leaves it out of statistics and links the SVG, and the SVG opens in
// headless Chromium with no console error, its viewer zooming on a click.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { onPath } from '../../../harness/host/facts.ts';
import { findChromium, openBrowser, type BrowserSession } from '../../../harness/report/pdf.ts';
import { renderReports } from '../../../harness/report/render.ts';
import { runRecordSchema } from '../../../harness/run/record.ts';
import { benchProfile } from '../../helpers/cli.ts';
import { leftovers, needs, whyNoGuests } from '../../helpers/host.ts';

const chromium = findChromium();
const why =
  whyNoGuests() ??
  (onPath('perf') ? undefined : 'needs perf (apt-get install -y linux-perf)') ??
  ('path' in chromium ? undefined : `${chromium.reason} (${chromium.fix})`);
const flame = needs('flame collector integration', why);

describe('flame graphs of a real bench', () => {
  let session: BrowserSession | undefined;
  afterAll(async () => {
    await session?.close();
  });

  flame.it('samples virtio-net\'s first measured repetition, leaves it out of statistics and links an SVG that opens cleanly', async () => {
    const { dir, status, stderr, runDir: found } = await benchProfile('backends: [virtio-net]\nrepetitions: 2\nwarmup: 0\naccel: tcg\nflame: true\nscenarios:\n  - kind: tcp-stream\n    durationSec: 3\n    omitSec: 0\n', 'flame');
    expect(status, stderr.slice(-3000)).toBe(0);
    const runDir = found!;
    const record = runRecordSchema.parse(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')));
    expect(record.status).toBe('complete');
    const path = record.backends.find((b) => b.id === 'virtio-net')!;
    expect(path.collectors?.find((c) => c.id === 'flame')).toMatchObject({ available: true });

    // Only the first measured repetition was sampled.
    const measured = path.reps.filter((r) => !r.warmup);
    expect(measured.map((r) => (r.intrusions ?? []).map((i) => i.collector))).toEqual([['flame'], []]);
    const intrusion = measured[0]!.intrusions![0]!;
    expect(intrusion.samples).toBeGreaterThan(0);
    expect(intrusion.cpuSec).toBeGreaterThanOrEqual(0);
    const svgFile = join(runDir, intrusion.files[0]!);
    expect(svgFile.endsWith('.svg')).toBe(true);
    const svg = readFileSync(svgFile, 'utf8');
    // Both guests' QEMUs appear under their roles, their vCPU threads by name.
    expect(svg).toContain('data-name="qemu a"');
    expect(svg).toContain('data-name="qemu b"');
    expect(svg).toMatch(/data-name="CPU 0\/TCG"/);
    const folded = readFileSync(join(runDir, intrusion.files[1]!), 'utf8');
    expect(folded.split('\n').filter(Boolean).every((l) => /^\S.* \d+$/.test(l))).toBe(true);

    // The report copies the SVG beside index.html, links it, and leaves that repetition out.
    const out = join(dir, 'report');
    const report = await renderReports([runDir], out, { pdf: false });
    const view = report.model.backends.find((b) => b.id === 'virtio-net')!.flames!;
    expect(view).toHaveLength(1);
    expect(existsSync(join(out, view[0]!.href))).toBe(true);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain(`href="${view[0]!.href}"`);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain(`](${view[0]!.href})`);
    // What sampling cost, as recorded and as shown: perf's CPU over the seconds it sampled, and the
    // throughput of the sampled repetition against the other one.
    expect(intrusion.sampledSec).toBeGreaterThan(2);
    expect(view[0]!.effect).toMatchObject({ metric: 'throughput', others: 1 });
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/\d+ samples; perf used [\d.]+ CPU s in [\d.]+ s \([\d.]+ % of one core\); throughput \(receiver\)/);
    console.log(`flame: ${intrusion.samples} samples, perf ${intrusion.cpuSec} CPU s in ${intrusion.sampledSec} s; ${view[0]!.effect ? `throughput ${view[0]!.effect.sampled} bit/s sampled vs ${view[0]!.effect.othersMedian} bit/s` : ''}`);
    const throughput = report.model.series.find((s) => s.backend === 'virtio-net' && s.metric === 'throughput' && Object.keys(s.dims).length === 0)!;
    expect(throughput.points.map((p) => p.rep)).toEqual([1]);
    expect(throughput.excluded.intruded).toBe(1);

    // The SVG on its own in a real browser: no console error, a click zooms, no request made.
    session = await openBrowser((chromium as { path: string }).path);
    const page = session.page;
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    // The session aborts every request but data: URLs; this one file is served as it is on disk.
    const url = `file://${join(out, view[0]!.href)}`;
    await page.route(url, (route) => route.fulfill({ path: join(out, view[0]!.href), contentType: 'image/svg+xml' }));
    await page.goto(url, { waitUntil: 'load' });
    expect(await page.locator('g.f').count()).toBeGreaterThan(3);
    await page.locator('g.f[data-name="qemu a"] rect').click();
    expect(await page.locator('#reset').getAttribute('class')).not.toContain('hidden');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(leftovers(record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 600_000);
});
