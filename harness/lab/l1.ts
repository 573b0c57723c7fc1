// The lab VM (L1) as one object that owns its QEMU process group, its console and control sockets
// and its QMP connection. Its console streams out as it comes (and into a log file); readiness and
// early failure are read from the lines L1's init prints; a signal for the command inside goes
// down the control line. Every piece registers its disposer with the scope as it comes into being.

import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { tailLines } from '../errors.ts';
import { startDaemon, type Daemon, type ExitInfo } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import { QmpClient } from '../vm/qmp.ts';
import { l1Argv, type L1Config } from './l1-args.ts';
import { LabError } from './errors.ts';

const READY = /iopath-lab: ready\b[^\n]*/;
const FAILED = /iopath-lab: FAILED: ([^\n]*)/;
/** Console text kept in memory for error messages. */
const CONSOLE_TAIL_BYTES = 64 * 1024;
/** L1's kernel watchdog: a CPU that has not scheduled for this long (it repeats every ~26 s). */
const SOFT_LOCKUP = /soft lockup - CPU#(\d+) stuck for (\d+)s!/g;

export interface LabVmOptions {
  config: Omit<L1Config, 'consoleSocket' | 'controlSocket' | 'qmpSocket' | 'debugLog'>;
  /** QEMU's log of CPU resets and guest errors. */
  debugLog: string;
  /** Private folder (0700) for the sockets. */
  runtimeDir: string;
  /** L1's console, appended as it arrives. */
  consoleLog: string;
  /** QEMU's own messages. */
  qemuLog: string;
  /** Every piece of console output, as it arrives. */
  onConsole: (text: string) => void;
}

export class LabVm {
  readonly qemu: Daemon;
  readonly argv: readonly string[];
  #console = '';
  #control: Promise<Socket>;
  #qmp: QmpClient | undefined;
  #qemuLog: string;
  #readyWaiters: (() => void)[] = [];
  #readyLine: string | undefined;
  #failure: string | undefined;
  #stuck: { cpu: number; sec: number } | undefined;

  private constructor(qemu: Daemon, argv: string[], control: Promise<Socket>, qemuLog: string) {
    this.qemu = qemu;
    this.argv = argv;
    this.#control = control;
    this.#qemuLog = qemuLog;
  }

