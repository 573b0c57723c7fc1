// The report's CPU placement and host readiness: run.json's optional fields are accepted (and old
// runs without them still load), the HTML section shows each path's cores, the threads read back
// and what shared a core and which other paths were up beside it, the readiness table says NOT
// READY with the fixes, and summary.md says the same in Markdown.

import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../../harness/report/build.ts';
import { placementSection } from '../../../harness/report/html-sections.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { renderMarkdown } from '../../../harness/report/markdown.ts';
import { quietHostNoise } from '../../../harness/report/run-warnings.ts';
import type { Warning } from '../../../harness/stats/warnings.ts';
import { planPlacement } from '../../../harness/host/placement.ts';
import { readinessRecord } from '../../../harness/run/placement-step.ts';
import { runRecordSchema, type PlacementRecord, type RunRecord } from '../../../harness/run/record.ts';
import { copyRun, fixture } from './helpers.ts';

const plan = planPlacement({ cpus: [0, 1], guests: [{ name: 'a', vcpus: 1 }, { name: 'b', vcpus: 1 }], helpers: [] });
const auto: PlacementRecord = {
  policy: 'auto',
  cpus: '0-1',
  housekeeping: plan.housekeeping,
  units: plan.units,
  shared: plan.shared,
  threads: [
    { role: 'qemu a', kind: 'vcpu', tid: 101, comm: 'CPU 0/TCG', pinned: '1', allowed: '1' },
    { role: 'qemu a', kind: 'io', tid: 100, comm: 'qemu-system-x86', pinned: '1', allowed: '1' },
    { role: 'qemu b', kind: 'vcpu', tid: 201, comm: 'CPU 0/TCG', pinned: '0', allowed: '0-1' },
    { role: 'iopath', kind: 'host', tid: 50, comm: 'node', pinned: '0', allowed: '0' },
  ],
  notes: [],
  alongside: ['virtio-net'],
  otherLoad: { seconds: 40, busyCpus: 0.42, top: [{ pid: 7, comm: 'cc1', cpuSec: 12 }], status: 'not-ready', detail: 'processes outside the run kept 0.42 CPUs busy on average over 40 s; busiest: cc1 (7) 12.00 s' },
};
const none: PlacementRecord = { policy: 'none', cpus: '0-1', threads: [{ role: 'qemu a', kind: 'vcpu', tid: 301, comm: 'CPU 0/TCG', allowed: '0-1' }], notes: [] };
const readiness = readinessRecord(
  [
    { id: 'governor', title: 'CPU frequency governor', status: 'unknown', detail: 'unknown (no cpufreq on this host: a VM, or no frequency driver)' },
    { id: 'hugepages', title: 'hugepages', status: 'not-ready', detail: 'none reserved', fix: 'echo 1024 > /proc/sys/vm/nr_hugepages' },
  ],
  new Date('2026-01-01T00:00:00Z'),
);

function withPlacement(): string {
  return copyRun('tcg-dev-a-1', {
    record: (r: RunRecord) => ({
      ...r,
      readiness,
      backends: r.backends.map((b) => (b.id === 'e1000' ? { ...b, placement: auto } : b.status === 'ok' ? { ...b, placement: none } : b)),
    }),
  });
}

const model = (dir: string) => buildReportModel([loadRun(dir)], { generatedAt: '2026-01-01T00:00:00.000Z' });

