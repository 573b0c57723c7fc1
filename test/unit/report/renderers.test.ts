import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../../harness/report/build.ts';
import type { RenderedFigure } from '../../../harness/report/charts.ts';
import { csvField, escapeHtml, escapeMarkdown, html, raw } from '../../../harness/report/escape.ts';
import { renderCsv, renderStatsJson } from '../../../harness/report/exports.ts';
import { buildFigures } from '../../../harness/report/figures.ts';
import { renderHtml } from '../../../harness/report/html.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { renderMarkdown } from '../../../harness/report/markdown.ts';
import { copyRun, fixture, HOSTILE, hostileRun } from './helpers.ts';

const model = (...dirs: string[]) => buildReportModel(dirs.map(loadRun), { generatedAt: '2025-03-04T00:00:00.000Z' });
/** Figures without drawing: a 1×1 PNG each, enough for the pure HTML renderer. */
const PNG_1x1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const fakeFigures = (m: ReturnType<typeof model>): RenderedFigure[] => buildFigures(m).map((spec) => ({ spec, png: PNG_1x1 }));

describe('escaping', () => {
  it('escapes interpolations and passes nested markup through', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const inner = html`<b>${'<i>'}</b>`;
    expect(html`<p>${inner}${['<', raw('<br>')]}${null}${undefined}${false}${0}</p>`.value).toBe('<p><b>&lt;i&gt;</b>&lt;<br>0</p>');
  });
  it('escapes Markdown cells and CSV fields', () => {
    expect(escapeMarkdown('a|b *c* <d>\nnext')).toBe('a\\|b \\*c\\* \\<d\\> next');
    // Markdown escaping, not HTML's: a command keeps its &&, and only an entity-like & is escaped.
    expect(escapeMarkdown('apt-get update && apt-get install -y qemu')).toBe('apt-get update && apt-get install -y qemu');
    expect(escapeMarkdown('R&D &amp; &#38;')).toBe('R&D \\&amp; \\&#38;');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField('=cmd|calc')).toBe("'=cmd|calc");
    expect(csvField(-5)).toBe('-5');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(null)).toBe('');
  });
});

