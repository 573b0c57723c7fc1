// Host side of the guest control channel: a UNIX socket that QEMU connects to (the guest's second
// serial port), speaking the line protocol of images/guest/agent.sh. Everything the guest sends is
// untrusted: lines and replies are size-capped, base64 is checked, ids must match the request.

import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { GuestError, TimeoutError } from '../errors.ts';
import type { Scope } from '../host/scope.ts';

const TOKEN = /^[A-Za-z0-9._:/=,+@%-]+$/;
const MAX_LINE = 64 * 1024;
const MAX_REPLY = 32 * 1024 * 1024;
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;

export interface ExecResult {
  stdout: string;
  stderr: string;
  status: number;
}

interface Pending {
  id: string;
  onExit: (() => void) | undefined;
  out: string[];
  err: string[];
  section: 'none' | 'out' | 'err';
  size: number;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

/** Listen for the guest's serial port before QEMU starts, so no byte the guest writes is lost. */
export function listenForAgent(scope: Scope, socketPath: string, guest: string): AgentListener {
  return new AgentListener(scope, socketPath, guest);
}

export class AgentListener {
  readonly #server: Server;
  readonly #connection: Promise<Socket>;

  constructor(scope: Scope, socketPath: string, guest: string) {
    rmSync(socketPath, { force: true });
    this.#server = createServer();
    this.#connection = new Promise((resolve, reject) => {
      this.#server.once('connection', (socket) => {
        // One guest, one connection: stop listening so nothing else can attach.
        this.#server.close();
        resolve(socket);
      });
      this.#server.once('error', reject);
    });
    this.#connection.catch(() => undefined);
    this.#server.listen(socketPath);
    scope.defer(`agent socket of guest ${guest}`, () => {
      this.#server.close();
      rmSync(socketPath, { force: true });
    });
    this.guest = guest;
  }

  readonly guest: string;

  /** The agent of the guest once QEMU has connected. */
  async accept(scope: Scope): Promise<GuestAgent> {
    const socket = await this.#connection;
    const agent = new GuestAgent(socket, this.guest);
    scope.defer(`agent connection of guest ${this.guest}`, () => agent.close());
    return agent;
  }
}

/** What the runner and the workloads use of a guest's agent (a fake one stands in for it in unit tests). */
export type GuestControl = Pick<GuestAgent, 'guest' | 'broken' | 'exec' | 'spawn' | 'netup'>;

export class GuestAgent {
  readonly guest: string;
  #socket: Socket;
  #buffer = '';
  #nextId = 1;
  #pending: Pending | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #readyWaiters: ((kernel: string) => void)[] = [];
  #ready: string | undefined;
  #broken: Error | undefined;
  #brokenWaiters: ((e: Error) => void)[] = [];
  /** Lines the guest printed that were not part of the protocol (kept for diagnosis, capped). */
  readonly noise: string[] = [];

  constructor(socket: Socket, guest: string) {
    this.guest = guest;
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.#onData(chunk));
    const gone = (err?: Error) => this.#fail(new GuestError(`guest ${guest}: control channel closed${err ? `: ${err.message}` : ''}`));
    socket.on('error', gone);
    socket.on('close', () => gone());
  }

  /** Set once the channel can no longer be trusted (closed, or a request was abandoned). */
  get broken(): Error | undefined {
    return this.#broken;
  }

