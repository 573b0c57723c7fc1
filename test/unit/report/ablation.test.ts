// The ablation view from a stored run (test/fixtures/runs/tcg-variants: virtio-net and three
// variants measured in rounds): each variant's change against its path, its interval paired by
// round, sorted by the size of the effect, in the HTML, the Markdown and the words.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ablationFigure } from '../../../harness/report/ablation-figure.ts';
import { ablationTable } from '../../../harness/report/ablation-view.ts';
import { effectWords, percentChange, rowWords, signedCount } from '../../../harness/report/ablation.ts';
import { buildReportModel } from '../../../harness/report/build.ts';
import { compareRuns } from '../../../harness/report/compare.ts';
import { renderCompareHtml, renderCompareMarkdown } from '../../../harness/report/compare-render.ts';
import { renderStatsJson } from '../../../harness/report/exports.ts';
import { orderWords } from '../../../harness/report/html-sections.ts';
import { renderHtml } from '../../../harness/report/html.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { renderMarkdown } from '../../../harness/report/markdown.ts';
import type { SampleRecord } from '../../../harness/samples.ts';
import { pairedLogRatio } from '../../../harness/stats/paired.ts';
import { medianRatio } from '../../../harness/stats/ratio.ts';
import { copyRun, fixture } from './helpers.ts';

const model = (dir: string) => buildReportModel([loadRun(dir)], { generatedAt: '2025-03-05T00:00:00.000Z' });

