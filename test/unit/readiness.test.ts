// Host readiness from captured /sys and /proc text (test/fixtures/host/), and the other-load figure
// from two /proc snapshots.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { otherLoad, parseStatLine, type ProcSnapshot } from '../../harness/host/other-load.ts';
import { checkReadiness, hostFilesAt, isolatedCpus, type ReadinessItem } from '../../harness/host/readiness.ts';

const root = (name: string) => hostFilesAt(join(import.meta.dirname, '..', 'fixtures', 'host', name));
const byId = (items: ReadinessItem[]) => Object.fromEntries(items.map((i) => [i.id, i]));

describe('host readiness', () => {
  it('a 2-vCPU VM: what it cannot know is unknown, not a failure; what is not ready says how to fix it', () => {
    const r = byId(checkReadiness(root('vm-2cpu')));
    expect(Object.keys(r)).toEqual(['governor', 'boost', 'smt', 'isolation', 'irq', 'load', 'hugepages']);
    expect(r.governor).toMatchObject({ status: 'unknown', detail: 'unknown (no cpufreq on this host: a VM, or no frequency driver)' });
    expect(r.boost!.status).toBe('unknown');
    expect(r.smt).toMatchObject({ status: 'ok', detail: 'SMT notsupported: every CPU is a core of its own' });
    expect(r.isolation).toMatchObject({ status: 'not-ready' });
    expect(r.isolation!.fix).toContain('isolcpus=1 nohz_full=1 rcu_nocbs=1');
    expect(r.irq!.status).toBe('not-ready');
    expect(r.irq!.detail).toMatch(/^\d+ of \d+ IRQs may run on CPUs beyond 0 \(e\.g\. IRQ \d+ on 0-1\)$/);
    expect(r.load).toMatchObject({ status: 'not-ready', detail: 'load average 4.04 over the last minute on 2 CPUs: other work is running' });
    expect(r.hugepages).toMatchObject({ status: 'not-ready', detail: 'none reserved: DPDK runs with --no-huge; guest RAM is on transparent huge pages where the kernel finds them (THP: madvise, QEMU asks for them)' });
    expect(r.hugepages!.fix).toMatch(/nr_hugepages/);
  });

  it('an untuned SMT desktop: powersave, turbo, siblings, IRQs everywhere, irqbalance', () => {
    const r = byId(checkReadiness(root('smt-8cpu'), { irqbalance: true }));
    expect(r.governor).toMatchObject({ status: 'not-ready', detail: 'powersave on CPU 0-7: the clock changes with load, and so do the numbers' });
    expect(r.governor!.fix).toMatch(/cpupower frequency-set -g performance/);
    expect(r.boost).toMatchObject({ status: 'not-ready', fix: 'echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo' });
    expect(r.smt!.status).toBe('not-ready');
    expect(r.smt!.detail).toContain('CPUs 0,4; 1,5; 2,6; 3,7 are hyper-threads of one core');
    expect(r.irq!.detail).toBe('7 of 7 IRQs may run on CPUs beyond 0 (e.g. IRQ 0 on 0-7); irqbalance is running and moves them');
    expect(r.load!.status).toBe('ok');
    expect(r.isolation!.fix).toContain('isolcpus=1-7');
  });

  it('a host prepared as the PVP recipe asks: every item ok', () => {
    const items = checkReadiness(root('tuned-16cpu'));
    expect(items.filter((i) => i.status !== 'ok')).toEqual([]);
    const r = byId(items);
    expect(r.isolation!.detail).toBe('isolcpus 2-15, nohz_full 2-15: placement puts the busy threads there');
    expect(r.irq!.detail).toBe('all 8 IRQs are kept on CPU 0-1');
    expect(r.hugepages!.detail).toBe('1024 pages of 2 MiB reserved (1024 free), hugetlbfs at /dev/hugepages');
    expect(r.boost!.detail).toBe('boost off (cpufreq/boost = 0)');
  });

  it('isolated CPUs from the kernel command line when /sys does not say (isolcpus flags skipped)', () => {
    const f = { read: (p: string) => (p === 'proc/cmdline' ? 'ro isolcpus=managed_irq,domain,4-7 nohz_full=4-7\n' : undefined), list: () => undefined };
    expect(isolatedCpus(f)).toEqual({ isolated: [4, 5, 6, 7], nohzFull: [4, 5, 6, 7] });
  });

  it('nohz_full reading "(null)" (a kernel with NO_HZ_FULL booted without it, as in the nested lab): no CPUs', () => {
    const sys = { 'sys/devices/system/cpu/isolated': '\n', 'sys/devices/system/cpu/nohz_full': '(null)\n' } as Record<string, string>;
    const f = { read: (p: string) => sys[p], list: () => undefined };
    expect(isolatedCpus(f)).toEqual({ isolated: [], nohzFull: [] });
  });

  it('a host with nothing readable: every item unknown or not ready, none throws', () => {
    const items = checkReadiness({ read: () => undefined, list: () => undefined });
    expect(items.map((i) => i.status)).toEqual(['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
  });
});

describe('other load', () => {
  const stat = (pid: number, comm: string, ppid: number, u: number, s: number, cu = 0, cs = 0) =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194304 100 0 0 0 ${u} ${s} ${cu} ${cs} 20 0 1 0 100 1000 10`;
  const snap = (atMs: number, lines: string[]): ProcSnapshot => ({ atMs, procs: new Map(lines.map((l) => [Number(l.split(' ')[0]), parseStatLine(l)!])) });

  it('counts only processes outside the run: children, reaped children and vhost workers are the run\'s', () => {
    const before = snap(0, [
      stat(100, 'node', 1, 50, 10), // iopath
      stat(200, 'qemu-system-x86', 100, 1000, 100),
      stat(300, 'iperf3', 100, 10, 10), // reaped before the second snapshot
      stat(400, 'vhost-200', 2, 0, 0),
      stat(500, 'make', 1, 0, 0),
      stat(600, 'cc1 (x)', 500, 100, 0),
    ]);
    const after = snap(10_000, [
      stat(100, 'node', 1, 60, 12, 40, 20),
      stat(200, 'qemu-system-x86', 100, 2000, 150),
      stat(400, 'vhost-200', 2, 0, 300),
      stat(500, 'make', 1, 10, 0),
      stat(600, 'cc1 (x)', 500, 300, 0),
    ]);
    const r = otherLoad(before, after, 100, 100);
    expect(r.seconds).toBe(10);
    expect(r.busyCpus).toBeCloseTo(0.21, 5); // (10 + 200) ticks / 100 Hz / 10 s
    expect(r.top).toEqual([
      { pid: 600, comm: 'cc1 (x)', cpuSec: 2 },
      { pid: 500, comm: 'make', cpuSec: 0.1 },
    ]);
    expect(r.status).toBe('not-ready');
    expect(r.detail).toBe('processes outside the run kept 0.21 CPUs busy on average over 10 s; busiest: cc1 (x) (600) 2.00 s, make (500) 0.10 s');
  });

  it('a quiet host is ok; an unreadable /proc is unknown', () => {
    const s0 = snap(0, [stat(100, 'node', 1, 0, 0), stat(7, 'sshd', 1, 5, 0)]);
    const s1 = snap(20_000, [stat(100, 'node', 1, 500, 0), stat(7, 'sshd', 1, 6, 0)]);
    expect(otherLoad(s0, s1, 100, 100)).toMatchObject({ status: 'ok', busyCpus: 0.0005 });
    expect(otherLoad(snap(0, []), s1, 100, 100).status).toBe('unknown');
  });
});

describe('doctor', () => {
  it('prints each readiness item with its status, and the fix under those not ready', async () => {
    const { doctorText } = await import('../../harness/commands/doctor.ts');
    const host = { hostname: 'h', kernel: 'k', cpuCount: 2, cpuModel: 'm', memoryMiB: 1 } as Parameters<typeof doctorText>[0];
    const text = doctorText(host, [], [], checkReadiness(root('vm-2cpu')));
    expect(text).toContain('Host readiness for repeatable numbers: NOT READY (4 of 7 items); iopath runs either way and records this in run.json:');
    expect(text).toContain('  ??   CPU frequency governor: unknown (no cpufreq on this host: a VM, or no frequency driver)\n');
    expect(text).toMatch(/ {2}WARN hugepages: none reserved: .*\n {9}fix: echo 1024 > \/proc\/sys\/vm\/nr_hugepages/);
    expect(doctorText(host, [], [], checkReadiness(root('tuned-16cpu')))).toContain('Host readiness for repeatable numbers: ready;');
  });
});