describe('renderHtml', () => {
  it('renders markup from a profile name, reasons and notes as text', () => {
    const m = model(hostileRun());
    const page = renderHtml(m, fakeFigures(m));
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('&amp;amp;');
    expect(page.match(/<script/g)).toBeNull();
  });

  it('lists the findings of one path and scenario under one entry, in HTML and Markdown', () => {
    const m = model(fixture('tcg-dev-a-1'));
    const page = renderHtml(m, fakeFigures(m));
    expect(page).toMatch(/<strong>e1000 · udp-pps<\/strong>: <ul class="findings"><li>repetition 2 failed: iperf3: error[^<]*<span class="advice">[^<]*<\/span><\/li><li>only 4 measured repetitions/);
    expect(page.match(/<strong>e1000 · udp-pps<\/strong>/g)).toHaveLength(1);
    const md = renderMarkdown(m);
    expect(md).toMatch(/\n- \*\*warning\*\* e1000 · udp-pps:\n {2}- repetition 2 failed: iperf3: error.*\n {2}- only 4 measured repetitions/);
  });

  it('is one self-contained document with every section', () => {
    const m = model(fixture('tcg-dev-a-1'));
    const page = renderHtml(m, fakeFigures(m));
    for (const id of ['summary', 'figures', 'paths', 'warnings', 'provenance', 'phases', 'methods']) expect(page).toContain(`id="${id}"`);
    expect(page).toContain('Content-Security-Policy');
    // No external resources: every src and href is a data URI or a fragment.
    for (const [, url] of page.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^(data:image\/png;base64,|#)/);
    expect(page).toContain('/dev/vhost-net does not exist');
    expect(page).toContain('modprobe vhost_net');
    expect(page).toContain('VIRTIO_NET_F_MRG_RXBUF');
    expect(page).toContain('probe boot under -accel kvm did not reach the guest agent');
    expect(page).toContain('sha256:9f2c4e0b');
    expect(page).toContain('2c92a57d0e4b');
    expect(page).toContain('Device accesses per GB (software emulation)');
    expect(page).toContain('reading /sys/kernel/debug/kvm failed with EPERM');
    expect(page).toContain('the guests run under TCG: there are no KVM exits to count');
    expect(page).not.toMatch(/VM exits per GB/);
    expect(page).toContain(m.verdict.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!));
  });

  it('shows a figure that could not be drawn as an error in its place, and a partial run as a banner', () => {
    const m = model(fixture('partial-dev-a'));
    const figs = buildFigures(m).map((spec, i) => (i === 0 ? { spec, error: 'canvas exploded' } : { spec, png: PNG_1x1 }));
    const page = renderHtml(m, figs);
    expect(page).toMatch(/could not be drawn: canvas exploded/);
    expect(page).toMatch(/class="banner"><strong>Partial run 20250303-020000-default\.<\/strong>/);
  });
});

describe('Markdown, CSV and JSON exports', () => {
  it('writes a job summary with the verdict, key metrics, the skipped path and warnings', () => {
    const md = renderMarkdown(model(fixture('tcg-dev-a-1')));
    expect(md).toMatch(/^## iopath report: run 20250301-020000-default/);
    expect(md).toMatch(/\*\*On tcp-stream: virtio-net reaches 3\.\d+×/);
    expect(md).toMatch(/\| virtio-net \| Throughput \(receiver\) ↑ \| 4\.\d+ Gbit\/s \|/);
    expect(md).toMatch(/\*\*vhost-net\*\* skipped: \/dev\/vhost-net does not exist.* Fix: modprobe vhost\\_net/);
    expect(md).toMatch(/### Warnings \(\d+\)/);
    expect(md.length).toBeLessThan(64 * 1024);
  });

  it('escapes a hostile profile name in Markdown', () => {
    const md = renderMarkdown(model(hostileRun()));
    expect(md).not.toContain('<script>');
    expect(md).not.toMatch(/(?<!\\)<(script|img)/);
    expect(md).toContain('\\<script\\>');
    expect(md).not.toContain('&lt;');
    expect(HOSTILE).toContain('<script>');
  });

  it('prints a path\'s fix in summary.md as a command, without HTML entities', () => {
    const fix = 'apt-get update && apt-get install -y --no-install-recommends qemu-system-x86';
    const dir = copyRun('tcg-dev-a-1', { record: (r) => ({ ...r, backends: r.backends.map((b) => (b.status === 'skipped' ? { ...b, fix } : b)) }) });
    const md = renderMarkdown(model(dir));
    expect(md).toContain(`Fix: ${fix}`);
    expect(md).not.toContain('&amp;');
  });

  it('exports one CSV row per series in raw units', () => {
    const m = model(fixture('tcg-dev-a-1'));
    const lines = renderCsv(m).trimEnd().split('\r\n');
    expect(lines[0]).toBe('host,run,backend,scenario,metric,dims,unit,direction,n,median,mean,sd,cv_percent,ci_low,ci_high,ci_level,min,max,outlier_reps,drift_p,drift_slope_per_rep,excluded_warmup,excluded_failed,sources');
    expect(lines).toHaveLength(m.series.length + 1);
    const row = lines.find((l) => l.startsWith('dev-a,20250301-020000-default,virtio-net,tcp-stream,throughput,,bit/s,higher-is-better,5,'))!;
    const s = m.series.find((x) => x.backend === 'virtio-net' && x.scenario === 'tcp-stream' && x.metric === 'throughput')!;
    expect(row.split(',')[9]).toBe(String(s.summary.median));
    expect(lines.some((l) => l.includes(',guest=a,count/GB,'))).toBe(true);
  });

  it('exports the statistics as JSON with values per repetition', () => {
    const doc = JSON.parse(renderStatsJson(model(fixture('tcg-dev-a-1'))));
    expect(doc.schema).toBe('iopath.stats/1');
    const s = doc.series.find((x: { backend: string; metric: string; scenario: string }) => x.backend === 'e1000' && x.metric === 'packetRate');
    expect(s.values.map((v: { rep: number }) => v.rep)).toEqual([0, 1, 3, 4]);
    expect(s.excluded).toEqual({ warmup: 1, failedRep: 0 });
    expect(doc.methods.ci).toMatch(/Student t/);
  });
});