/** Measured throughput of one series by repetition, straight from samples.ndjson. */
function throughput(dir: string, backend: string): Map<number, number> {
  const lines = readFileSync(join(dir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
  return new Map(lines.filter((s) => s.backend === backend && s.scenario === 'tcp-stream' && s.metric === 'throughput' && !s.warmup).map((s) => [s.rep, s.value]));
}

describe('ablation view of a stored run with variants', () => {
  const dir = fixture('tcg-variants');
  const m = model(dir);

  it('has one view for the path, its variants sorted by the size of their throughput effect', () => {
    expect(m.ablation).toHaveLength(1);
    const v = m.ablation[0]!;
    expect(v).toMatchObject({ host: 'dev-a', path: 'virtio-net', paired: true, missing: [] });
    expect(v.rows.map((r) => r.name)).toEqual(['no-event-idx', 'no-csum', 'mq2']);
    expect(v.rows.map((r) => r.change)).toEqual(['event_idx=off', 'csum=off', '2 queue pairs']);
    expect(v.rows.find((r) => r.name === 'no-csum')!.refused).toEqual(['csum']);
    for (const r of v.rows) expect(r.effects.map((e) => e.measure)).toEqual(['throughput', 'packet-rate', 'count-per-gb', 'cpu-per-gbps']);
  });

  it('pairs repetition r of the path and of a variant (the same round) and takes the t interval of their log ratios', () => {
    const base = throughput(dir, 'virtio-net');
    const mine = throughput(dir, 'virtio-net~no-event-idx');
    const expected = pairedLogRatio([...mine].map(([rep, a]) => ({ a, b: base.get(rep)! })));
    const e = m.ablation[0]!.rows[0]!.effects.find((x) => x.measure === 'throughput')!;
    expect(e).toMatchObject({ interval: 'paired', n: 4, scenario: 'tcp-stream', label: 'throughput' });
    expect(e.ratio).toBeCloseTo(expected.ratio, 12);
    expect(e.ci!.low).toBeCloseTo(expected.ci!.low, 12);
    expect(e.ci!.high).toBeCloseTo(expected.ci!.high, 12);
    // The fixture's variant moves 3.6 of the path's 4.3 Gbit/s: a loss the interval resolves.
    expect(e.ratio).toBeGreaterThan(0.8);
    expect(e.ratio).toBeLessThan(0.87);
    expect(e.ci!.high).toBeLessThan(1);
    // Two queue pairs change nothing the noise can resolve: the interval holds 1.
    const mq = m.ablation[0]!.rows[2]!.effects.find((x) => x.measure === 'throughput')!;
    expect(mq.ci!.low).toBeLessThan(1);
    expect(mq.ci!.high).toBeGreaterThan(1);
  });

  it('takes packet rate from the 64-byte variant of the UDP scenario (by its kind, whatever its name) and counts per GB over both guests', () => {
    const effects = m.ablation[0]!.rows[0]!.effects;
    expect(effects.find((e) => e.measure === 'packet-rate')).toMatchObject({ scenario: 'udp-pps', metric: 'packetRate', label: 'packet rate (64 B)' });
    const counts = effects.find((e) => e.measure === 'count-per-gb')!;
    expect(counts).toMatchObject({ scenario: 'tcp-stream', metric: 'deviceAccessesPerGB', label: 'device accesses per GB', source: 'TCG trace' });
    // Both guests summed: guest b counts 0.8 of guest a's, so the path's sum is 1.8 × 2,100 per GB.
    expect(counts.base).toBeGreaterThan(1.6 * 2_100);
    expect(counts.base).toBeLessThan(2 * 2_100);
    expect(counts.value).toBeGreaterThan(counts.base);
    expect(effects.find((e) => e.measure === 'cpu-per-gbps')).toMatchObject({ metric: 'hostCpuPerGbps', label: 'host CPU per Gbit/s' });
  });

  it('says each variant in words: the change in percent with its interval, counts per GB as a difference', () => {
    const [idx, csum] = m.ablation[0]!.rows;
    expect(rowWords(idx!)).toMatch(/^event_idx=off: throughput -1\d % \(-\d+ to -\d+ %\), packet rate \(64 B\) -\d+ % \(-\d+ to -\d+ %\), \+\d\.\d k device accesses per GB \(\+\d+ %, \+\d+ to \+\d+ %\), host CPU per Gbit\/s \+\d+ % \(\+\d+ to \+\d+ %\)$/);
    expect(rowWords(csum!)).toMatch(/^csum=off \[not followed: csum\]: throughput /);
    expect(percentChange(0.88)).toBe('-12 %');
    expect(percentChange(1.031)).toBe('+3.1 %');
    expect(percentChange(1.0001)).toBe('0 %');
    expect(signedCount(3_140)).toBe('+3.1 k');
    expect(signedCount(-420)).toBe('-420');
    expect(effectWords({ ...idx!.effects[0]!, ratio: 0.88, ci: { level: 0.95, low: 0.82, high: 0.94, method: '' } })).toBe('throughput -12 % (-18 to -6.0 %)');
  });

  it('states the paired method in Methods, and shows the table and the figure in the HTML and the Markdown', () => {
    expect(m.methods.ablation).toMatch(/same round.*geometric mean of the rounds. ratios.*Student t interval/);
    const table = ablationTable(m, m.ablation[0]!);
    expect(table.columns.map((c) => c.text)).toEqual(['Variant', 'Changes', 'Throughput', 'Packet rate', 'Device accesses per GB', 'Host CPU per Gbit/s']);
    expect(table.rows.map((r) => r[0]!.text)).toEqual(['no-event-idx', 'no-csum', 'mq2']);
    expect(table.rows[1]![0]!.note).toBe('not followed: csum');
    const fig = ablationFigure(m, m.ablation[0]!)!;
    expect(fig).toMatchObject({ section: 'ablation', categories: ['no-event-idx', 'no-csum', 'mq2'], referenceLine: { value: 1 } });
    expect(fig.datasets).toHaveLength(4);
    expect(fig.datasets[0]!.whiskers![0]![1]).toBeLessThan(1);

    const page = renderHtml(m, [{ spec: fig, png: Buffer.from('png') }]);
    expect(page).toContain('<section id="ablation">');
    expect(page).toContain('href="#ablation"');
    expect(page).toContain(`id="${fig.id}"`);
    expect(page).toContain('event_idx=off: throughput -1');
    expect(page).toContain('<strong>Variants against their paths:</strong>');
    // The figure is drawn in its own section, not among the scenarios' figures.
    expect(page.indexOf(`id="${fig.id}"`)).toBeLessThan(page.indexOf('<section id="figures">'));
    const md = renderMarkdown(m);
    expect(md).toContain('### Variants of virtio-net');
    expect(md).toMatch(/\| no-event-idx \| event\\_idx=off \| -1\d % \(/);
    expect(md).toContain('- event\\_idx=off: throughput -1');
    const stats = JSON.parse(renderStatsJson(m)) as { ablation: { path: string; rows: { name: string; effects: { measure: string; ratio: number }[] }[] }[] };
    expect(stats.ablation[0]!.rows[0]!.effects[0]).toMatchObject({ measure: 'throughput', ratio: m.ablation[0]!.rows[0]!.effects[0]!.ratio });
  });

  it('without rounds, a ratio of medians with a bootstrap interval', () => {
    const blocks = copyRun('tcg-variants', { record: (r) => ({ ...r, schedule: undefined }) });
    const mb = model(blocks);
    const e = mb.ablation[0]!.rows.find((r) => r.name === 'no-event-idx')!.effects[0]!;
    const expected = medianRatio([...throughput(blocks, 'virtio-net~no-event-idx').values()], [...throughput(blocks, 'virtio-net').values()])!;
    expect(e).toMatchObject({ interval: 'bootstrap', n: 4 });
    expect(e.ratio).toBeCloseTo(expected.value, 12);
    expect(e.ci!.low).toBeCloseTo(expected.ci!.low, 12);
    expect(mb.ablation[0]!.paired).toBe(false);
    expect(mb.methods.ablation).toMatch(/ratio of medians.*bootstrap/);
  });

  it('a path skipped with its variants is named once with them, and gets no empty view', () => {
    const why = { status: 'skipped' as const, reason: 'there is no /dev/vhost-net', fix: 'modprobe vhost_net', notes: [], reps: [], collectors: [], files: [] };
    const skipped = copyRun('tcg-variants', {
      record: (r) => ({
        ...r,
        backends: [
          ...r.backends,
          { ...why, id: 'vhost-net', title: 'vhost-net', presentation: { order: 30, color: '#009E73' } },
          ...['no-csum', 'mq2'].map((name) => ({ ...why, id: `vhost-net~${name}`, title: `vhost-net, ${name}`, presentation: { order: 30.01, color: '#33B08F', variantOf: 'vhost-net', variant: name }, variant: { of: 'vhost-net', name, device: {} } })),
        ],
      }),
    });
    const ms = model(skipped);
    expect(ms.ablation.map((v) => v.path)).toEqual(['virtio-net']);
    expect(ms.verdict).toContain('Not measured: vhost-net and its 2 variants (skipped).');
    // The leaders are paths; the variants are pointed to, not ranked among them.
    expect(ms.verdict).toContain('3 variants of virtio-net measured: their changes against their paths are in the Variants section.');
    expect(ms.verdict).not.toMatch(/virtio-net\\~|virtio-net~/);
    const md = renderMarkdown(ms);
    expect(md).toContain('- **vhost-net** and its 2 variants (mq2, no-csum) skipped: there is no /dev/vhost-net Fix: modprobe vhost\\_net');
    expect(md).not.toContain('**vhost-net\\~no-csum**');
  });

  it('group by group (a sweep too large for memory): paired where the group ran in rounds, bootstrap where it ran in blocks, and the order says which', () => {
    const grouped = (mode: 'rounds' | 'blocks') =>
      copyRun('tcg-variants', { record: (r) => ({ ...r, schedule: { ...r.schedule!, groups: [{ paths: r.backends.map((b) => b.id), mode }, { paths: ['vhost-user-ts'], mode: 'rounds' as const }], reason: 'each path with its variants in rounds' } }) });
    const mr = model(grouped('rounds'));
    expect(mr.ablation[0]!.paired).toBe(true);
    expect(orderWords(mr.runs[0]!.order!)).toMatch(/^repetitions group by group \(a path and its variants; 2 groups one after the other\), in rounds within the group \(/);
    expect(renderMarkdown(mr)).toContain('repetitions group by group');
    const mb = model(grouped('blocks'));
    expect(mb.ablation[0]!.paired).toBe(false);
    expect(mb.ablation[0]!.rows[0]!.effects[0]!.interval).toBe('bootstrap');
    expect(orderWords(mb.runs[0]!.order!)).toMatch(/vhost-user-ts in rounds within the group .*; virtio-net in blocks \(the group does not fit in memory\)/);
  });

  it('with fewer than three rounds, no interval is shown (t with one degree of freedom spans most of the axis)', () => {
    const two = copyRun('tcg-variants', { sample: (x) => (x.rep >= 2 ? { ...x, backend: 'elsewhere' } : x) });
    const m2 = model(two);
    const row = m2.ablation[0]!.rows.find((r) => r.name === 'no-event-idx')!;
    expect(row.effects[0]).toMatchObject({ interval: 'paired', n: 2 });
    expect(row.effects[0]!.ci).not.toBeNull();
    expect(rowWords(row)).toMatch(/^event_idx=off: throughput -1\d %, packet rate \(64 B\) -\d+ %, \+[\d.]+ k device accesses per GB \(\+\d+ %\), host CPU per Gbit\/s \+\d+ % \(2 rounds, too few for an interval\)$/);
    expect(ablationFigure(m2, m2.ablation[0]!)!.datasets[0]!.whiskers!.every((w) => w === null)).toBe(true);
    expect(ablationTable(m2, m2.ablation[0]!).rows[0]![2]!.note).toBe('n = 2: no interval below 3');
  });

  it('a variant without series of its own is listed as not compared; a run without variants has no view', () => {
    const failed = copyRun('tcg-variants', { sample: (s) => (s.backend === 'virtio-net~mq2' ? { ...s, backend: 'elsewhere' } : s) });
    expect(model(failed).ablation[0]!.missing).toEqual(['mq2']);
    const plain = model(fixture('tcg-dev-a-1'));
    expect(plain.ablation).toEqual([]);
    expect(plain.methods.ablation).toBeUndefined();
    expect(renderHtml(plain, [])).not.toContain('id="ablation"');
    expect(renderMarkdown(plain)).not.toContain('### Variants');
  });

  it('compare: variant series are compared like any path, and each variant\'s effect is set beside the other run\'s', () => {
    // The run: event_idx off now costs 10 % more throughput than in the baseline.
    const later = copyRun('tcg-variants', { sample: (x) => (x.backend === 'virtio-net~no-event-idx' && x.metric === 'throughput' ? { ...x, value: x.value * 0.9 } : x) });
    const c = compareRuns(dir, later);
    expect(c.rows.find((r) => r.backend === 'virtio-net~no-event-idx' && r.metric === 'throughput')?.verdict).toBe('worse');
    const pair = c.ablation.find((p) => p.variant === 'no-event-idx' && p.measure === 'throughput')!;
    expect(pair.run!.ratio / pair.baseline!.ratio).toBeCloseTo(0.9, 6);
    expect(c.ablation.filter((p) => p.measure === 'throughput').map((p) => p.variant).sort()).toEqual(['mq2', 'no-csum', 'no-event-idx']);
    expect(renderCompareMarkdown(c)).toMatch(/\| virtio-net \| event\\_idx=off \| throughput -1\d % \(.*\) \| throughput -2\d % \(/);
    expect(renderCompareHtml(c)).toContain('Variants against their paths, in each run');
  });
});