  /** Wait for the agent's `ready` line; returns the guest's kernel release. */
  ready(timeoutMs: number, signal?: AbortSignal): Promise<string> {
    if (this.#ready !== undefined) return Promise.resolve(this.#ready);
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new TimeoutError(`boot of guest ${this.guest} (agent ready)`, timeoutMs)), timeoutMs);
      const onAbort = () => done(signal!.reason as Error);
      const done = (err?: Error, kernel?: string) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(kernel!);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#readyWaiters.push((kernel) => done(undefined, kernel));
      this.#brokenWaiters.push((e) => done(e));
    });
  }

  /**
   * Run a program in the guest; it is killed after timeoutSec. Resolves with its status. `onExit`
   * is called the moment the program ended, before its output crosses the control channel.
   */
  exec(argv: readonly string[], timeoutSec: number, signal?: AbortSignal, onExit?: () => void): Promise<ExecResult> {
    return this.#request('exec', [String(Math.max(1, Math.ceil(timeoutSec))), ...argv], timeoutSec * 1000 + 15_000, signal, onExit);
  }

  /** Like exec, but a non-zero status is a GuestError carrying stderr. */
  async run(argv: readonly string[], timeoutSec: number, signal?: AbortSignal): Promise<string> {
    const r = await this.exec(argv, timeoutSec, signal);
    if (r.status !== 0) {
      throw new GuestError(`guest ${this.guest}: ${argv.join(' ')} exited with status ${r.status}${r.status === 137 ? ' (killed: time limit)' : ''}: ${r.stderr.trim().slice(-500) || r.stdout.trim().slice(-500)}`);
    }
    return r.stdout;
  }

  /** Start a program in the background; returns its pid in the guest. */
  async spawn(argv: readonly string[], signal?: AbortSignal): Promise<number> {
    const r = await this.#request('spawn', argv, 15_000, signal);
    const pid = Number(r.stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new GuestError(`guest ${this.guest}: spawn ${argv[0]} returned no pid`);
    return pid;
  }

  async kill(pid: number): Promise<void> {
    await this.#request('kill', [String(pid)], 15_000);
  }

  /** Configure the interface that has this MAC within timeoutMs; returns the interface name. */
  async netup(mac: string, cidr: string, mtu: number, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    const r = await this.#request('netup', [mac, cidr, String(mtu)], timeoutMs, signal);
    if (r.status !== 0) throw new GuestError(`guest ${this.guest}: configuring ${mac} as ${cidr} failed: ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  /** Ask the guest to power off. Resolves when acknowledged (QEMU exits shortly after). */
  async poweroff(): Promise<void> {
    await this.#request('poweroff', [], 15_000);
  }

  close(): void {
    this.#socket.destroy();
  }

  #request(verb: string, args: readonly string[], timeoutMs: number, signal?: AbortSignal, onExit?: () => void): Promise<ExecResult> {
    for (const a of args) {
      if (!TOKEN.test(a)) return Promise.reject(new GuestError(`argument ${JSON.stringify(a)} cannot be sent to the guest agent (allowed: ${TOKEN.source})`));
    }
    const run = () =>
      new Promise<ExecResult>((resolve, reject) => {
        if (this.#broken) return reject(this.#broken);
        if (signal?.aborted) return reject(signal.reason);
        const id = String(this.#nextId++);
        const onAbort = () => finish(signal!.reason as Error);
        const finish = (err?: Error, result?: ExecResult) => {
          if (this.#pending?.id !== id) return;
          clearTimeout(this.#pending.timer);
          signal?.removeEventListener('abort', onAbort);
          this.#pending = undefined;
          if (err) {
            // An abandoned request leaves the agent busy with it: the channel cannot be trusted again.
            this.#fail(err);
            reject(err);
          } else resolve(result!);
        };
        this.#pending = {
          id,
          onExit,
          out: [],
          err: [],
          section: 'none',
          size: 0,
          resolve: (r) => finish(undefined, r),
          reject: (e) => finish(e),
          timer: setTimeout(() => finish(new TimeoutError(`guest ${this.guest}: ${verb} ${args.join(' ')}`, timeoutMs)), timeoutMs),
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#socket.write(`${id} ${verb}${args.length ? ' ' + args.join(' ') : ''}\n`);
      });
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#onLine(line);
    }
    if (this.#buffer.length > MAX_LINE) {
      this.#fail(new GuestError(`guest ${this.guest}: a line longer than ${MAX_LINE} bytes on the control channel`));
      this.#socket.destroy();
    }
  }

  #onLine(line: string): void {
    if (line.startsWith('@@iopath ')) {
      const [, a, b, c] = line.split(' ');
      if (a === 'ready') {
        this.#ready = b ?? '';
        for (const w of this.#readyWaiters.splice(0)) w(this.#ready);
        return;
      }
      const p = this.#pending;
      if (!p || a !== p.id) return; // a reply to an abandoned request, or garbage
      if (b === 'out' || b === 'err') p.section = b;
      else if (b === 'exit') {
        p.onExit?.();
        p.onExit = undefined;
      } else if (b === 'end') {
        const status = Number(c);
        if (!Number.isInteger(status)) return p.reject(new GuestError(`guest ${this.guest}: bad status ${JSON.stringify(c)}`));
        p.onExit?.();
        p.resolve({ stdout: decode(p.out), stderr: decode(p.err), status });
      }
      return;
    }
    const p = this.#pending;
    if (p && p.section !== 'none') {
      if (!BASE64_LINE.test(line)) return p.reject(new GuestError(`guest ${this.guest}: reply is not base64`));
      p.size += line.length;
      if (p.size > MAX_REPLY) return p.reject(new GuestError(`guest ${this.guest}: reply larger than ${MAX_REPLY} bytes`));
      (p.section === 'out' ? p.out : p.err).push(line);
      return;
    }
    if (this.noise.length < 200) this.noise.push(line.slice(0, 500));
  }

  #fail(err: Error): void {
    if (this.#broken) return;
    this.#broken = err;
    this.#pending?.reject(err);
    for (const w of this.#brokenWaiters.splice(0)) w(err);
  }
}

function decode(lines: string[]): string {
  return Buffer.from(lines.join(''), 'base64').toString('utf8');
}
