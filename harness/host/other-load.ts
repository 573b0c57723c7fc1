// Other load during a run: CPU time of every process that is not the run's own (iopath, its children
// such as QEMU, the switch, iperf3 and perf, and the kernel vhost workers of its QEMUs), from two
// snapshots of /proc/<pid>/stat taken around a path's measured span. A child that exits in between
// is counted through its parent's cutime/cstime, so nothing of the run's is mistaken for other load.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OTHER_LOAD_LIMIT_CPUS } from './readiness.ts';

export interface ProcEntry {
  ppid: number;
  comm: string;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

export interface ProcSnapshot {
  atMs: number;
  procs: Map<number, ProcEntry>;
}

export interface OtherLoadFigure {
  seconds: number;
  busyCpus: number;
  top: { pid: number; comm: string; cpuSec: number }[];
  status: 'ok' | 'not-ready' | 'unknown';
  detail: string;
}

/** Parse one /proc/<pid>/stat line into what other-load needs; undefined when it is not one. */
export function parseStatLine(text: string): ProcEntry | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state); ppid is field 4, utime..cstime fields 14..17.
  const n = [f[1], f[11], f[12], f[13], f[14]].map(Number);
  if (n.some((x) => !Number.isFinite(x))) return undefined;
  return { ppid: n[0]!, comm: text.slice(open + 1, close), ticks: n[1]! + n[2]! + n[3]! + n[4]! };
}

export function snapshotProcesses(proc = '/proc', now = Date.now()): ProcSnapshot {
  const procs = new Map<number, ProcEntry>();
  let entries: string[] = [];
  try {
    entries = readdirSync(proc);
  } catch {
    // no procfs: an empty snapshot, reported as unknown
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const p = parseStatLine(readFileSync(join(proc, e, 'stat'), 'utf8'));
      if (p) procs.set(Number(e), p);
    } catch {
      // the process ended
    }
  }
  return { atMs: now, procs };
}

/** Pids of `root` and its descendants, and the vhost workers (`vhost-<pid>`) of any of them. */
function ownPids(s: ProcSnapshot, root: number): Set<number> {
  const own = new Set<number>([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of s.procs) {
      if (!own.has(pid) && own.has(p.ppid)) {
        own.add(pid);
        grew = true;
      }
    }
  }
  for (const [pid, p] of s.procs) {
    const m = /^vhost-(\d+)$/.exec(p.comm);
    if (m && own.has(Number(m[1]))) own.add(pid);
  }
  return own;
}

/** CPU of processes outside the run between two snapshots; `root` is the run's own process. */
export function otherLoad(before: ProcSnapshot, after: ProcSnapshot, root: number, hz: number): OtherLoadFigure {
  const seconds = (after.atMs - before.atMs) / 1000;
  if (before.procs.size === 0 || after.procs.size === 0 || seconds <= 0) {
    return { seconds: Math.max(0, seconds), busyCpus: 0, top: [], status: 'unknown', detail: 'unknown (/proc could not be read)' };
  }
  const own = new Set([...ownPids(before, root), ...ownPids(after, root)]);
  const deltas: { pid: number; comm: string; cpuSec: number }[] = [];
  for (const [pid, p] of after.procs) {
    if (own.has(pid)) continue;
    const was = before.procs.get(pid);
    // A pid reused by a new process between the snapshots counts from zero.
    const base = was && was.comm === p.comm && was.ticks <= p.ticks ? was.ticks : 0;
    const d = (p.ticks - base) / hz;
    if (d > 0) deltas.push({ pid, comm: p.comm, cpuSec: d });
  }
  deltas.sort((a, b) => b.cpuSec - a.cpuSec);
  const total = deltas.reduce((a, d) => a + d.cpuSec, 0);
  const busyCpus = total / seconds;
  const top = deltas.slice(0, 3).map((d) => ({ ...d, cpuSec: Math.round(d.cpuSec * 100) / 100 }));
  const who = top.length ? `; busiest: ${top.map((t) => `${t.comm} (${t.pid}) ${t.cpuSec.toFixed(2)} s`).join(', ')}` : '';
  const detail = `processes outside the run kept ${busyCpus.toFixed(2)} CPUs busy on average over ${seconds.toFixed(0)} s${who}`;
  return { seconds, busyCpus, top, status: busyCpus < OTHER_LOAD_LIMIT_CPUS ? 'ok' : 'not-ready', detail };
}
