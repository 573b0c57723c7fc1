// Child processes: short commands (argv arrays, never a shell) and long-lived daemons that are owned
// through their own process group. Stopping a daemon sends TERM to the group, then KILL, then checks
// that no process of the group survived; a survivor is an error.

import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { execa } from 'execa';
import { CommandError, HostError, InternalError, TimeoutError, ToolError } from '../errors.ts';
import { forgetChild, recordChild } from './registry.ts';
import type { Scope } from './scope.ts';

export interface RunOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Exit statuses that count as success (default: only 0). */
  okStatuses?: readonly number[];
  /** The fix to print when the command fails. */
  fix?: string;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  status: number;
}

/** Run a short command to completion. Throws CommandError on a bad status, TimeoutError on timeout. */
export async function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new InternalError('runCommand: empty argv');
  const result = await execa(file, args, {
    reject: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    input: options.input,
    cwd: options.cwd,
    env: { LC_ALL: 'C', ...options.env },
    stripFinalNewline: false,
    forceKillAfterDelay: 2000,
  });
  if (result.timedOut) throw new TimeoutError(argv.join(' '), options.timeoutMs ?? 0);
  if (result.isCanceled) throw options.signal?.reason ?? new ToolError(`${argv.join(' ')} was cancelled`);
  if (result.failed && result.code === 'ENOENT') {
    throw new HostError(`${file} is not installed (needed for: ${argv.join(' ')})`, options.fix);
  }
  const ok = options.okStatuses ?? [0];
  if (result.exitCode === undefined || !ok.includes(result.exitCode)) {
    throw new CommandError(argv, result.exitCode ?? null, result.signal ?? null, String(result.stderr), options.fix);
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr), status: result.exitCode };
}

export interface DaemonSpec {
  /** Short label used in logs and errors, e.g. `qemu vm-a`. */
  name: string;
  argv: readonly string[];
  /** File that receives stdout and stderr (appended). */
  logFile?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Grace period between SIGTERM and SIGKILL when stopping. */
  termTimeoutMs?: number;
  /**
   * Keep stdin and stdout as pipes (for programs driven through an interactive prompt): output
   * still goes to `logFile`, and `onOutput` listeners see it as it arrives.
   */
  interactive?: boolean;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-lived child that leads its own process group. */
export class Daemon {
  readonly name: string;
  readonly argv: readonly string[];
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  #child: ChildProcess;
  #exit: ExitInfo | undefined;
  #termTimeoutMs: number;
  #stopping: Promise<void> | undefined;
  #listeners: ((text: string) => void)[] = [];

  constructor(spec: DaemonSpec) {
    this.name = spec.name;
    this.argv = spec.argv;
    this.#termTimeoutMs = spec.termTimeoutMs ?? 5000;
    const [file, ...args] = spec.argv;
    if (file === undefined) throw new InternalError('Daemon: empty argv');
    const fd = spec.logFile ? openSync(spec.logFile, 'a', 0o600) : undefined;
    try {
      this.#child = spawn(file, args, {
        cwd: spec.cwd,
        env: { ...process.env, LC_ALL: 'C', ...spec.env },
        // detached puts the child in a new session and process group, so Ctrl-C in the terminal does
        // not reach it and we decide the order of teardown ourselves.
        detached: true,
        stdio: spec.interactive ? ['pipe', 'pipe', fd ?? 'ignore'] : ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
      });
    } finally {
      if (fd !== undefined && !spec.interactive) closeSync(fd);
    }
    if (spec.interactive) {
      this.#child.stdout!.setEncoding('utf8');
      this.#child.stdout!.on('data', (text: string) => {
        if (fd !== undefined) writeSync(fd, text);
        for (const l of this.#listeners) l(text);
      });
      this.#child.stdout!.once('close', () => {
        if (fd !== undefined) closeSync(fd);
      });
      this.#child.stdin!.on('error', () => undefined);
    }
    if (this.#child.pid === undefined) {
      // spawn reports ENOENT asynchronously; surface it as a host problem.
      throw new HostError(`could not start ${file} (is it installed?)`);
    }
    this.pid = this.#child.pid;
    recordChild(this.name, this.pid);
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        resolve(this.#exit);
      });
    });
    this.#child.once('error', () => undefined);
  }

  /** Listen to the child's stdout (interactive daemons only). Returns a function that unsubscribes. */
  onOutput(listener: (text: string) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Write to the child's stdin (interactive daemons only). */
  write(text: string): void {
    if (!this.#child.stdin) throw new InternalError(`${this.name}: not started interactive`);
    this.#child.stdin.write(text);
  }

  get running(): boolean {
    return this.#exit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.#exit;
  }

  /** Stop the whole process group: TERM, wait, KILL, then check that nothing of the group survived. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const pgid = this.pid;
    signalGroup(pgid, 'SIGTERM');
    if (!(await settlesWithin(this.exited, this.#termTimeoutMs))) signalGroup(pgid, 'SIGKILL');
    await this.exited;
    // Children of the leader (helpers QEMU or a path's switch may fork) share the group; give them a moment.
    const deadline = Date.now() + 2000;
    let left = processesInGroup(pgid);
    while (left.length > 0 && Date.now() < deadline) {
      signalGroup(pgid, 'SIGKILL');
      await sleep(50);
      left = processesInGroup(pgid);
    }
    if (left.length > 0) {
      throw new ToolError(`${this.name}: process(es) ${left.join(', ')} of group ${pgid} survived SIGKILL`);
    }
    forgetChild(pgid);
  }
}

/** Start a daemon and register its stop with the scope at once. */
export function startDaemon(scope: Scope, spec: DaemonSpec): Daemon {
  const daemon = new Daemon(spec);
  scope.defer(`stop ${spec.name} (pid ${daemon.pid})`, () => daemon.stop());
  return daemon;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** PIDs of live (non-zombie) processes whose process group is `pgid`, read from /proc. */
export function processesInGroup(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state ppid pgrp ...
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] !== 'Z' && Number(rest[2]) === pgid) pids.push(Number(entry));
  }
  return pids;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Whether `promise` settles within `ms`; the timer is cleared either way (a pending timer would keep the process alive). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
