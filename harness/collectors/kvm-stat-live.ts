// One `perf kvm stat live -p <pid>` process, the alternative way to split exits by reason: perf
// reads kvm_entry/kvm_exit samples from its ring buffer and aggregates them in memory (no
// perf.data, memory bounded by the number of distinct reasons), printing a VM-EXIT table for each
// display interval and resetting its counts after each. The window therefore runs from the first
// display after start to the first display after stop (up to one interval late at each end), and
// the tables printed in between are summed. Costs user-space CPU per exit, unlike the filter
// strategy, and reports `Lost events` when its ring buffer overflows.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, tailLines, TimeoutError, ToolError } from '../errors.ts';
import { processesInGroup, sleep } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import { parsePerfKvmStat, type KvmStatResult } from './parse/perf-kvm-stat.ts';
import { settlesWithin } from '../host/proc.ts';

export interface KvmStatLiveOptions {
  perf: string;
  pid: number;
  dir: string;
  label: string;
  scope: Scope;
  timeoutMs?: number;
}

const FOOTER = /Total Samples:\s*\d+, Total events handled time:[^\n]*\n/g;

export function kvmStatLiveArgv(perf: string, pid: number): string[] {
  // -d 1: one display per second, so the window edges are at most a second off.
  return [perf, 'kvm', 'stat', 'live', '-p', String(pid), '-d', '1', '--event=vmexit'];
}

export class KvmStatLiveSession {
  readonly argv: readonly string[];
  readonly outFile: string;
  #child: ChildProcess;
  #exited: Promise<void>;
  #scope: Scope;
  #offset: number;
  #timeoutMs: number;

  private constructor(argv: string[], child: ChildProcess, exited: Promise<void>, scope: Scope, outFile: string, offset: number, timeoutMs: number) {
    this.argv = argv;
    this.#child = child;
    this.#exited = exited;
    this.#scope = scope;
    this.outFile = outFile;
    this.#offset = offset;
    this.#timeoutMs = timeoutMs;
  }

  /** Start perf and wait for its first display: counting has begun when this resolves. */
  static async start(o: KvmStatLiveOptions): Promise<KvmStatLiveSession> {
    const argv = kvmStatLiveArgv(o.perf, o.pid);
    const outFile = join(o.dir, `${o.label}.kvm-stat-live.txt`);
    const timeoutMs = o.timeoutMs ?? 15_000;
    const scope = o.scope.child(o.label);
    const fd = openSync(outFile, 'w', 0o600);
    let child: ChildProcess;
    try {
      // stdin must be a pipe nobody writes to: live mode polls stdin for a `q` keypress, and
      // /dev/null (always readable) would make it spin at 100% CPU.
      child = spawn(argv[0]!, argv.slice(1), {
        detached: true,
        stdio: ['pipe', fd, fd],
        env: { ...process.env, LC_ALL: 'C' },
      });
    } finally {
      closeSync(fd);
    }
    child.once('error', () => undefined);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    scope.defer(`stop ${o.label}`, () => stopGroup(child, exited));
    try {
      const text = await waitFor(outFile, child, timeoutMs, (t) => footers(t) >= 1, argv);
      return new KvmStatLiveSession(argv, child, exited, scope, outFile, endOfLastFooter(text), timeoutMs);
    } catch (err) {
      await scope.close().catch(() => undefined);
      throw err;
    }
  }

  /** Wait for the display that closes the window, stop perf, and parse the tables of the window. */
  async stop(): Promise<KvmStatResult> {
    try {
      const seen = footers(readFileSync(this.outFile, 'utf8'));
      await waitFor(this.outFile, this.#child, this.#timeoutMs, (t) => footers(t) > seen, this.argv);
      this.#child.kill('SIGINT');
      await settlesWithin(this.#exited, this.#timeoutMs);
    } finally {
      await this.#scope.close();
    }
    const text = readFileSync(this.outFile, 'utf8').slice(this.#offset);
    return parsePerfKvmStat(text, `${this.argv.join(' ')} (${this.outFile})`);
  }

  async abort(): Promise<void> {
    await this.#scope.close();
  }
}

function footers(text: string): number {
  return text.match(FOOTER)?.length ?? 0;
}

function endOfLastFooter(text: string): number {
  let end = 0;
  for (const m of text.matchAll(FOOTER)) end = m.index + m[0].length;
  return end;
}

async function waitFor(file: string, child: ChildProcess, timeoutMs: number, done: (text: string) => boolean, argv: readonly string[]): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(file, 'utf8');
    if (done(text)) return text;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new CommandError(argv, child.exitCode, child.signalCode, tailLines(text, 12));
    }
    if (Date.now() > deadline) throw new TimeoutError(`${argv.join(' ')} to print its next table`, timeoutMs);
    await sleep(50);
  }
}

/** TERM the process group, KILL after two seconds, and insist that nothing of it survived. */
async function stopGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pgid, s);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    signal('SIGTERM');
    if (!(await settlesWithin(exited, 2_000))) signal('SIGKILL');
    await exited;
  }
  child.stdin?.destroy();
  const deadline = Date.now() + 2_000;
  while (processesInGroup(pgid).length > 0 && Date.now() < deadline) {
    signal('SIGKILL');
    await sleep(50);
  }
  const left = processesInGroup(pgid);
  if (left.length > 0) throw new ToolError(`perf kvm stat live: process(es) ${left.join(', ')} of group ${pgid} survived SIGKILL`);
}
