// Thread affinity on this host, on a process of our own (`sleep`): pinning through taskset reaches
// the kernel (Cpus_allowed_list reads back the core), whole-process pinning covers every thread,
// and a thread that does not exist is reported, not ignored.

import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedCpus, ownCpus, pinTo, tasksOf, vhostWorkersOf } from '../../harness/host/affinity.ts';
import { formatCpuList } from '../../harness/host/placement.ts';

const child = spawn('sleep', ['60'], { stdio: 'ignore' });
afterAll(() => void child.kill('SIGKILL'));

describe('thread affinity on the live host', () => {
  it('pins a process to one core and reads it back from /proc', async () => {
    const cpus = ownCpus();
    expect(cpus.length).toBeGreaterThan(0);
    const pid = child.pid!;
    expect(allowedCpus(pid, pid)).toBe(formatCpuList(cpus));
    const last = cpus.at(-1)!;
    await pinTo(pid, [last], { wholeProcess: true });
    expect(tasksOf(pid).map((t) => allowedCpus(pid, t.tid))).toEqual(tasksOf(pid).map(() => String(last)));
    expect(tasksOf(pid)[0]).toMatchObject({ pid, tid: pid, comm: 'sleep' });
    await pinTo(pid, cpus);
    expect(allowedCpus(pid, pid)).toBe(formatCpuList(cpus));
  });

  it('a thread that is gone: no tasks, no affinity, and pinning fails with the command named', async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.on('exit', r));
    expect(tasksOf(gone.pid!)).toEqual([]);
    expect(allowedCpus(gone.pid!, gone.pid!)).toBeUndefined();
    await expect(pinTo(gone.pid!, [0])).rejects.toThrow(/taskset -c -p 0 \d+/);
    expect(vhostWorkersOf(gone.pid!)).toEqual([]);
  });
});

describe('the real placer on processes of our own', () => {
  it('pins a "guest" vCPU thread found through QMP, a helper\'s every thread and iopath itself, reads them back; giving iopath its CPUs back is a step of its own', async () => {
    const { realPlacer } = await import('../../harness/run/placement-step.ts');
    const { planPlacement } = await import('../../harness/host/placement.ts');
    const cpus = ownCpus();
    const qemu = spawn('sleep', ['60'], { stdio: 'ignore' });
    const helper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const plan = planPlacement({ cpus, guests: [{ name: 'a', vcpus: 1 }], helpers: [{ role: 'switch', busyPoll: false }] });
      const qmp = { execute: async (cmd: string) => (cmd === 'query-cpus-fast' ? [{ 'cpu-index': 0, 'thread-id': qemu.pid }] : undefined) };
      const applied = await realPlacer.apply({
        policy: 'auto',
        cpus,
        plan,
        guests: [{ name: 'a', pid: qemu.pid!, qmp: qmp as never }],
        helpers: [{ role: 'switch', unit: 'switch', pid: helper.pid!, pinnedBy: 'iopath' }],
        signal: new AbortController().signal,
      });
      const cpuOf = (id: string) => String(plan.units.find((u) => u.id === id)!.cpu);
      const r = applied.record;
      expect(r.notes).toEqual([]);
      expect(r.threads.find((t) => t.tid === qemu.pid)).toMatchObject({ role: 'qemu a', kind: 'vcpu', pinned: cpuOf('vcpu a/0'), allowed: cpuOf('vcpu a/0') });
      expect(allowedCpus(qemu.pid!, qemu.pid!)).toBe(cpuOf('vcpu a/0'));
      expect(r.threads.filter((t) => t.role === 'switch').every((t) => t.allowed === cpuOf('helper switch'))).toBe(true);
      expect(allowedCpus(process.pid, process.pid)).toBe(String(plan.housekeeping));
      const load = await applied.finish();
      expect(['ok', 'not-ready']).toContain(load.status);
      // Undoing a path leaves iopath alone (other paths may be in force); the run gives its CPUs back.
      expect(allowedCpus(process.pid, process.pid)).toBe(String(plan.housekeeping));
      await realPlacer.pinSelf(cpus);
      expect(allowedCpus(process.pid, process.pid)).toBe(formatCpuList(cpus));
    } finally {
      await realPlacer.pinSelf(cpus).catch(() => undefined);
      qemu.kill('SIGKILL');
      helper.kill('SIGKILL');
    }
  });
});
