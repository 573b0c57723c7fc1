// A stored run whose virtio-net tcp-stream repetition 0 was sampled by the flame collector: the
// report leaves that repetition out of the statistics, copies the SVG beside index.html, and links it
// from the HTML (which the PDF is printed from) and from summary.md, with what sampling cost.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { renderReports } from '../../../harness/report/render.ts';
import { copyRun } from './helpers.ts';

const SVG = 'virtio-net/collectors/flame/virtio-net-tcp-stream-measure-0.svg';

function sampledRun(): string {
  const dir = copyRun('tcg-dev-a-1', {
    record: (r) => ({
      ...r,
      backends: r.backends.map((b) =>
        b.id !== 'virtio-net'
          ? b
          : {
              ...b,
              reps: b.reps.map((x) =>
                x.scenario === 'tcp-stream' && x.rep === 0 && !x.warmup
                  ? { ...x, intrusions: [{ collector: 'flame', what: 'call stacks sampled by perf record', files: [SVG, SVG.replace(/svg$/, 'folded')], samples: 3012, cpuSec: 0.42, sampledSec: 10.5 }] }
                  : x,
              ),
            },
      ),
    }),
  });
  mkdirSync(join(dir, 'virtio-net/collectors/flame'), { recursive: true });
  writeFileSync(join(dir, SVG), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe('flame graphs in the report', () => {
  it('leaves the sampled repetition out, links its SVG from index.html and summary.md, and says what sampling cost', async () => {
    const run = sampledRun();
    const out = mkdtempSync(join(tmpdir(), 'iopath-report-'));
    const r = await renderReports([run], out, { pdf: false, generatedAt: '2025-03-04T00:00:00Z' });
    const samples = readFileSync(join(run, 'samples.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { backend: string; scenario: string; metric: string; rep: number; warmup: boolean; value: number; dims?: object });
    const throughput = (rep: number) => samples.find((s) => s.backend === 'virtio-net' && s.scenario === 'tcp-stream' && s.metric === 'throughput' && !s.warmup && s.rep === rep && Object.keys(s.dims ?? {}).length === 0)!.value;

    const series = r.model.series.find((s) => s.backend === 'virtio-net' && s.scenario === 'tcp-stream' && s.metric === 'throughput' && Object.keys(s.dims).length === 0)!;
    expect(series.points.map((p) => p.rep)).toEqual([1, 2, 3, 4]);
    expect(series.excluded.intruded).toBe(1);
    // Another path's repetition 0 is not touched.
    expect(r.model.series.find((s) => s.backend === 'e1000' && s.scenario === 'tcp-stream' && s.metric === 'throughput' && Object.keys(s.dims).length === 0)!.excluded.intruded).toBeUndefined();

    const [view] = r.model.backends.find((b) => b.id === 'virtio-net')!.flames!;
    expect(view).toMatchObject({ scenario: 'tcp-stream', rep: 0, samples: 3012, cpuSec: 0.42, sampledSec: 10.5, href: expect.stringMatching(/^flame\/.*virtio-net-virtio-net-tcp-stream-measure-0\.svg$/) });
    expect(view!.effect).toEqual({ metric: 'throughput', unit: 'bit/s', sampled: throughput(0), othersMedian: median([1, 2, 3, 4].map(throughput)), others: 4 });
    expect(readFileSync(join(out, view!.href), 'utf8')).toContain('<svg');

    const page = readFileSync(join(out, 'index.html'), 'utf8');
    expect(page).toContain('<a href="#flames">Flame graphs</a>');
    expect(page).toContain(`<a href="${view!.href}">${view!.href}</a>`);
    expect(page).toMatch(/3012 samples; perf used 0\.42 CPU s in 10\.5 s \(4\.00 % of one core\); throughput \(receiver\) [\d.]+ [MG]bit\/s against a median of [\d.]+ [MG]bit\/s in the 4 other repetitions \([+-]?[\d.]+ %\)/);

    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toContain('### Flame graphs');
    expect(summary).toContain(`](${view!.href})`);
    expect(summary).toMatch(/\*\*virtio-net\*\*, tcp-stream repetition 0: .*Cost: 3012 samples; perf used 0\.42 CPU s/);
  }, 60_000);

  it('says nothing of flame graphs when no repetition was sampled', async () => {
    const out = mkdtempSync(join(tmpdir(), 'iopath-report-'));
    const r = await renderReports([copyRun('tcg-dev-a-1')], out, { pdf: false, generatedAt: '2025-03-04T00:00:00Z' });
    expect(r.model.backends.some((b) => b.flames)).toBe(false);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).not.toContain('Flame graphs');
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).not.toContain('Flame graphs');
  }, 60_000);
});
