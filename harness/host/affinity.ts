// Thread affinity on the live host: the threads of a process (/proc/<pid>/task/*/comm), the kernel
// vhost workers of a QEMU, where a thread may run (Cpus_allowed_list), and pinning with
// sched_setaffinity through util-linux `taskset` (typed argv, never a shell).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './proc.ts';
import { formatCpuList, parseCpuList } from './placement.ts';

export interface TaskRef {
  /** The process the thread belongs to (for a kernel vhost worker, the worker itself). */
  pid: number;
  tid: number;
  comm: string;
}

/** Every thread of a process; empty when it is gone. */
export function tasksOf(pid: number, proc = '/proc'): TaskRef[] {
  let tids: string[];
  try {
    tids = readdirSync(join(proc, String(pid), 'task'));
  } catch {
    return [];
  }
  return tids.flatMap((t) => {
    try {
      return [{ pid, tid: Number(t), comm: readFileSync(join(proc, String(pid), 'task', t, 'comm'), 'utf8').trim() }];
    } catch {
      return [];
    }
  });
}

/**
 * The vhost workers of a QEMU: threads named `vhost-<qemu pid>`, which are QEMU's own tasks on
 * kernels 6.4 and later and separate kernel threads before.
 */
export function vhostWorkersOf(qemuPid: number, proc = '/proc'): TaskRef[] {
  const name = `vhost-${qemuPid}`;
  const own = tasksOf(qemuPid, proc).filter((t) => t.comm === name);
  let entries: string[] = [];
  try {
    entries = readdirSync(proc);
  } catch {
    return own;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === qemuPid) continue;
    try {
      if (readFileSync(join(proc, e, 'comm'), 'utf8').trim() === name) own.push({ pid: Number(e), tid: Number(e), comm: name });
    } catch {
      // gone
    }
  }
  return own;
}

/** Where a thread may run (its Cpus_allowed_list), or undefined when it is gone. */
export function allowedCpus(pid: number, tid: number, proc = '/proc'): string | undefined {
  try {
    const status = readFileSync(join(proc, String(pid), 'task', String(tid), 'status'), 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  } catch {
    return undefined;
  }
}

/** The CPUs this process may run on. */
export function ownCpus(proc = '/proc'): number[] {
  const list = allowedCpus(process.pid, process.pid, proc);
  return list ? parseCpuList(list) : [];
}

/** Pin one thread (or, with `wholeProcess`, every thread of a process) to `cpus`. */
export async function pinTo(tid: number, cpus: readonly number[], o: { wholeProcess?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  const argv = ['taskset', ...(o.wholeProcess ? ['-a'] : []), '-c', '-p', formatCpuList(cpus), String(tid)];
  await runCommand(argv, { timeoutMs: 10_000, ...(o.signal ? { signal: o.signal } : {}), fix: 'apt-get install -y util-linux' });
}