  /** Start L1. Resolves once QEMU runs and its monitor answers; the boot goes on. */
  static async launch(scope: Scope, o: LabVmOptions, signal?: AbortSignal): Promise<LabVm> {
    const consoleSocket = join(o.runtimeDir, 'console.sock');
    const controlSocket = join(o.runtimeDir, 'control.sock');
    const qmpSocket = join(o.runtimeDir, 'qmp.sock');
    // Both serial sockets listen before QEMU starts: QEMU connects to them as a client, so not a
    // byte of the console is lost.
    const consoleConn = listenOnce(scope, consoleSocket, 'console');
    const controlConn = listenOnce(scope, controlSocket, 'control');
    const log = openSync(o.consoleLog, 'a', 0o600);
    scope.defer('close the lab console log', () => closeSync(log));
    const argv = l1Argv({ ...o.config, consoleSocket, controlSocket, qmpSocket, debugLog: o.debugLog });
    const qemu = startDaemon(scope, { name: 'qemu lab', argv, logFile: o.qemuLog, termTimeoutMs: 5000 });
    scope.defer('remove the lab QMP socket', () => rmSync(qmpSocket, { force: true }));
    const vm = new LabVm(qemu, argv, controlConn, o.qemuLog);
    consoleConn.then(
      (socket) => {
        socket.setEncoding('utf8');
        socket.on('data', (text: string) => {
          writeSync(log, text);
          o.onConsole(text);
          vm.#onConsole(text);
        });
      },
      () => undefined,
    );
    const died = qemu.exited.then((exit) => {
      throw new LabError(`QEMU of the lab VM exited (${describeExit(exit)}) during start-up:\n${vm.qemuMessages()}`);
    });
    died.catch(() => undefined);
    vm.#qmp = await Promise.race([QmpClient.connect(qmpSocket, { timeoutMs: 30_000, ...(signal ? { signal } : {}) }), died]);
    scope.defer('QMP connection of the lab VM', () => vm.#qmp?.close());
    // Registered last so it runs first: a polite quit before the process group is signalled.
    scope.defer('shut down the lab VM', () => vm.quit());
    return vm;
  }

  /** The last lines L1 printed. */
  consoleTail(lines = 15): string {
    return tailLines(this.#console.replace(/\r/g, ''), lines);
  }

  qemuMessages(lines = 10): string {
    try {
      return tailLines(readText(this.#qemuLog), lines);
    } catch {
      return '';
    }
  }

  /** The line L1's init printed when the command started. */
  get readyLine(): string | undefined {
    return this.#readyLine;
  }

  /** Wait until L1's init has started the command; fails when L1 dies, its init fails, or time runs out. */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#readyLine) return;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve) => this.#readyWaiters.push(resolve)),
        this.qemu.exited.then((exit) => {
          throw new LabError(
            this.#failure
              ? `the lab VM could not start the command: ${this.#failure}`
              : `the lab VM stopped (${describeExit(exit)}) before it was ready; last console lines:\n${this.consoleTail()}${this.qemuMessages() ? `\nQEMU said:\n${this.qemuMessages()}` : ''}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new LabError(`the lab VM was not ready within ${(timeoutMs / 1000).toFixed(0)} s; last console lines:\n${this.consoleTail() || '(the console is empty)'}`)),
            timeoutMs,
          );
        }),
        new Promise<never>((_, reject) => {
          if (!signal) return;
          onAbort = () => reject(signal.reason);
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The longest soft lockup L1's kernel has reported so far: which CPU, stuck for how many seconds. */
  get stuck(): { cpu: number; sec: number } | undefined {
    return this.#stuck;
  }

  /** Forward a signal to the command running in L1 (its init sends it on with kill). */
  async forward(sig: 'INT' | 'TERM'): Promise<void> {
    const socket = await Promise.race([this.#control, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
    if (socket && !socket.destroyed) socket.write(`${sig}\n`);
  }

  /** Wait for QEMU to exit on its own (L1 powers off when the command ends) for at most `ms`. */
  async exitWithin(ms: number): Promise<ExitInfo | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.qemu.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** End L1 at once: QMP quit, then a short wait. The process-group stop registered at launch follows. */
  async quit(): Promise<void> {
    if (!this.qemu.running) return;
    if (this.#qmp && !this.#qmp.closed) await this.#qmp.execute('quit', undefined, 3000).catch(() => undefined);
    await this.exitWithin(3000);
  }

  #onConsole(text: string): void {
    this.#console = (this.#console + text).slice(-CONSOLE_TAIL_BYTES);
    if (!this.#failure) this.#failure = FAILED.exec(this.#console)?.[1];
    this.#stuck = longestLockup(this.#console, this.#stuck);
    if (!this.#readyLine) {
      const ready = READY.exec(this.#console)?.[0];
      if (ready) {
        this.#readyLine = ready.trim();
        for (const w of this.#readyWaiters.splice(0)) w();
      }
    }
  }
}

/** A UNIX socket that accepts exactly one connection (QEMU's), then stops listening. */
function listenOnce(scope: Scope, path: string, what: string): Promise<Socket> {
  rmSync(path, { force: true });
  const server: Server = createServer();
  let accepted: Socket | undefined;
  const connection = new Promise<Socket>((resolve, reject) => {
    server.once('connection', (socket) => {
      server.close();
      accepted = socket;
      socket.on('error', () => undefined);
      resolve(socket);
    });
    server.once('error', reject);
  });
  connection.catch(() => undefined);
  server.listen(path);
  scope.defer(`lab ${what} socket`, () => {
    server.close();
    accepted?.destroy();
    rmSync(path, { force: true });
  });
  return connection;
}

/** The longest soft lockup reported in `text` or before it (`previous`). */
export function longestLockup(text: string, previous?: { cpu: number; sec: number }): { cpu: number; sec: number } | undefined {
  let longest = previous;
  for (const m of text.matchAll(SOFT_LOCKUP)) {
    const sec = Number(m[2]);
    if (!longest || sec > longest.sec) longest = { cpu: Number(m[1]), sec };
  }
  return longest;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `status ${exit.code}`;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
