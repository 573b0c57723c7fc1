import { describe, expect, it } from 'vitest';
import { metricInfo } from '../../../harness/metrics.ts';
import { buildReportModel } from '../../../harness/report/build.ts';
import { chartConfig } from '../../../harness/report/charts.ts';
import { buildFigures } from '../../../harness/report/figures.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { copyRun, fixture } from './helpers.ts';

const build = (...names: string[]) => buildReportModel(names.map((n) => loadRun(fixture(n))), { generatedAt: '2025-03-04T00:00:00.000Z' });

describe('buildReportModel', () => {
  it('summarises one run: series, the ratio to the slowest path, the verdict', () => {
    const m = build('tcg-dev-a-1');
    expect(m.multiHost).toBe(false);
    const tp = m.series.find((s) => s.backend === 'virtio-net' && s.scenario === 'tcp-stream' && s.metric === 'throughput')!;
    expect(tp.summary.n).toBe(5);
    expect(tp.excluded.warmup).toBe(1);
    const ratio = m.ratios.find((r) => r.metric === 'throughput' && r.scenario === 'tcp-stream')!;
    expect(ratio).toMatchObject({ numerator: 'virtio-net', denominator: 'e1000' });
    expect(ratio.estimate.value).toBeGreaterThan(2.8);
    expect(ratio.estimate.value).toBeLessThan(3.3);
    expect(m.verdict).toMatch(/^On tcp-stream: virtio-net reaches 3\.\d+× the median throughput \(receiver\) of e1000 \(95 % CI/);
    expect(m.verdict).toMatch(/Not measured: vhost-net \(skipped\)/);
    expect(m.trend).toEqual([]);
  });

  it('turns a failed repetition and a far repetition into warnings in words', () => {
    const m = build('tcg-dev-a-1');
    const findings = m.warnings.flatMap((w) => w.findings ?? [w]);
    const failed = findings.find((w) => w.code === 'failed-rep')!;
    expect(failed.subject).toMatchObject({ backend: 'e1000', scenario: 'udp-pps' });
    expect(failed.message).toMatch(/repetition 2 failed: iperf3: error/);
    const pps = m.series.find((s) => s.backend === 'e1000' && s.metric === 'packetRate')!;
    expect(pps.summary.n).toBe(4);
    expect(findings.find((w) => w.code === 'outlier')!.message).toMatch(/^repetition 3 is an outlier \(off the median of n = 5\) in round-trip latency p99 \+\d+ %$/);
    expect(findings.find((w) => w.code === 'few-reps')!.subject).toMatchObject({ backend: 'e1000', scenario: 'udp-pps' });
    // The failed repetition and the few repetitions left of e1000 udp-pps are one entry, the failure first.
    const entry = m.warnings.find((w) => w.subject.backend === 'e1000' && w.subject.scenario === 'udp-pps')!;
    expect(entry.findings!.map((w) => w.code)).toEqual(['failed-rep', 'few-reps']);
    expect(m.warnings.filter((w) => w.subject.backend === 'e1000' && w.subject.scenario === 'udp-pps')).toHaveLength(1);
  });

  it('marks a partial run in the verdict and the warnings', () => {
    const m = build('partial-dev-a');
    expect(m.verdict).toMatch(/^PARTIAL RUN \(20250303-020000-default: interrupted\)/);
    expect(m.warnings[0]).toMatchObject({ code: 'partial-run', severity: 'error' });
    expect(m.runs[0]!.partial).toBe(true);
  });

  it('merges hosts with the host as a dimension and draws a trend over runs of one profile', () => {
    const m = build('tcg-dev-a-1', 'tcg-dev-a-2', 'kvm-bench-b');
    expect(m.multiHost).toBe(true);
    expect(m.hosts).toEqual(['bench-b', 'dev-a']);
    expect(m.runs.filter((r) => r.current).map((r) => r.id).sort()).toEqual(['20250302-020000-default', '20250302-021500-default']);
    expect(new Set(m.series.map((s) => s.host))).toEqual(new Set(['bench-b', 'dev-a']));
    const trend = m.trend.find((t) => t.metric === 'throughput' && t.backend === 'virtio-net')!;
    expect(trend.host).toBe('dev-a');
    expect(trend.points.map((p) => p.run)).toEqual(['20250301-020000-default', '20250302-020000-default']);
    expect(m.verdict).toMatch(/On bench-b, tcp-stream: vhost-net reaches/);
    expect(m.verdict).toMatch(/On dev-a, tcp-stream: virtio-net reaches/);
  });
});

describe('the shape of current runs', () => {
  it('keeps the idle window out of the scenarios and shows it as a baseline per path', () => {
    const m = build('tcg-dev-a-1');
    expect(m.series.some((s) => s.scenario === 'idle')).toBe(false);
    expect(m.idle.map((i) => [i.backend, i.windowSec, i.windowFrom])).toEqual([
      ['e1000', 6, 'plan'],
      ['virtio-net', 6, 'plan'],
    ]);
    const e1000 = m.idle.find((i) => i.backend === 'e1000')!;
    // e1000-mmio and apic-msi are on the path, the timer is not.
    expect(e1000.counts.find((c) => c.guest === 'a')).toMatchObject({ total: 779, counted: 755 });
    expect(e1000.cpu.map((c) => c.role)).toEqual(['qemu a', 'qemu b']);
  });

  it('merges failed repetitions with the same reason into one warning', () => {
    const dir = copyRun('tcg-dev-a-1', {
      record: (r) => ({ ...r, backends: r.backends.map((b) => (b.id === 'virtio-net' ? { ...b, reps: b.reps.map((x) => (!x.warmup && x.scenario === 'latency' && x.rep < 2 ? { ...x, status: 'failed' as const, reason: 'sockperf: timeout' } : x)) } : b)) }),
    });
    const m = buildReportModel([loadRun(dir)], { generatedAt: '2025-03-04T00:00:00.000Z' });
    const failed = m.warnings.flatMap((w) => w.findings ?? [w]).filter((w) => w.code === 'failed-rep' && w.subject.backend === 'virtio-net');
    expect(failed.map((w) => w.message)).toEqual(['repetitions 0, 1 failed: sockperf: timeout; their samples are excluded']);
  });

  it('lets a path inherit the run-wide collectors when run.json records them only once', () => {
    const dir = copyRun('tcg-dev-a-1', { record: (r) => ({ ...r, backends: r.backends.map(({ collectors: _c, ...b }) => b) }) });
    const m = buildReportModel([loadRun(dir)], { generatedAt: '2025-03-04T00:00:00.000Z' });
    expect(m.backends.find((b) => b.id === 'e1000')!.collectors.map((c) => c.id)).toEqual(['perf-kvm', 'debugfs', 'qmp-stats', 'tcg-trace', 'host-cpu', 'guest-nic']);
    expect(m.backends.find((b) => b.id === 'vhost-net')!.collectors).toEqual([]);
    expect(m.warnings.filter((w) => w.code === 'collector-unavailable').map((w) => w.message)).toEqual([
      'collector perf-kvm could not count: the guests run under TCG: there are no KVM exits to count',
      'collector debugfs could not count: reading /sys/kernel/debug/kvm failed with EPERM',
      'collector qmp-stats could not count: query-stats has no KVM provider under TCG',
    ]);
  });

  it('compares paths with e1000, the reference, on the summed cost figures too', () => {
    const m = build('kvm-bench-b');
    expect(m.references).toEqual([{ host: 'bench-b', backend: 'e1000' }]);
    const exits = m.ratios.find((r) => r.metric === 'exitsPerGB' && r.numerator === 'vhost-net')!;
    expect(exits).toMatchObject({ denominator: 'e1000', label: 'VM exits per GB, both guests', direction: 'lower-is-better' });
    expect(exits.estimate.value).toBeLessThan(0.1);
    expect(m.verdict).toMatch(/with [\d.]+× fewer VM exits per GB \(95 % CI/);
  });
});

describe('figures', () => {
  it('labels software-emulation counts as device accesses, never as exits', () => {
    const figs = buildFigures(build('tcg-dev-a-1'));
    const soft = figs.filter((f) => f.section === 'device-accesses' || f.id.includes('deviceaccesses'));
    expect(soft.length).toBeGreaterThanOrEqual(3);
    for (const f of soft) {
      expect(`${f.title} ${f.yLabel}`).toMatch(/device accesses/i);
      expect(`${f.title} ${f.yLabel} ${f.caption}`).not.toMatch(/exit/i);
      expect(f.sources).toEqual(['TCG trace']);
    }
    expect(figs.some((f) => f.section === 'exits')).toBe(false);
  });

  it('names the source, unit and better direction of every figure, on an upward linear axis from zero', () => {
    const figs = buildFigures(build('tcg-dev-a-1', 'tcg-dev-a-2', 'kvm-bench-b'));
    const ids = figs.map((f) => f.id);
    for (const id of ['throughput-tcp-stream', 'throughput-ratio-tcp-stream', 'packetrate-udp-pps', 'latency-latency', 'exitspergb-tcp-stream', 'deviceaccessespergb-tcp-stream', 'exitspergb-by-reason-tcp-stream', 'hostcpupergbps-tcp-stream']) {
      expect(ids).toContain(id);
    }
    expect(figs.some((f) => f.section === 'trend')).toBe(true);
    for (const f of figs) {
      expect(f.sources.length, f.id).toBeGreaterThan(0);
      if (f.direction !== 'neutral') expect(f.yLabel, f.id).toMatch(/(higher|lower) is better/);
      const cfg = chartConfig(f) as unknown as { options: { scales: { y: { reverse: boolean; beginAtZero: boolean; type: string } }; plugins: { subtitle: { text: string[] } } } };
      expect(cfg.options.scales.y).toMatchObject({ reverse: false, beginAtZero: true, type: 'linear' });
      expect(cfg.options.plugins.subtitle.text.join(' ')).toMatch(/is better · source: /);
    }
    const exits = figs.find((f) => f.id === 'exitspergb-tcp-stream')!;
    expect(exits.sources).toEqual(['perf']);
    expect(exits.yLabel).toBe('VM exits per GB (lower is better ↓)');
    expect(metricInfo('exitsPerGB').direction).toBe('lower-is-better');
  });

  it('draws throughput in Gbit/s with the mean, its interval and every repetition', () => {
    const m = build('tcg-dev-a-1');
    const f = buildFigures(m).find((x) => x.id === 'throughput-tcp-stream')!;
    const s = m.series.find((x) => x.backend === 'e1000' && x.scenario === 'tcp-stream' && x.metric === 'throughput')!;
    expect(f.yLabel).toBe('Gbit/s (higher is better ↑)');
    expect(f.categories).toEqual(['e1000', 'virtio-net']);
    expect(f.datasets[0]!.values[0]).toBeCloseTo(s.summary.mean / 1e9, 9);
    expect(f.datasets[0]!.whiskers![0]).toEqual([s.summary.ci!.low / 1e9, s.summary.ci!.high / 1e9]);
    expect(f.datasets[0]!.dots![0]).toHaveLength(5);
  });
});
