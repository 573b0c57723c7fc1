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
