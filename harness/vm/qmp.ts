// A small QMP client over a UNIX socket: greeting, capability negotiation, one command at a time
// matched by id, asynchronous events kept for whoever asks. Replies are untrusted JSON: anything that
// is not an object with `return`, `error` or `event` is a protocol error.

import { connect, type Socket } from 'node:net';
import { IopathError, ParseError, TimeoutError, ToolError } from '../errors.ts';
import { sleep } from '../host/proc.ts';

export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends IopathError {
  readonly errorClass: string;
  constructor(command: string, errorClass: string, desc: string) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
    this.errorClass = errorClass;
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class QmpClient {
  readonly events: QmpEvent[] = [];
  /** QEMU version from the greeting, e.g. { major: 7, minor: 2, micro: 22 }. */
  version: { major: number; minor: number; micro: number } | undefined;
  #socket: Socket;
  #buffer = '';
  #nextId = 1;
  #pending = new Map<string, Pending>();
  #greeting: Promise<void>;
  #closed = false;
  #eventWaiters: { name: string; resolve: (e: QmpEvent) => void }[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    let greeted: () => void;
    let failed: (e: Error) => void;
    this.#greeting = new Promise((resolve, reject) => {
      greeted = resolve;
      failed = reject;
    });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line) this.#onLine(line, greeted, failed);
      }
      if (this.#buffer.length > 16 * 1024 * 1024) socket.destroy(new ToolError('QMP: a reply of more than 16 MiB'));
    });
    const onGone = (err?: Error) => {
      this.#closed = true;
      const error = err ?? new ToolError('QMP connection closed');
      failed(error);
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    };
    socket.on('error', onGone);
    socket.on('close', () => onGone());
  }

  /** Connect, retrying until the socket accepts (QEMU creates it shortly after start). */
  static async connect(path: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<QmpClient> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        const client = new QmpClient(socket);
        await client.#greeting;
        await client.execute('qmp_capabilities');
        return client;
      } catch (err) {
        if (Date.now() > deadline) throw new TimeoutError(`QMP connection to ${path} (${(err as Error).message})`, options.timeoutMs ?? 10_000);
        await sleep(100, options.signal);
      }
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Execute one command and return its `return` value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<T> {
    if (this.#closed) return Promise.reject(new ToolError(`QMP ${command}: connection closed`));
    const id = `iopath-${this.#nextId++}`;
    const message = JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id });
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TimeoutError(`QMP ${command}`, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, {
        command,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.write(message + '\n');
    });
  }

  /** Wait for an event by name (also returns one that already arrived and was not consumed). */
  waitForEvent(name: string, timeoutMs: number): Promise<QmpEvent> {
    const index = this.events.findIndex((e) => e.event === name);
    if (index >= 0) return Promise.resolve(this.events.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`QMP event ${name}`, timeoutMs)), timeoutMs);
      this.#eventWaiters.push({
        name,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #onLine(line: string, greeted: () => void, failed: (e: Error) => void): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      failed(new ParseError('a QMP message', 'not JSON', line.slice(0, 2000)));
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if ('QMP' in m) {
      const v = (m.QMP as { version?: { qemu?: { major: number; minor: number; micro: number } } }).version?.qemu;
      if (v) this.version = v;
      greeted();
      return;
    }
    if (typeof m.event === 'string') {
      const event = m as unknown as QmpEvent;
      const waiter = this.#eventWaiters.findIndex((w) => w.name === event.event);
      if (waiter >= 0) this.#eventWaiters.splice(waiter, 1)[0]!.resolve(event);
      else this.events.push(event);
      return;
    }
    const id = typeof m.id === 'string' ? m.id : undefined;
    const pending = id ? this.#pending.get(id) : undefined;
    if (!pending || id === undefined) return;
    this.#pending.delete(id);
    if ('error' in m) {
      const e = m.error as { class?: string; desc?: string };
      pending.reject(new QmpError(pending.command, String(e?.class ?? 'Error'), String(e?.desc ?? '')));
    } else {
      pending.resolve(m.return);
    }
  }
}
