// The report of a real run (test/fixtures/runs/real-tcg-quick: `bench --profile quick --accel tcg`
// on a development machine, run.json and samples.ndjson copied unchanged): what the summary, the
// warnings, the figures and the path sections show for the shape real runs have.

import { describe, expect, it } from 'vitest';
import { metrics } from '../../../harness/metrics.ts';
import { buildReportModel } from '../../../harness/report/build.ts';
import type { RenderedFigure } from '../../../harness/report/charts.ts';
import { buildFigures } from '../../../harness/report/figures.ts';
import { renderHtml } from '../../../harness/report/html.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { renderMarkdown } from '../../../harness/report/markdown.ts';
import { BREAKDOWN_DIMS } from '../../../harness/stats/series.ts';
import { fixture } from './helpers.ts';

const run = loadRun(fixture('real-tcg-quick'));
const model = buildReportModel([run], { generatedAt: '2026-11-28T18:00:00.000Z' });
const md = renderMarkdown(model);
const PNG_1x1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const figures = buildFigures(model);
const page = renderHtml(
  model,
  figures.map((spec): RenderedFigure => ({ spec, png: PNG_1x1 })),
);

/** The lines of the Markdown section under `### title` (up to the next heading). */
function section(title: RegExp): string {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.startsWith('### ') && title.test(l));
  if (start < 0) return '';
  const end = lines.findIndex((l, i) => i > start && l.startsWith('### '));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

describe('the real run fixture', () => {
  it('is a complete quick run under TCG in the results contract', () => {
    expect(run.problems).toEqual([]);
    expect(run.partial).toBe(false);
    expect(run.record.provenance?.accel.kind).toBe('tcg');
    for (const s of run.samples) {
      expect(Object.keys(metrics)).toContain(s.metric);
      expect(s.unit).toBe(metrics[s.metric as keyof typeof metrics].unit);
    }
    expect(new Set(run.samples.map((s) => s.scenario))).toEqual(new Set(['idle', 'tcp-stream', 'udp-small', 'latency']));
    expect(run.record.backends.map((b) => [b.id, b.status])).toEqual([
      ['e1000', 'ok'],
      ['virtio-net', 'ok'],
      ['vhost-net', 'skipped'],
      ['vhost-user-testpmd', 'ok'],
    ]);
  });
});

