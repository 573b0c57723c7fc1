// One place per path: no path id is written anywhere in harness/ but in its own module (comments
// included; the registry's list is the one exception), and a throw-away sixth path, defined only
// here, shows up in doctor, setup, the report (its own colour and order), recovery and the CPU
// attribution without any other file knowing it.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, pathList, pathPackages, pathProbes } from '../../harness/backends/registry.ts';
import type { NicBackend } from '../../harness/backends/types.ts';
import { HostCpuCollector, cpuSamples } from '../../harness/collectors/host-cpu.ts';
import { doctorText, pathChecks } from '../../harness/commands/doctor.ts';
import { probeHost } from '../../harness/host/facts.ts';
import { recoverDeadRuns } from '../../harness/host/recovery.ts';
import { writeOwner } from '../../harness/host/registry.ts';
import { projectRoot } from '../../harness/paths.ts';
import { buildReportModel } from '../../harness/report/build.ts';
import { buildFigures } from '../../harness/report/figures.ts';
import { sourceList } from '../../harness/report/format.ts';
import { loadRun } from '../../harness/report/load.ts';
import { renderMarkdown } from '../../harness/report/markdown.ts';
import { helperProcesses } from '../../harness/run/path-run.ts';
import { RunStore } from '../../harness/run/store.ts';
import { RunTree } from '../../harness/run/tree.ts';

const REGISTRY = 'harness/backends/registry.ts';

/** A path id as a word of its own (`virtio-net-pci` is a QEMU device, not the path `virtio-net`). */
const mention = (id: string) => new RegExp(`(?<![A-Za-z0-9_-])${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_-])`);

/** Where a path id is written outside its own module: `file: id` for each. */
function offenders(files: readonly { path: string; text: string }[], ids: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (f.path === REGISTRY) continue;
    for (const id of ids) {
      if (f.path === `harness/backends/${id}.ts`) continue;
      if (mention(id).test(f.text)) out.push(`${f.path}: ${id}`);
    }
  }
  return out;
}

function sourceFiles(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const entry of readdirSync(dir)) {
    const full = join(dir, entry);
    if (entry === 'node_modules' || entry === 'build') continue;
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|js|md|json|cc|h|gyp)$/.test(entry)) out.push({ path: relative(projectRoot, full), text: readFileSync(full, 'utf8') });
  }
  return out;
}

describe('one place per path', () => {
  const ids = Object.keys(backends);

  it('no path id appears in harness/ outside its own module, comments included', () => {
    expect(offenders(sourceFiles(join(projectRoot, 'harness')), ids)).toEqual([]);
  });

  it('the check finds a path named anywhere else, in code or in a comment', () => {
    const planted = [
      { path: 'harness/report/format.ts', text: "const ORDER = ['e1000', 'virtio-net'];" },
      { path: 'harness/host/recovery.ts', text: '// removes what vhost-user-testpmd leaves' },
      { path: 'harness/backends/vhost-user-common.ts', text: "driver: 'virtio-net-pci' // a device, not a path" },
      { path: 'harness/backends/e1000.ts', text: "id: 'e1000'" },
    ];
    expect(offenders(planted, ids)).toEqual(['harness/report/format.ts: e1000', 'harness/report/format.ts: virtio-net', 'harness/host/recovery.ts: vhost-user-testpmd']);
  });
});

