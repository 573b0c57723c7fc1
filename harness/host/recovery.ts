// One bench at a time per host, and the clean-up of runs that died without tearing down (SIGKILL,
// power loss, a crash). A second bench refuses at once with a message naming the run in progress;
// every start (and `iopath doctor --clean`) removes what dead runs left: their process groups (from
// their pid files, start times checked), their network namespaces (a tap path's, a hand run's: any
// `iopath-...-<tag>` whose run is not alive, identity.ts's tagOfNetns), what each path's own recovery
// hook knows it leaves outside the runtime directory, the runtime directory itself, and it marks
// their run.json as interrupted. Live runs are never touched.

import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NicBackend } from '../backends/types.ts';
import { BusyError, describeError } from '../errors.ts';
import { runtimeRoot } from '../paths.ts';
import { tagOfNetns } from './identity.ts';
import { deleteNetns, listNetns } from './netns.ts';
import { processesInGroup, sleep } from './proc.ts';
import { isAlive, readChildren, readOwner, selfIdentity, type ProcIdentity } from './registry.ts';

const RUN_DIR = /^\d{8}-\d{6}-([0-9a-f]{6})$/;

interface LockRecord extends ProcIdentity {
  run: string;
  /** What holds the host: a bench, or a nested KVM lab (`iopath lab`, whose runs inside see a lab marker instead of this lock). */
  what?: 'bench' | 'lab';
  startedAt: string;
  argv: string[];
}

/** Make the runtime root exist, private to root (0700). */
export function ensureRuntimeRoot(root = runtimeRoot): void {
  mkdirSync(root, { recursive: true, mode: 0o700 });
}

/**
 * Take the host lock for a bench; returns its release. Refuses (BusyError, exit 7) while another
 * live iopath bench holds it; a lock left by a dead process is taken over.
 */
export function acquireHostLock(run: string, root = runtimeRoot, what: 'bench' | 'lab' = 'bench'): () => void {
  ensureRuntimeRoot(root);
  const path = join(root, 'bench.lock');
  const mine: LockRecord = { ...selfIdentity(), run, what, startedAt: new Date().toISOString(), argv: process.argv.slice(1) };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(mine) + '\n');
      closeSync(fd);
      return () => {
        const held = readLock(path);
        if (held?.pid === mine.pid && held.start === mine.start) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const held = readLock(path);
      if (held && isAlive(held)) {
        throw new BusyError(
          held.what === 'lab'
            ? `an iopath lab is running on this host (lab ${held.run}, pid ${held.pid}, since ${held.startedAt}); its nested guests use every CPU of the host, and a bench beside it would disturb both`
            : `another iopath bench is running on this host (run ${held.run}, pid ${held.pid}, since ${held.startedAt}); runs measure the same CPUs and would disturb each other`,
          `wait for it to finish, or stop it with: kill -INT ${held.pid}`,
        );
      }
      rmSync(path, { force: true }); // left by a dead run
    }
  }
  throw new BusyError('could not take the host lock (another bench started at the same moment)', 'run the command again');
}

function readLock(path: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockRecord;
  } catch {
    return undefined;
  }
}

export interface RecoveryReport {
  /** Runs whose leftovers were removed. */
  runs: string[];
  /** Process groups signalled. */
  processGroups: number;
  netns: string[];
  /** Run folders whose run.json was marked interrupted. */
  resultsMarked: string[];
  notes: string[];
}

export interface RecoveryOptions {
  /** Marks a dead run's run.json as interrupted; returns whether it changed. */
  markInterrupted?: (resultsDir: string, note: string) => boolean;
  /** The paths whose recovery hooks run for every dead run. */
  paths?: readonly Pick<NicBackend, 'id' | 'recover'>[];
  /** Also delete iopath network namespaces that no live run of this root owns (default true). */
  sweepNamespaces?: boolean;
  /** How the host's network namespaces are listed and deleted (default: `ip netns`; tests pass their own). */
  namespaces?: { list(): Promise<string[]>; remove(name: string): Promise<void> };
}

/** Remove everything dead runs left behind. Safe to call while other runs are alive. */
export async function recoverDeadRuns(root = runtimeRoot, o: RecoveryOptions = {}): Promise<RecoveryReport> {
  const report: RecoveryReport = { runs: [], processGroups: 0, netns: [], resultsMarked: [], notes: [] };
  if (!existsSync(root)) return report;
  const lock = readLock(join(root, 'bench.lock'));
  if (lock && !isAlive(lock)) rmSync(join(root, 'bench.lock'), { force: true });
  const liveTags = new Set<string>();
  for (const entry of readdirSync(root)) {
    const dir = join(root, entry);
    const m = RUN_DIR.exec(entry);
    const owner = readOwner(dir);
    if (m && owner && isAlive(owner)) {
      liveTags.add(m[1]!);
      continue;
    }
    if (!m) {
      // Scratch directories of doctor and the KVM probe carry the pid that made them.
      const pid = /-(\d+)$/.exec(entry)?.[1];
      if (pid && !existsSync(`/proc/${pid}`)) rmSync(dir, { recursive: true, force: true });
      continue;
    }
    report.runs.push(entry);
    for (const child of readChildren(join(dir, 'pids'))) {
      if (await killGroup(child.pgid, child)) report.processGroups++;
    }
    if (owner && o.markInterrupted?.(join(owner.resultsDir), `the harness process (pid ${owner.pid}) died without tearing down (SIGKILL or a crash); its leftovers were removed by pid ${process.pid} at ${new Date().toISOString()}`)) {
      report.resultsMarked.push(owner.resultsDir);
    }
    for (const p of o.paths ?? []) {
      try {
        p.recover?.({ tag: m[1]!, runtimeDir: dir });
      } catch (err) {
        report.notes.push(`${p.id}: could not remove what run ${entry} left: ${describeError(err)}`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  if (o.sweepNamespaces === false) return report;
  // One rule for every namespace iopath makes (a tap path's, a hand run's): the run's tag ends its name.
  const namespaces = o.namespaces ?? { list: listNetns, remove: deleteNetns };
  for (const ns of await namespaces.list().catch(() => [])) {
    const tag = tagOfNetns(ns);
    if (!tag || liveTags.has(tag)) continue;
    await namespaces.remove(ns).catch((err: Error) => report.notes.push(`could not delete network namespace ${ns}: ${err.message}`));
    report.netns.push(ns);
  }
  return report;
}

/**
 * Signal a recorded process group: only when its leader is still the recorded process, or when the
 * leader is gone but members of its group remain (Linux does not hand out a PID that is still some
 * group's id, so those members are ours).
 */
async function killGroup(pgid: number, leader: ProcIdentity): Promise<boolean> {
  const leaderIsOurs = isAlive(leader);
  const members = processesInGroup(pgid);
  if (!leaderIsOurs && (members.length === 0 || existsSync(`/proc/${pgid}`))) return false;
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pgid, signal);
    } catch {
      return true;
    }
    for (let i = 0; i < 20 && processesInGroup(pgid).length > 0; i++) await sleep(100);
    if (processesInGroup(pgid).length === 0) return true;
  }
  return true;
}
