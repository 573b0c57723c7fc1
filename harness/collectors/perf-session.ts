// One `perf stat` process counting tracepoints of one process over exactly one window. perf starts
// with its counters disabled (`-D -1`) and is driven through control FIFOs (`--control
// fifo:ctl,ack`): `enable` when the window opens and `disable` when it closes, each acknowledged, so
// perf's start-up time never eats into the window. SIGINT then makes perf write its totals to the
// `-o` file. Counting happens in the kernel: no samples, no perf.data, constant memory.

import { closeSync, constants, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, TimeoutError, tailLines } from '../errors.ts';
import { runCommand, sleep, startDaemon, type Daemon } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import { parsePerfStat, type PerfStatResult } from './parse/perf-stat.ts';
import { settlesWithin } from '../host/proc.ts';

/** One counter: a tracepoint, optionally with a tracepoint filter (`exit_reason == 30`). */
export interface PerfEventSpec {
  event: string;
  filter?: string;
}

export interface PerfStatSessionOptions {
  perf: string;
  events: readonly PerfEventSpec[];
  /** Process whose threads are counted (`-p`). */
  pid: number;
  /** Folder for the FIFOs, the `-o` output and perf's log. */
  dir: string;
  /** File-name-safe label, unique per concurrent session, e.g. `perf-kvm-a-<path>-tcp-measure-0`. */
  label: string;
  scope: Scope;
  /** How long to wait for perf to acknowledge a command or to exit. */
  timeoutMs?: number;
}

export interface PerfStatOutcome {
  result: PerfStatResult;
  /** The `-o` file, kept as the raw output of the window. */
  outFile: string;
}

/** perf stat argv for the session (exported for tests and for the record of what ran). */
export function perfStatArgv(o: Pick<PerfStatSessionOptions, 'perf' | 'events' | 'pid'>, ctl: string, ack: string, out: string): string[] {
  const argv = [o.perf, 'stat', '-x,', '-D', '-1', '--control', `fifo:${ctl},${ack}`, '-o', out];
  for (const e of o.events) {
    argv.push('-e', e.event);
    if (e.filter !== undefined) argv.push('--filter', e.filter);
  }
  argv.push('-p', String(o.pid));
  return argv;
}

export class PerfStatSession {
  readonly argv: readonly string[];
  readonly outFile: string;
  #daemon: Daemon;
  #scope: Scope;
  #ctl: number;
  #ack: number;
  #logFile: string;
  #timeoutMs: number;

  private constructor(argv: string[], daemon: Daemon, scope: Scope, ctl: number, ack: number, outFile: string, logFile: string, timeoutMs: number) {
    this.argv = argv;
    this.#daemon = daemon;
    this.#scope = scope;
    this.#ctl = ctl;
    this.#ack = ack;
    this.outFile = outFile;
    this.#logFile = logFile;
    this.#timeoutMs = timeoutMs;
  }

  /** Start perf and enable its counters; resolves once perf acknowledged that counting runs. */
  static async start(o: PerfStatSessionOptions): Promise<PerfStatSession> {
    const ctlPath = join(o.dir, `${o.label}.ctl`);
    const ackPath = join(o.dir, `${o.label}.ack`);
    const outFile = join(o.dir, `${o.label}.perf-stat.txt`);
    const logFile = join(o.dir, `${o.label}.perf.log`);
    for (const path of [ctlPath, ackPath, outFile]) rmSync(path, { force: true });
    // Everything of this session is released by its own scope, closed by stop() or abort() (or by
    // the parent scope when the run is torn down mid-window). Disposers run newest first: perf is
    // stopped before its FIFOs are closed and removed.
    const scope = o.scope.child(o.label);
    try {
      await runCommand(['mkfifo', '-m', '600', ctlPath, ackPath], { timeoutMs: 5_000 });
      scope.defer(`remove ${o.label} FIFOs`, () => {
        rmSync(ctlPath, { force: true });
        rmSync(ackPath, { force: true });
      });
      // Both ends are opened read-write and non-blocking: such an open of a FIFO never waits for the
      // other side, and holding a writer on the ack FIFO keeps perf's write-only open from blocking.
      const ctl = openSync(ctlPath, constants.O_RDWR | constants.O_NONBLOCK);
      scope.defer(`close ${o.label} control FIFO`, () => closeSync(ctl));
      const ack = openSync(ackPath, constants.O_RDWR | constants.O_NONBLOCK);
      scope.defer(`close ${o.label} ack FIFO`, () => closeSync(ack));
      const argv = perfStatArgv(o, ctlPath, ackPath, outFile);
      const daemon = startDaemon(scope, { name: o.label, argv, logFile, termTimeoutMs: 2_000 });
      const session = new PerfStatSession(argv, daemon, scope, ctl, ack, outFile, logFile, o.timeoutMs ?? 15_000);
      await session.#command('enable');
      return session;
    } catch (err) {
      await scope.close().catch(() => undefined);
      throw err;
    }
  }

  /** Disable the counters, let perf print its totals, and parse them. */
  async stop(): Promise<PerfStatOutcome> {
    if (this.#daemon.running) await this.#command('disable');
    if (this.#daemon.running) process.kill(this.#daemon.pid, 'SIGINT');
    if (!(await settlesWithin(this.#daemon.exited, this.#timeoutMs))) {
      await this.#scope.close().catch(() => undefined);
      throw new TimeoutError(`${this.argv.join(' ')} (exit after SIGINT)`, this.#timeoutMs);
    }
    await this.#scope.close();
    let text: string;
    try {
      text = readFileSync(this.outFile, 'utf8');
    } catch {
      text = '';
    }
    if (!/^[^#\s]/m.test(text)) throw this.#failure();
    return { result: parsePerfStat(text, { what: `${this.argv.join(' ')} (${this.outFile})` }), outFile: this.outFile };
  }

  /** Stop perf without reading anything (used when a window is abandoned). */
  async abort(): Promise<void> {
    await this.#scope.close();
  }

  async #command(command: 'enable' | 'disable'): Promise<void> {
    writeSync(this.#ctl, `${command}\n`);
    const deadline = Date.now() + this.#timeoutMs;
    let received = '';
    const buf = Buffer.alloc(64);
    for (;;) {
      try {
        const n = readSync(this.#ack, buf, 0, buf.length, null);
        received += buf.toString('utf8', 0, n);
        if (received.includes('ack\n')) return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      }
      if (!this.#daemon.running) {
        const failure = this.#failure();
        await this.#scope.close().catch(() => undefined);
        throw failure;
      }
      if (Date.now() > deadline) {
        await this.#scope.close().catch(() => undefined);
        throw new TimeoutError(`perf to acknowledge "${command}" (${this.argv.join(' ')})`, this.#timeoutMs);
      }
      await sleep(5);
    }
  }

  #failure(): CommandError {
    const info = this.#daemon.exitInfo;
    let log = '';
    try {
      log = readFileSync(this.#logFile, 'utf8');
    } catch {
      // no log written
    }
    return new CommandError(this.argv, info?.code ?? null, info?.signal ?? null, tailLines(log, 12));
  }
}