describe('placement and readiness in run.json and the report', () => {
  it('the schema accepts them, and a run without them still loads', () => {
    const rec = loadRun(withPlacement()).record;
    expect(rec.backends[0]!.placement!.threads).toHaveLength(4);
    expect(rec.readiness!.ready).toBe(false);
    expect(loadRun(fixture('tcg-dev-a-1')).record.readiness).toBeUndefined();
    expect(runRecordSchema.safeParse({ ...rec, readiness: { ...rec.readiness, items: [{ id: 'x', title: 'x', status: 'maybe', detail: '' }] } }).success).toBe(false);
  });

  it('HTML: cores with what shares them, threads read back (a thread not where pinned is called out), other load, readiness with fixes', () => {
    const page = placementSection(model(withPlacement())).value;
    expect(page).toContain('e1000: fewer cores than busy units, so these share a core: core 0: vCPU 0 of guest b, QEMU I/O threads of guest b (main loop, iothreads), iopath and the host tools it starts (iperf3/sockperf servers, perf)');
    expect(page).toContain('<caption>e1000: CPU placement auto on CPUs 0-1</caption>');
    expect(page).toMatch(/<td class="num">0<br><span class="muted">housekeeping<\/span><\/td>/);
    expect(page).toContain('e1000: 1 thread(s) are not where they were pinned (qemu b CPU 0/TCG: pinned 0, allowed 0-1)');
    expect(page).toContain('e1000: other load (host not quiet): processes outside the run kept 0.42 CPUs busy');
    expect(page).toContain('e1000: placed as if alone; the guests of virtio-net were up at the same time on the same cores, paused (virtual CPUs stopped, busy pollers quiet), while e1000 was measured.');
    expect(page).toContain('virtio-net: placement none: no thread was pinned; each may run on CPUs 0-1, wherever the scheduler puts it.');
    expect(page).toContain('This host was not set up for repeatable numbers: hugepages not ready (fixes in the table).');
    expect(page).toMatch(/<caption>Host readiness of run [0-9a-z-]+: NOT READY<\/caption>/);
    expect(page).toContain('echo 1024 &gt; /proc/sys/vm/nr_hugepages');
    expect(page).toContain('unknown (no cpufreq on this host');
  });

  it('Markdown: a placement line per path and the readiness items, not-ready ones with their fix', () => {
    const text = renderMarkdown(model(withPlacement()));
    expect(text).toContain('### CPU placement');
    expect(text).toMatch(/- e1000: fewer cores than busy units, so these share a core: core 0: vCPU 0 of guest b/);
    expect(text).toContain('- e1000: placed as if alone; the guests of virtio-net were up at the same time');
    expect(text).toContain('### Host readiness: not ready');
    expect(text).toContain('- **not ready**: hugepages: none reserved Fix: `echo 1024 > /proc/sys/vm/nr_hugepages`');
    expect(text).toContain('- unknown: CPU frequency governor: unknown (no cpufreq on this host: a VM, or no frequency driver)');
  });

  it('a run without them says so instead of an empty section', () => {
    expect(placementSection(model(fixture('tcg-dev-a-1'))).value).toContain('run.json records no CPU placement or host readiness');
    expect(renderMarkdown(model(fixture('tcg-dev-a-1')))).not.toContain('### CPU placement');
  });
});

describe('noise on a quiet, pinned host', () => {
  const quiet: PlacementRecord = { ...auto, otherLoad: { seconds: 40, busyCpus: 0.02, top: [], status: 'ok', detail: 'processes outside the run kept 0.02 CPUs busy on average over 40 s' } };
  const noisy = (backend: string, host: string): Warning => ({ code: 'high-cv', severity: 'warning', subject: { host, backend, scenario: 'tcp-stream' }, message: 'noisy', advice: 'stop other work on the host, pin the guests to cores, or raise the number of repetitions' });

  it('says the spread is the host’s or the workload’s where the path was pinned and nothing else ran, and keeps the advice elsewhere', () => {
    const placements: Record<string, PlacementRecord> = { e1000: quiet, 'virtio-net': none };
    const run = loadRun(copyRun('tcg-dev-a-1', { record: (r: RunRecord) => ({ ...r, backends: r.backends.map((b) => (placements[b.id] ? { ...b, placement: placements[b.id] } : b)) }) }));
    const ids = run.record.backends.map((b) => b.id);
    expect(ids).toEqual(expect.arrayContaining(['e1000', 'virtio-net']));
    const other = ids.find((id) => !placements[id]);
    const ws = [noisy('e1000', run.host), noisy('virtio-net', run.host), ...(other ? [noisy(other, run.host)] : []), { ...noisy('e1000', run.host), code: 'outlier' as const }];
    const [e1000, virtio, rest, outlier] = quietHostNoise(ws, [run]);
    expect(e1000!.advice).toMatch(/^nothing else ran on the host while this path was measured \(other processes kept 0\.02 CPUs busy\) and its threads were pinned, so the spread comes from the host itself/);
    expect(e1000!.advice).toContain('raise the number of repetitions');
    expect(e1000!.advice).not.toContain('stop other work');
    // Not pinned (placement none), no placement recorded, or not a noise warning: as they were.
    expect(virtio).toEqual(ws[1]);
    if (other) expect(rest).toEqual(ws[2]);
    expect(outlier).toEqual(ws[3]);
    // Other load on the host: the old advice holds.
    const busy = loadRun(copyRun('tcg-dev-a-1', { record: (r: RunRecord) => ({ ...r, backends: r.backends.map((b) => (b.id === 'e1000' ? { ...b, placement: auto } : b)) }) }));
    expect(quietHostNoise([noisy('e1000', busy.host)], [busy])[0]!.advice).toMatch(/^stop other work/);
  });
});