describe('summary of a real run', () => {
  it('shows every scenario but idle: TCP throughput, UDP packet rate and loss per payload size, latency percentiles', () => {
    expect(section(/^### tcp-stream/)).toMatch(/\| virtio-net \| Throughput \(receiver\) ↑ \| [\d.]+ Gbit\/s/);
    const udp = section(/^### udp-small/);
    for (const path of ['e1000', 'virtio-net', 'vhost-user-testpmd']) {
      for (const payload of ['64 B', '1400 B']) {
        expect(udp).toMatch(new RegExp(`\\| ${path} \\| Delivered packet rate \\(${payload}\\) ↑ \\| [\\d.,]+ kpps`));
        expect(udp).toMatch(new RegExp(`\\| ${path} \\| Packet loss \\(${payload}\\) ↓ \\| [\\d.]+ %`));
      }
    }
    const lat = section(/^### latency/);
    for (const p of ['p50', 'p90', 'p99']) expect(lat).toMatch(new RegExp(`\\| vhost-user-testpmd \\| Round-trip latency ${p} ↓ \\|`));
    expect(md).not.toMatch(/^### idle/m);
    expect(model.series.some((s) => s.scenario === 'idle')).toBe(false);
    expect(page).not.toMatch(/<h3>idle/);
  });

  it('gives per path the summed cost figures with their source, as device accesses (software emulation), never exits', () => {
    const tcp = section(/^### tcp-stream/);
    expect(tcp).toContain('Device accesses (software emulation) per GB ↓ · guest a');
    expect(tcp).toContain('Device accesses (software emulation) per packet ↓ · both');
    expect(tcp).toContain('Host CPU per Gbit/s ↓');
    expect(tcp).toContain('TCG trace');
    expect(tcp).toContain('/proc');
    expect(section(/^### udp-small/)).toContain('Host CPU per Mpps ↓');
    expect(section(/^### udp-small/)).not.toContain('Host CPU per Gbit/s');
    // Under TCG nothing is called an exit except where the report says device accesses are not exits.
    for (const line of md.split('\n').filter((l) => /exit/i.test(l))) expect(line).toMatch(/not exits|no VM exits|KVM exits/);
    const costs = model.costs.filter((c) => c.scenario === 'tcp-stream' && c.metric === 'deviceAccessesPerGB');
    expect(new Set(costs.map((c) => c.guest))).toEqual(new Set(['a', 'b', undefined]));
    const e1000 = costs.find((c) => c.backend === 'e1000' && c.guest === 'a')!;
    expect(e1000.parts.sort()).toEqual(['apic-msi', 'e1000-mmio']);
    expect(e1000.leftOut.map((l) => l.part)).toEqual(expect.arrayContaining(['hpet', 'apic-msi (from device)']));
    expect(e1000.what).toBe('device accesses (software emulation)');
    // The e1000 emulation costs many times more accesses per GB than virtio-net: the seed's story.
    const both = (b: string) => costs.find((c) => c.backend === b && c.guest === undefined)!.summary.median;
    expect(both('e1000')).toBeGreaterThan(3 * both('virtio-net'));
  });

  it('says when per-packet figures compare packets of different sizes', () => {
    expect(section(/^### tcp-stream/)).toMatch(/Per-packet figures compare packets of different sizes: the guests of virtio-net counted [\d.]+ kB per packet/);
    expect(section(/^### udp-small/)).not.toMatch(/Per-packet figures compare/);
  });

  it('shows the idle baseline as a small table per path, with the sentence that it was subtracted', () => {
    const idle = section(/^### Idle baseline/);
    expect(idle).toMatch(/subtracted/);
    for (const b of ['e1000', 'virtio-net', 'vhost-user-testpmd']) expect(idle).toMatch(new RegExp(`^\\| ${b} \\| 4 s`, 'm'));
    const testpmd = model.idle.find((i) => i.backend === 'vhost-user-testpmd')!;
    expect(testpmd.windowSec).toBe(4);
    expect(testpmd.cpu.find((c) => c.role === 'testpmd')!.cores).toBeGreaterThan(0.5);
    // Its busy-polling core is named where it changes how the CPU figures read.
    expect(md).toMatch(/testpmd of vhost-user-testpmd busy-polls: it keeps [\d.]+ core busy even at rest/);
  });

  it('compares every path with e1000 for throughput, packet rate per payload and latency, with intervals', () => {
    expect(model.references).toEqual([{ host: 'vm', backend: 'e1000' }]);
    const has = (metric: string, payload?: number) =>
      model.ratios.filter((r) => r.metric === metric && r.denominator === 'e1000' && (payload === undefined || r.variant.payloadBytes === payload) && r.estimate.ci !== null).map((r) => r.numerator);
    expect(has('throughput')).toEqual(['virtio-net', 'vhost-user-testpmd']);
    expect(has('packetRate', 64)).toEqual(['virtio-net', 'vhost-user-testpmd']);
    expect(has('packetRate', 1400)).toEqual(['virtio-net', 'vhost-user-testpmd']);
    expect(has('latencyP50')).toEqual(['virtio-net', 'vhost-user-testpmd']);
    expect(has('latencyP99')).toEqual(['virtio-net', 'vhost-user-testpmd']);
    expect(has('deviceAccessesPerGB')).toEqual(['virtio-net', 'vhost-user-testpmd']);
    expect(section(/^### Paths relative to e1000/)).toMatch(/\| udp-small \(64 B\) \| delivered packet rate ↑ iperf3 \| [\d.]+× \\\[/);
    expect(model.verdict).toMatch(/^On tcp-stream: virtio-net reaches [\d.]+× the median throughput \(receiver\) of e1000 \(95 % CI [\d.]+–[\d.]+×\), [\d.]+ Gbit\/s against \d+ Mbit\/s, with [\d.]+× fewer device accesses \(software emulation\) per GB/);
    expect(model.verdict).toMatch(/On udp-small \(64 B\), \S+ delivers the most packets/);
    expect(model.verdict).toMatch(/On latency: \S+ has the lowest median round trip \(p50\)/);
    expect(model.verdict).toMatch(/Not measured: vhost-net \(skipped\)/);
    expect(model.verdict).not.toMatch(/slowest/);
  });
});

describe('warnings of a real run', () => {
  it('stay few and actionable: no finding for a slice of a breakdown, noise merged per path and scenario', () => {
    expect(model.warnings.length).toBeLessThanOrEqual(20);
    const findings = model.warnings.flatMap((w) => w.findings ?? [w]);
    for (const w of findings) {
      const dims = Object.keys(w.subject.dims ?? {});
      expect(dims.filter((d) => BREAKDOWN_DIMS.includes(d)), w.message).toEqual([]);
      // Quality findings name headline figures only (the runner's own notes quote what they are about).
      if (['high-cv', 'outlier', 'drift'].includes(w.code)) expect(w.message).not.toMatch(/kind=|region=|role=|host CPU time|device accesses \(software emulation\) (?!per)/i);
    }
    // At most one entry per path and scenario (and one per path for notes that span its scenarios).
    const keys = model.warnings.filter((w) => w.subject.backend).map((w) => `${w.subject.backend}|${w.subject.scenario ?? ''}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Ordered by consequence: testpmd starved of CPU before any noise, notes last.
    expect(model.warnings[0]).toMatchObject({ code: 'cpu-starved', severity: 'warning', subject: { backend: 'vhost-user-testpmd' } });
    expect(model.warnings.findIndex((w) => w.severity === 'note')).toBeGreaterThan(model.warnings.findLastIndex((w) => w.severity === 'warning'));
    // The idle window is one repetition by design: no "only 1 repetition" finding about it.
    expect(model.warnings.some((w) => w.subject.scenario === 'idle' || w.code === 'no-ci')).toBe(false);
    expect(model.warnings.filter((w) => w.code === 'few-reps')).toHaveLength(1);
  });

  it('keeps collector and repetition notes, each distinct text once, with how many repetitions', () => {
    const collectors = model.warnings.filter((w) => w.code === 'collector-unavailable');
    // One cause (TCG), one finding: the collectors' own details joined.
    expect(collectors.map((w) => w.message)).toEqual([
      expect.stringMatching(/^collectors perf-kvm, perf-kvm-exit-reasons, debugfs, qmp-stats could not count on every measured path: the guests run under TCG \(software emulation\): perf-kvm, perf-kvm-exit-reasons, debugfs: .*; qmp-stats: /),
    ]);
    const findings = model.warnings.flatMap((w) => w.findings ?? [w]);
    const notes = findings.filter((w) => w.code === 'rep-note');
    expect(new Set(notes.map((w) => `${w.subject.backend}|${w.message}`)).size).toBe(notes.length);
    // A clamp in a region no sum includes (hpet, a timer) changes no figure: not a finding. The
    // same notes in a counted region are.
    expect(findings.some((w) => /region=hpet/.test(w.message))).toBe(false);
    expect(run.record.backends.some((b) => b.reps.some((x) => x.notes?.some((n) => /region=hpet/.test(n))))).toBe(true);
    // testpmd's polling thread got less CPU under load than at rest: the 2-CPU host was oversubscribed.
    const starved = findings.find((w) => w.subject.backend === 'vhost-user-testpmd' && /^hostCpu role=testpmd/.test(w.message))!;
    expect(starved).toMatchObject({ code: 'cpu-starved', severity: 'warning', advice: expect.stringMatching(/more CPUs/) });
    expect(starved.message).toMatch(/testpmd got less CPU under load than at rest: the host's 2 CPUs were oversubscribed/);
  });
});

describe('figures of a real run', () => {
  it('aggregate: stacked device accesses per path and guest, stacked CPU per path, packet rate by payload, latency percentiles per path', () => {
    expect(figures.length).toBeLessThanOrEqual(14);
    const byId = new Map(figures.map((f) => [f.id, f]));
    const perGb = byId.get('deviceaccessespergb-tcp-stream')!;
    expect(perGb.stacked).toBe(true);
    expect(perGb.categories).toEqual(['e1000 · guest a', 'e1000 · guest b', 'virtio-net · guest a', 'virtio-net · guest b', 'vhost-user-testpmd · guest a', 'vhost-user-testpmd · guest b']);
    expect(perGb.datasets.map((d) => d.label)).toEqual(expect.arrayContaining(['e1000-mmio', 'apic-msi', 'virtio_queue_notify']));
    expect(perGb.datasets.map((d) => d.label)).not.toContain('hpet');
    expect(`${perGb.title} ${perGb.yLabel} ${perGb.caption}`).not.toMatch(/exit/i);
    // The stack is exactly the headline sum: each bar's height is the sum of the summed regions' means.
    const cost = model.costs.find((c) => c.backend === 'e1000' && c.guest === 'a' && c.scenario === 'tcp-stream' && c.metric === 'deviceAccessesPerGB')!;
    const height = perGb.datasets.reduce((a, d) => a + (d.values[0] ?? 0), 0);
    expect(height).toBeCloseTo(cost.summary.mean, 6);
    expect(byId.get('deviceaccessesperpacket-udp-small')!.categories).toContain('vhost-user-testpmd · guest b · 1400 B');
    const cpu = byId.get('hostcpupergbps-tcp-stream')!;
    expect(cpu.stacked).toBe(true);
    expect(cpu.categories).toEqual(['e1000', 'virtio-net', 'vhost-user-testpmd']);
    expect(cpu.datasets.map((d) => d.label).sort()).toEqual(['qemu a', 'qemu b', 'testpmd']);
    expect(byId.get('hostcpupermpps-udp-small')!.categories).toEqual(['e1000 · 64 B', 'e1000 · 1400 B', 'virtio-net · 64 B', 'virtio-net · 1400 B', 'vhost-user-testpmd · 64 B', 'vhost-user-testpmd · 1400 B']);
    const pps = byId.get('packetrate-udp-small')!;
    expect(pps.categories).toEqual(['64 B payload', '1400 B payload']);
    expect(pps.datasets.map((d) => d.label)).toEqual(['e1000', 'virtio-net', 'vhost-user-testpmd']);
    const lat = byId.get('latency-latency')!;
    expect(lat.categories).toEqual(['e1000', 'virtio-net', 'vhost-user-testpmd']);
    expect(lat.datasets.map((d) => d.label)).toEqual(['p50', 'p90', 'p99']);
    // Two repetitions: no t whiskers (t(1) = 12.7 would dwarf the bars), the dots show both.
    expect(lat.datasets.flatMap((d) => d.whiskers ?? []).every((w) => w === null)).toBe(true);
    expect(lat.caption).toMatch(/no whiskers with fewer than 3 repetitions/);
    expect(figures.every((f) => f.scenario !== 'idle')).toBe(true);
  });
});

describe('paths, collectors and features of a real run', () => {
  it('shows each collector per path, why not and the fix, and how each counted', () => {
    const b = model.backends.find((x) => x.id === 'vhost-user-testpmd')!;
    expect(b.collectors.map((c) => c.id)).toContain('testpmd-ports');
    expect(model.backends.find((x) => x.id === 'e1000')!.collectors.map((c) => c.id)).not.toContain('testpmd-ports');
    expect(page).toMatch(/<th class="c">e1000<\/th><th class="c">virtio-net<\/th><th class="c">vhost-user-testpmd<\/th>/);
    expect(page).toMatch(/<strong>perf-kvm, perf-kvm-exit-reasons, debugfs<\/strong> \(every path\): the guests run under TCG/);
    expect(page).toMatch(/<strong>tcg-trace<\/strong>: device accesses \(software emulation\) count emulated MMIO\/PIO accesses .* they stand in for VM exits and are not exits/);
    expect(page).toMatch(/left out, as not on the path under test: serial/);
    expect(page).toContain('No collectors for vhost-net (skipped)');
  });

  it('compares negotiated features compactly: the shared ones once, the differing ones as a matrix', () => {
    const feat = page.slice(page.indexOf('id="features"'), page.indexOf('id="warnings"'));
    expect(feat).toMatch(/<strong>virtio<\/strong> <span class="muted">\(all of virtio-net, vhost-user-testpmd\)<\/span>: <code>CSUM<\/code>/);
    expect(feat).toMatch(/<caption>virtio: not negotiated on every path that reports them<\/caption>/);
    expect(feat).toMatch(/<td><code>HOST_TSO4<\/code><\/td><td class="c">✓<\/td><td class="c"><span class="muted">–<\/span><\/td>/);
    // Each feature appears at most twice (a shared list or a matrix row), not once per guest and path.
    expect(feat.match(/<code>MRG_RXBUF<\/code>/g)).toHaveLength(1);
    expect(feat).toMatch(/<strong>offload<\/strong> <span class="muted">\(e1000\)<\/span>/);
  });
});
