// The percentile plot and the p99.9 column, from a stored run whose latency repetitions carry the
// figures of sockperf's full log, and the same run as it was stored before the full log existed.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../../harness/report/build.ts';
import { chartConfig, renderFigure } from '../../../harness/report/charts.ts';
import { buildFigures } from '../../../harness/report/figures.ts';
import { renderHtml } from '../../../harness/report/html.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { renderMarkdown } from '../../../harness/report/markdown.ts';
import { performanceTable } from '../../../harness/report/summary-tables.ts';
import type { SampleRecord } from '../../../harness/samples.ts';
import { FULL_LOG_SOURCE } from '../../../harness/workloads/latency.ts';
import { copyRun, fixture } from './helpers.ts';

const model = (dir: string) => buildReportModel([loadRun(dir)], { generatedAt: '2025-03-04T00:00:00.000Z' });

/** Round trips per repetition: enough for p99.9 (10 beyond it), not for p99.99. */
const N = 16_000;

/**
 * tcg-dev-a-1 as a run with the full log would store it: p50 to p99 from the log, p99.9 and max
 * beside them, the round-trip count; values grow along the tail so the plot's lines can be checked.
 */
function runWithFullLog(): string {
  const dir = copyRun('tcg-dev-a-1', { sample: (s) => (s.scenario === 'latency' && /^latencyP\d+$/.test(s.metric) ? { ...s, source: FULL_LOG_SOURCE } : s) });
  const samples = readFileSync(join(dir, 'samples.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as SampleRecord);
  const extra = samples
    .filter((s) => s.scenario === 'latency' && s.metric === 'latencyP99')
    .flatMap((s) => [
      { ...s, metric: 'latencyP999', value: s.value * 2 },
      { ...s, metric: 'latencyMax', value: s.value * 5 },
      { ...s, metric: 'latencySamples', unit: 'count', value: N + s.rep },
    ]);
  appendFileSync(join(dir, 'samples.ndjson'), extra.map((s) => JSON.stringify(s)).join('\n') + '\n');
  return dir;
}

describe('percentile plot', () => {
  const m = model(runWithFullLog());
  const fig = buildFigures(m).find((f) => f.id === 'latency-percentiles-latency')!;

  it('puts p on a log scale of 1/(1 − p), one line per path in its colour, up to the percentiles the runs support', () => {
    expect(fig).toMatchObject({ kind: 'line', section: 'latency', scenario: 'latency', direction: 'lower-is-better', yLabel: 'µs (lower is better ↓)' });
    expect(fig.categories).toEqual(['p50', 'p90', 'p99', 'p99.9']);
    expect(fig.xLog).toEqual({ values: [2, 10, 100, 1000], title: 'percentile (log scale of 1 / (1 − p))' });
    const paths = [...new Set(m.series.filter((s) => s.scenario === 'latency' && s.metric === 'latencySamples').map((s) => s.backend))];
    expect(fig.datasets.map((d) => d.label)).toEqual(paths);
    for (const d of fig.datasets) {
      expect(d.color).toBe(m.paths.find((p) => p.id === d.label)!.color);
      const mean = (metric: string) => m.series.find((s) => s.backend === d.label && s.scenario === 'latency' && s.metric === metric)!.summary.mean;
      expect(d.values).toEqual([mean('latencyP50'), mean('latencyP90'), mean('latencyP99'), mean('latencyP999')]);
      expect(d.whiskers).toHaveLength(4);
      expect(d.dots).toBeUndefined();
    }
    expect(fig.sources).toEqual(['sockperf (full log)']);
    expect(fig.caption).toMatch(/16,000 to 16,004 round trips per repetition/);
    expect(fig.caption).toMatch(/at least 10 round trips lie beyond it/);
  });

  it('draws on a logarithmic x axis ticked at the percentiles, over a linear y axis from zero', async () => {
    type Cfg = { type: string; data: { datasets: { data: { x: number; y: number | null }[] }[] }; options: { scales: { x: { type: string; min: number; max: number; ticks: { callback: (v: number) => string }; afterBuildTicks: (a: { ticks: { value: number }[] }) => void }; y: { type: string; beginAtZero: boolean; reverse: boolean } } } };
    const cfg = chartConfig(fig) as unknown as Cfg;
    expect(cfg.type).toBe('line');
    expect(cfg.options.scales.y).toMatchObject({ type: 'linear', beginAtZero: true, reverse: false });
    const x = cfg.options.scales.x;
    expect(x.type).toBe('logarithmic');
    expect(x.min).toBeLessThan(2);
    expect(x.max).toBeGreaterThan(1000);
    const axis = { ticks: [{ value: 1 }, { value: 5 }] };
    x.afterBuildTicks(axis);
    expect(axis.ticks.map((t) => x.ticks.callback(t.value))).toEqual(['p50', 'p90', 'p99', 'p99.9']);
    expect(cfg.data.datasets[0]!.data.map((p) => p.x)).toEqual([2, 10, 100, 1000]);
    expect(cfg.data.datasets[0]!.data.map((p) => p.y)).toEqual(fig.datasets[0]!.values);
    const png = await renderFigure(fig);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
  }, 30_000);

  it('with variants, one plot per path with its variants instead of every series in one tangle', () => {
    const dir = runWithFullLog();
    const record = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { backends: { id: string; variant?: unknown }[] };
    const paths = [...new Set(m.series.filter((s) => s.scenario === 'latency' && s.metric === 'latencySamples').map((s) => s.backend))];
    expect(paths.length).toBeGreaterThanOrEqual(2);
    const [base, variant, ...others] = paths as [string, string, ...string[]];
    // The second path stands in for a variant of the first.
    record.backends = record.backends.map((b) => (b.id === variant ? { ...b, variant: { of: base, name: 'stand-in', device: {} } } : b));
    writeFileSync(join(dir, 'run.json'), JSON.stringify(record));
    const figs = buildFigures(model(dir)).filter((f) => f.id.startsWith('latency-percentiles'));
    expect(figs.map((f) => f.datasets.map((d) => d.label))).toEqual([[base, variant], ...others.map((o) => [o])]);
    expect(figs[0]!.title).toBe(`Round-trip latency by percentile, latency: ${base} and its variants`);
    expect(figs[0]!.id).toBe(`latency-percentiles-latency-${base}`);
    expect(new Set(figs.map((f) => f.id)).size).toBe(figs.length);
  });

  it('shows p99.9 in the table, and what the percentiles rest on', () => {
    const t = performanceTable({ model: m, clipped: false }, 'dev-a', 'latency')!;
    expect(t.columns.map((c) => c.text)).toEqual(expect.arrayContaining(['p50 ↓', 'p90 ↓', 'p99 ↓', 'p99.9 ↓']));
    expect(t.columns.some((c) => c.text.startsWith('p99.99'))).toBe(false);
    expect(t.caption).toBe("What each path achieved; latency percentiles are exact, from every round trip in sockperf's full log: 16,000 to 16,004 round trips per repetition; p99.9 rests on the slowest 16 of them");
    expect(renderMarkdown(m)).toMatch(/Round-trip latency p99\.9/);
  });
});

describe('a stored run without the full log', () => {
  const m = model(fixture('tcg-dev-a-1'));

  it('has no percentile plot, and its table stops at p99 from the summary', () => {
    const figs = buildFigures(m);
    expect(figs.some((f) => f.id.startsWith('latency-percentiles'))).toBe(false);
    expect(figs.some((f) => f.id === 'latency-latency')).toBe(true);
    const t = performanceTable({ model: m, clipped: false }, 'dev-a', 'latency')!;
    expect(t.columns.map((c) => c.text)).toContain('p99 ↓');
    expect(t.columns.some((c) => c.text.startsWith('p99.9'))).toBe(false);
    expect(t.caption).toBe('What each path achieved');
  });

  it('still renders', () => {
    const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
    const page = renderHtml(m, buildFigures(m).map((spec) => ({ spec, png: PNG })));
    expect(page).toContain('Round-trip latency percentiles per path, latency');
    expect(page).not.toContain('by percentile');
  });
});
