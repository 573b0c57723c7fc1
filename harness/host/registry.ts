// What a run leaves on the host, written down so that a run killed with SIGKILL can be cleaned up by
// the next one: an owner file per run (who runs it, where its results are) and a pid file per child
// process group. Recovery only ever signals process groups recorded here, never processes by name,
// and checks each process's start time so that a reused PID is never mistaken for ours.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A process identity that survives PID reuse: pid plus its start time in clock ticks since boot. */
export interface ProcIdentity {
  pid: number;
  start: number;
}

export interface OwnerRecord extends ProcIdentity {
  run: string;
  tag: string;
  resultsDir: string;
  startedAt: string;
}

export interface ChildRecord extends ProcIdentity {
  name: string;
  pgid: number;
}

/** Start time of a process (field 22 of /proc/<pid>/stat), or undefined when it does not exist. */
export function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); starttime is field 22.
    if (fields[0] === 'Z') return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function selfIdentity(): ProcIdentity {
  return { pid: process.pid, start: processStart(process.pid) ?? 0 };
}

/** Whether the process that was recorded is still the one running under that PID. */
export function isAlive(p: ProcIdentity): boolean {
  return processStart(p.pid) === p.start;
}

let childDir: string | undefined;

/**
 * Record every daemon started from now on in `dir` (one JSON file per process group), or stop
 * recording (undefined). One run per process, so one directory at a time.
 */
export function recordChildrenIn(dir: string | undefined): void {
  childDir = dir;
  if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function recordChild(name: string, pid: number): void {
  if (!childDir) return;
  const record: ChildRecord = { name, pid, pgid: pid, start: processStart(pid) ?? 0 };
  writeFileSync(join(childDir, `${pid}.json`), JSON.stringify(record) + '\n', { mode: 0o600 });
}

export function forgetChild(pid: number): void {
  if (!childDir) return;
  rmSync(join(childDir, `${pid}.json`), { force: true });
}

export function readChildren(dir: string): ChildRecord[] {
  if (!existsSync(dir)) return [];
  const out: ChildRecord[] = [];
  for (const f of readdirSync(dir)) {
    try {
      const r = JSON.parse(readFileSync(join(dir, f), 'utf8')) as ChildRecord;
      if (Number.isInteger(r.pid) && Number.isInteger(r.pgid) && r.pid > 1 && r.pgid > 1) out.push(r);
    } catch {
      /* a half-written record: its process cannot have started yet */
    }
  }
  return out;
}

export function writeOwner(runDir: string, owner: OwnerRecord): void {
  writeFileSync(join(runDir, 'owner.json'), JSON.stringify(owner, null, 2) + '\n', { mode: 0o600 });
}

export function readOwner(runDir: string): OwnerRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(runDir, 'owner.json'), 'utf8')) as OwnerRecord;
  } catch {
    return undefined;
  }
}
