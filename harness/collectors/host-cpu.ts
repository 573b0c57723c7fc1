// The `host-cpu` collector: CPU seconds over the window of every thread that works for a path, read
// from /proc/<pid>/task/<tid>/stat (utime + stime, in USER_HZ ticks from `getconf CLK_TCK`): each
// QEMU's vCPU threads and main loop / iothreads, the vhost kernel workers of each QEMU
// (`vhost-<qemu pid>`, threads of QEMU on kernels 6.4+, separate kernel threads before), and the
// helper processes a path declares. Emits `hostCpu` (seconds) with dims {role, kind}; kind from
// classifyThread, which tries the path's own thread names first.
// A thread that ends inside the window loses its CPU time (its stat file is gone at stop).

import { InternalError } from '../errors.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from '../samples.ts';
import { requireAvailable, unavailable, unavailableFrom } from './availability.ts';
import { clockTicksPerSecond } from './host-probe.ts';
import { classifyThread, parseProcStat, type ThreadKind } from './parse/proc-stat.ts';
import type { Availability, Collector, HostProcess, Window } from './types.ts';

export interface HostCpuOptions {
  processes: readonly HostProcess[];
  /** Where procfs is (default /proc). */
  procRoot?: string;
}

/** One thread's CPU ticks at one moment, with what it is counted as. */
export interface ThreadTicks {
  role: string;
  kind: ThreadKind;
  comm: string;
  ticks: number;
}

/** key `<pid>/<tid>` -> ticks */
export type CpuSnapshot = Map<string, ThreadTicks>;

export class HostCpuCollector implements Collector {
  readonly id = 'host-cpu';
  readonly source = '/proc';
  #o: HostCpuOptions;
  #proc: string;
  #availability: Promise<Availability> | undefined;
  #hz = 100;
  #before: CpuSnapshot | undefined;

  constructor(options: HostCpuOptions) {
    this.#o = options;
    this.#proc = options.procRoot ?? '/proc';
  }

  notes(): string[] {
    return ['host CPU is utime+stime of each thread in clock ticks (1/CLK_TCK s); threads that end inside a window are not counted'];
  }

  availability(): Promise<Availability> {
    this.#availability ??= this.#probe();
    return this.#availability;
  }

  async #probe(): Promise<Availability> {
    if (this.#o.processes.length === 0) return unavailable('no host processes to account');
    try {
      this.#hz = await clockTicksPerSecond();
    } catch (err) {
      return unavailableFrom(err);
    }
    for (const p of this.#o.processes) {
      try {
        readFileSync(join(this.#proc, String(p.pid), 'stat'), 'utf8');
      } catch {
        return unavailable(`process ${p.pid} (${p.role}) is not running`);
      }
    }
    return { available: true };
  }

  async start(_window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    this.#before = this.snapshot();
  }

  async stop(_window: Window): Promise<Sample[]> {
    const before = this.#before;
    if (!before) throw new InternalError('host-cpu: stop() without start()');
    this.#before = undefined;
    return cpuSamples(before, this.snapshot(), this.#hz);
  }

  /** Ticks of every accounted thread now. */
  snapshot(): CpuSnapshot {
    const snap: CpuSnapshot = new Map();
    for (const p of this.#o.processes) {
      for (const tid of p.tids ?? this.#tasks(p.pid)) this.#read(snap, p, p.pid, tid);
      if (p.qemu) {
        for (const worker of this.#vhostKernelThreads(p.pid)) this.#read(snap, p, worker, worker);
      }
    }
    return snap;
  }

  #tasks(pid: number): number[] {
    try {
      return readdirSync(join(this.#proc, String(pid), 'task')).map(Number);
    } catch {
      return [];
    }
  }

  #read(snap: CpuSnapshot, p: HostProcess, pid: number, tid: number): void {
    let text: string;
    try {
      text = readFileSync(join(this.#proc, String(pid), 'task', String(tid), 'stat'), 'utf8');
    } catch {
      return; // the thread ended
    }
    const stat = parseProcStat(text);
    snap.set(`${pid}/${tid}`, {
      role: p.role,
      kind: classifyThread(stat.comm, { isMainThread: tid === p.pid, qemu: p.qemu === true, ...(p.threadKinds ? { rules: p.threadKinds } : {}) }),
      comm: stat.comm,
      ticks: stat.utimeTicks + stat.stimeTicks,
    });
  }

  /** Kernel threads named `vhost-<pid>` that are not threads of pid (kernels before 6.4). */
  #vhostKernelThreads(qemuPid: number): number[] {
    const name = `vhost-${qemuPid}`;
    const found: number[] = [];
    let entries: string[];
    try {
      entries = readdirSync(this.#proc);
    } catch {
      return found;
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry) || Number(entry) === qemuPid) continue;
      try {
        if (readFileSync(join(this.#proc, entry, 'comm'), 'utf8').trim() === name) found.push(Number(entry));
      } catch {
        // gone
      }
    }
    return found;
  }
}

/** hostCpu samples (seconds per role and kind) from two snapshots. Threads new since `before` count from 0. */
export function cpuSamples(before: CpuSnapshot, after: CpuSnapshot, hz: number): Sample[] {
  const sums = new Map<string, { role: string; kind: ThreadKind; ticks: number }>();
  for (const [key, now] of after) {
    const delta = Math.max(0, now.ticks - (before.get(key)?.ticks ?? 0));
    const group = `${now.role}\u0000${now.kind}`;
    const sum = sums.get(group) ?? { role: now.role, kind: now.kind, ticks: 0 };
    sum.ticks += delta;
    sums.set(group, sum);
  }
  return [...sums.values()].map((s) => ({
    metric: 'hostCpu',
    value: s.ticks / hz,
    unit: 's' as const,
    source: 'proc',
    dims: { role: s.role, kind: s.kind },
  }));
}
