// /proc stat lines of a QEMU under TCG (recorded on the development machine), thread naming, and
// CPU seconds per role and kind from two snapshots; plus the collector on this very test process.

import { describe, expect, it } from 'vitest';
import { cpuSamples, HostCpuCollector, type CpuSnapshot } from '../../../harness/collectors/host-cpu.ts';
import { classifyThread, parseProcStat } from '../../../harness/collectors/parse/proc-stat.ts';
import { backends } from '../../../harness/backends/registry.ts';
import { ParseError } from '../../../harness/errors.ts';

// /proc/19189/task/*/stat of `qemu-system-x86_64 -accel tcg -name debug-threads=on`.
const MAIN =
  '19189 (qemu-system-x86) S 1 19184 7668 0 -1 138412416 4582 0 12 0 0 3 0 0 20 0 3 0 158897 1364107264 10860 18446744073709551615 94121831124992 94121836985429 140734534666720 0 0 0 268444224 4100 16451 1 0 0 17 0 0 0 0 0 0 94121840097528 94121845301680 94122713452544 140734534670963 140734534671058 140734534671058 140734534672348 0';
const VCPU =
  '19195 (CPU 0/TCG) S 1 19184 7668 0 -1 138412224 443 0 0 0 3 1 0 0 20 0 3 0 158909 1364107264 10860 18446744073709551615 94121831124992 94121836985429 140734534666720 0 0 0 2147220087 4100 16451 1 0 0 -1 0 0 0 0 0 0 94121840097528 94121845301680 94122713452544 140734534670963 140734534671058 140734534671058 140734534672348 0';

describe('parseProcStat', () => {
  it('reads utime and stime after a command name with spaces and a slash', () => {
    expect(parseProcStat(VCPU)).toEqual({ tid: 19195, comm: 'CPU 0/TCG', state: 'S', utimeTicks: 3, stimeTicks: 1 });
    expect(parseProcStat(MAIN)).toMatchObject({ tid: 19189, comm: 'qemu-system-x86', utimeTicks: 0, stimeTicks: 3 });
  });

  it('survives a closing parenthesis inside the name', () => {
    expect(parseProcStat('42 (a) b) R 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 1').comm).toBe('a) b');
  });

  it('rejects a short line', () => {
    expect(() => parseProcStat('42 (x) R 1 2')).toThrow(ParseError);
  });
});

describe('classifyThread', () => {
  it.each([
    ['CPU 0/TCG', 'vcpu', false, true],
    ['CPU 3/KVM', 'vcpu', false, true],
    ['qemu-system-x86', 'io', true, true],
    ['IO iothread0', 'io', false, true],
    ['IO mon_iothread', 'io', false, true],
    ['call_rcu', 'other', false, true],
    ['qemu-system-x86', 'other', false, true],
    ['worker', 'worker', false, true],
    ['vhost-19189', 'vhost', false, true],
    ['eal-intr-thread', 'other', false, false],
    ['node', 'main', true, false],
    ['lcore-worker-1', 'other', false, false],
  ] as const)('%s -> %s', (comm, kind, isMainThread, qemu) => {
    expect(classifyThread(comm, { isMainThread, qemu })).toBe(kind);
  });

  // The thread names a path declares for its helper come first; testpmd's are its own business.
  const testpmdRules = backends['vhost-user-testpmd'].helpers![0]!.threadKinds!;
  it.each([
    ['dpdk-testpmd', 'main', true],
    ['lcore-worker-1', 'lcore', false],
    ['rte-worker-1', 'lcore', false],
    ['eal-intr-thread', 'other', false],
  ] as const)('%s of testpmd -> %s', (comm, kind, isMainThread) => {
    expect(classifyThread(comm, { isMainThread, qemu: false, rules: testpmdRules })).toBe(kind);
  });
});

describe('cpuSamples', () => {
  const t = (role: string, kind: 'vcpu' | 'io' | 'vhost', ticks: number) => ({ role, kind, comm: '', ticks });

  it('sums per role and kind, counts new threads from zero, ignores threads that ended', () => {
    const before: CpuSnapshot = new Map([
      ['1/1', t('qemu a', 'io', 100)],
      ['1/2', t('qemu a', 'vcpu', 1000)],
      ['1/3', t('qemu a', 'vcpu', 50)],
      ['1/9', t('qemu a', 'vcpu', 70)],
    ]);
    const after: CpuSnapshot = new Map([
      ['1/1', t('qemu a', 'io', 150)],
      ['1/2', t('qemu a', 'vcpu', 1300)],
      ['1/3', t('qemu a', 'vcpu', 60)],
      ['7/7', t('qemu a', 'vhost', 25)],
    ]);
    expect(cpuSamples(before, after, 100)).toEqual([
      { metric: 'hostCpu', value: 0.5, unit: 's', source: 'proc', dims: { role: 'qemu a', kind: 'io' } },
      { metric: 'hostCpu', value: 3.1, unit: 's', source: 'proc', dims: { role: 'qemu a', kind: 'vcpu' } },
      { metric: 'hostCpu', value: 0.25, unit: 's', source: 'proc', dims: { role: 'qemu a', kind: 'vhost' } },
    ]);
  });
});

describe('HostCpuCollector on this process', () => {
  it('measures CPU time burnt by this thread inside the window', async () => {
    const c = new HostCpuCollector({ processes: [{ role: 'test', pid: process.pid }] });
    expect(await c.availability()).toEqual({ available: true });
    const window = { kind: 'measure' as const, backend: 'none', scenario: 'spin', rep: 0, warmup: false };
    await c.start(window);
    // Spin until /proc shows that this thread used CPU since the start (a tick is 1/CLK_TCK s).
    const key = `${process.pid}/${process.pid}`;
    const atStart = c.snapshot().get(key)!.ticks;
    const deadline = Date.now() + 5_000;
    let x = 0;
    while (Date.now() < deadline && c.snapshot().get(key)!.ticks <= atStart) {
      for (let i = 0; i < 1e6; i++) x += i;
    }
    const samples = await c.stop(window);
    expect(x).toBeGreaterThan(0);
    const main = samples.find((s) => s.dims?.kind === 'main');
    expect(main).toBeDefined();
    expect(main!.value).toBeGreaterThan(0);
  });

  it('says which process is missing', async () => {
    const c = new HostCpuCollector({ processes: [{ role: 'switch', pid: 2 ** 22 + 12345 }] });
    expect(await c.availability()).toMatchObject({ available: false, reason: `process ${2 ** 22 + 12345} (switch) is not running` });
  });
});
