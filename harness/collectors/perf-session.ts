// One `perf stat` process counting tracepoints of one process over exactly one window. perf starts
// with its counters disabled (`-D -1`) and is driven through control FIFOs (`--control
// fifo:ctl,ack`): `enable` when the window opens and `disable` when it closes, each acknowledged, so
// perf's start-up time never eats into the window. SIGINT then makes perf write its totals to the
// `-o` file. Counting happens in the kernel: no samples, no perf.data, constant memory.
// The FIFO driving (PerfControlSession) serves `perf record` too (the flame collector).

import { closeSync, constants, mkdirSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
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
  /** Folder for the `-o` output and perf's log (kept as raw output). */
  dir: string;
  /**
   * Folder for the control FIFOs (default `dir`). A private runtime folder on a local file system:
   * a results folder may be on one that cannot hold FIFOs (9p, some network file systems).
   */
  fifoDir?: string;
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

/** How a perf process driven over control FIFOs is started: its argv, given the FIFOs' paths. */
export interface PerfControlOptions {
  /** perf's argv, which must start it disabled (`-D -1`) and read commands from `--control fifo:<ctl>,<ack>`. */
  argv: (ctl: string, ack: string) => string[];
  /** Folder for perf's log (kept as raw output). */
  dir: string;
  /** Folder for the control FIFOs (default `dir`); see PerfStatSessionOptions.fifoDir. */
  fifoDir?: string;
  /** File-name-safe label, unique per concurrent session. */
  label: string;
  scope: Scope;
  timeoutMs?: number;
  /** Files perf writes, removed before it starts so a stale one is never read. */
  outputs?: readonly string[];
}

/**
 * A perf process (stat or record) driven through control FIFOs: started with its events disabled,
 * enabled once it acknowledges, disabled and stopped by SIGINT (on which perf writes its output).
 * perf's start-up time never eats into the window this way.
 */
export class PerfControlSession {
  readonly argv: readonly string[];
  readonly logFile: string;
  #daemon: Daemon;
  #scope: Scope;
  #ctl: number;
  #ack: number;
  #timeoutMs: number;

  private constructor(argv: string[], daemon: Daemon, scope: Scope, ctl: number, ack: number, logFile: string, timeoutMs: number) {
    this.argv = argv;
    this.#daemon = daemon;
    this.#scope = scope;
    this.#ctl = ctl;
    this.#ack = ack;
    this.logFile = logFile;
    this.#timeoutMs = timeoutMs;
  }

  /** perf's pid while it runs (its CPU time is the session's own cost). */
  get pid(): number {
    return this.#daemon.pid;
  }

  get running(): boolean {
    return this.#daemon.running;
  }

  /** Start perf and enable its events; resolves once perf acknowledged that they run. */
  static async start(o: PerfControlOptions): Promise<PerfControlSession> {
    const fifoDir = o.fifoDir ?? o.dir;
    mkdirSync(fifoDir, { recursive: true, mode: 0o700 });
    mkdirSync(o.dir, { recursive: true });
    const ctlPath = join(fifoDir, `${o.label}.ctl`);
    const ackPath = join(fifoDir, `${o.label}.ack`);
    const logFile = join(o.dir, `${o.label}.perf.log`);
    for (const path of [ctlPath, ackPath, ...(o.outputs ?? [])]) rmSync(path, { force: true });
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
      const argv = o.argv(ctlPath, ackPath);
      const daemon = startDaemon(scope, { name: o.label, argv, logFile, termTimeoutMs: 2_000 });
      const session = new PerfControlSession(argv, daemon, scope, ctl, ack, logFile, o.timeoutMs ?? 15_000);
      await session.#command('enable');
      return session;
    } catch (err) {
      await scope.close().catch(() => undefined);
      throw err;
    }
  }

  /** Disable the events and stop perf with SIGINT; resolves once it exited (its output written). */
  async finish(): Promise<void> {
    if (this.#daemon.running) await this.#command('disable');
    if (this.#daemon.running) process.kill(this.#daemon.pid, 'SIGINT');
    if (!(await settlesWithin(this.#daemon.exited, this.#timeoutMs))) {
      await this.#scope.close().catch(() => undefined);
      throw new TimeoutError(`${this.argv.join(' ')} (exit after SIGINT)`, this.#timeoutMs);
    }
    await this.#scope.close();
  }

  /** Stop perf without reading anything (used when a window is abandoned). */
  async abort(): Promise<void> {
    await this.#scope.close();
  }

  /** What perf printed, for its own figures (perf record's sample count) and errors. */
  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
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
        const failure = this.failure();
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

  /** perf's exit and the end of its log, as an error. */
  failure(): CommandError {
    const info = this.#daemon.exitInfo;
    return new CommandError(this.argv, info?.code ?? null, info?.signal ?? null, tailLines(this.log(), 12));
  }
}

export class PerfStatSession {
  readonly argv: readonly string[];
  readonly outFile: string;
  #session: PerfControlSession;

  private constructor(session: PerfControlSession, outFile: string) {
    this.#session = session;
    this.argv = session.argv;
    this.outFile = outFile;
  }

  /** Start perf and enable its counters; resolves once perf acknowledged that counting runs. */
  static async start(o: PerfStatSessionOptions): Promise<PerfStatSession> {
    const outFile = join(o.dir, `${o.label}.perf-stat.txt`);
    const session = await PerfControlSession.start({
      argv: (ctl, ack) => perfStatArgv(o, ctl, ack, outFile),
      dir: o.dir,
      ...(o.fifoDir === undefined ? {} : { fifoDir: o.fifoDir }),
      label: o.label,
      scope: o.scope,
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
      outputs: [outFile],
    });
    return new PerfStatSession(session, outFile);
  }

  /** Disable the counters, let perf print its totals, and parse them. */
  async stop(): Promise<PerfStatOutcome> {
    await this.#session.finish();
    let text: string;
    try {
      text = readFileSync(this.outFile, 'utf8');
    } catch {
      text = '';
    }
    if (!/^[^#\s]/m.test(text)) throw this.#session.failure();
    return { result: parsePerfStat(text, { what: `${this.argv.join(' ')} (${this.outFile})` }), outFile: this.outFile };
  }

  /** Stop perf without reading anything (used when a window is abandoned). */
  async abort(): Promise<void> {
    await this.#session.abort();
  }
}