describe('a sixth path, defined only in this test', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'iopath-sixth-'));
  const DEVICE = '/dev/iopath-sixth-does-not-exist';
  const sixth: NicBackend = {
    id: 'sixth-path',
    title: 'a throw-away sixth path',
    summary: 'exists only in this test',
    presentation: { order: 35, color: '#332288', sources: { 'sixth-ports': 'the sixth switch' } },
    debianPackages: ['sixth-switch-pkg'],
    hostProbes: { devices: [DEVICE] },
    helpers: [{ role: 'sixth-switch', what: 'its own switch', threadKinds: [{ comm: /^sixth-poll-\d+$/, kind: 'poller' }] }],
    metrics: ['switchPackets'],
    requirements: (host) => {
      const ok = host.devices[DEVICE] === true;
      return [{ what: DEVICE, ok, detail: ok ? 'present' : 'absent', reason: 'the sixth device is missing', fix: 'modprobe sixth' }];
    },
    guestArgs: () => ({ chardevs: [], netdevs: [], devices: [], sharedMemory: false }),
    setUp: async () => ({ notes: [], processes: () => [{ role: 'sixth-switch', pid: 4242 }] }),
    recover: (dead) => {
      const leftover = join(scratch, `sixth-${dead.tag}.sock`);
      writeFileSync(join(scratch, 'recovered'), dead.tag);
      return [leftover];
    },
  };
  const all = [...pathList, sixth];

  it('doctor prints its requirement line and why it cannot run; setup knows its packages', async () => {
    const host = await probeHost(pathProbes(all));
    const checks = pathChecks(host, all);
    expect(checks.find((c) => c.id === 'sixth-path')).toMatchObject({ ok: false, reason: 'the sixth device is missing', fix: 'modprobe sixth' });
    const text = doctorText(host, [], checks);
    expect(text).toMatch(/SKIP sixth-path \(a throw-away sixth path\): the sixth device is missing\n\s+MISS \/dev\/iopath-sixth-does-not-exist: absent\n\s+fix: modprobe sixth/);
    expect(pathPackages(all)).toContain('sixth-switch-pkg');
  });

  it('the report draws it in its own colour, in its own place among the paths, and names its source', () => {
    const dir = join(scratch, 'results', 'run-with-six');
    const shown = [backends['vhost-user-ts'], sixth, backends.e1000, backends['virtio-net']];
    const tree = new RunTree({ run: 'run-with-six', argv: [], profile: { name: 'p', path: '/p', hash: 'h', plan: {} }, paths: shown, scenarios: ['tcp-stream'], repetitions: 3, warmup: 0 });
    const store = new RunStore(dir, 'run-with-six', 'h');
    tree.attach({ save: (r) => store.save(r), log: (t) => store.log(t) });
    shown.forEach((p, i) => {
      const node = tree.path(p.id);
      node.start();
      for (let rep = 0; rep < 3; rep++) {
        store.append({ backend: p.id, scenario: 'tcp-stream', rep, warmup: false }, [
          { metric: 'throughput', value: (i + 1) * 1e9 * (1 + rep / 100), unit: 'bit/s', source: 'iperf3' },
          ...(p === sixth ? [{ metric: 'switchPackets' as const, value: 1000 + rep, unit: 'count' as const, source: 'sixth-ports', dims: { port: '0', direction: 'rx' } }] : []),
        ]);
        node.scenario('tcp-stream').rep({ scenario: 'tcp-stream', rep, warmup: false, status: 'ok', startedAt: 't', durationMs: 1 });
      }
      node.scenario('tcp-stream').finish();
      node.settle();
    });
    tree.finish();
    store.close();

    const model = buildReportModel([loadRun(dir)], { generatedAt: '2025-01-01T00:00:00Z' });
    const throughput = buildFigures(model).find((f) => f.section === 'throughput')!;
    expect(throughput.categories).toEqual(['e1000', 'virtio-net', 'sixth-path', 'vhost-user-ts']);
    expect(throughput.datasets[0]!.color).toEqual([backends.e1000.presentation.color, backends['virtio-net'].presentation.color, '#332288', backends['vhost-user-ts'].presentation.color]);
    expect(model.references).toEqual([{ host: 'h', backend: 'e1000' }]);
    const own = model.series.find((s) => s.backend === 'sixth-path' && s.metric === 'switchPackets')!;
    expect(sourceList(own.sources, model.sourceNames)).toBe('the sixth switch');
    expect(renderMarkdown(model)).toMatch(/sixth-path/);
  });

  it('recovery runs its hook for a dead run, by the run\'s tag', async () => {
    const root = join(scratch, 'runtime');
    const runDir = join(root, '20250101-000000-5e5e5e');
    mkdirSync(runDir, { recursive: true });
    const dead = spawnSync('true').pid; // a process that has exited: the run's owner is gone
    writeOwner(runDir, { pid: dead, start: 1, run: '20250101-000000-5e5e5e', tag: '5e5e5e', resultsDir: join(scratch, 'nowhere'), startedAt: 't' });
    const report = await recoverDeadRuns(root, { paths: all, sweepNamespaces: false });
    expect(report.runs).toEqual(['20250101-000000-5e5e5e']);
    expect(readFileSync(join(scratch, 'recovered'), 'utf8')).toBe('5e5e5e');
    expect(existsSync(runDir)).toBe(false);
  });

  it('host CPU is attributed to its helper, with its own names for its threads', async () => {
    const proc = join(scratch, 'proc');
    const stat = (tid: number, comm: string, ticks: number) => `${tid} (${comm}) S 1 1 1 0 -1 0 0 0 0 0 ${ticks} 0 0 0 20 0 1 0 1 1 1`;
    const write = (ticks: number) => {
      for (const [tid, comm] of [[4242, 'sixth-main'], [4243, 'sixth-poll-0']] as const) {
        mkdirSync(join(proc, '4242', 'task', String(tid)), { recursive: true });
        writeFileSync(join(proc, '4242', 'task', String(tid), 'stat'), stat(tid, comm, tid === 4243 ? ticks : 1));
      }
      writeFileSync(join(proc, '4242', 'stat'), stat(4242, 'sixth-main', 1));
    };
    write(100);
    const instance = await sixth.setUp(undefined as never, undefined as never);
    const processes = helperProcesses(sixth, instance, [{ name: 'a', qemuPid: 1 }]);
    expect(processes).toEqual([{ role: 'sixth-switch', pid: 4242, threadKinds: sixth.helpers![0]!.threadKinds }]);
    const collector = new HostCpuCollector({ processes, procRoot: proc });
    expect(await collector.availability()).toEqual({ available: true });
    const before = collector.snapshot();
    write(350);
    const samples = cpuSamples(before, collector.snapshot(), 100);
    expect(samples).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ metric: 'hostCpu', value: 2.5, dims: { role: 'sixth-switch', kind: 'poller' } }),
        expect.objectContaining({ metric: 'hostCpu', value: 0, dims: { role: 'sixth-switch', kind: 'main' } }),
      ]),
    );
  });
});
