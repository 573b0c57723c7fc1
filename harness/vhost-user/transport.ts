// Transport: a listening vhost-user socket and one framed connection over it. Framing reads exactly
// the 12-byte header, then exactly `size` payload bytes, collecting SCM_RIGHTS fds on the way so
// they belong to the message they came with. It validates only what framing needs (header flags,
// size cap, fd count, MSG_CTRUNC); the codec validates the payload. Readiness comes from a uv_poll.

import { HostError } from '../errors.ts';
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { closeQuietly, native, type Poller } from './native.ts';
import { checkRequestHeader, readHeader, ProtocolViolation, type Header } from './protocol/codec.ts';
import { HEADER_SIZE, MAX_FDS, MAX_PAYLOAD } from './protocol/messages.ts';

/** Messages handled per readiness callback before yielding to the data path and other sockets. */
const MESSAGES_PER_WAKEUP = 64;

export interface ConnectionHandler {
  /** One complete request. The handler owns `fds` from here on; `payload` is valid during the call. */
  onMessage(header: Header, payload: Uint8Array, fds: number[]): void;
  /** The connection is gone (EOF, error or violation); `reason` is undefined for a clean EOF. */
  onClose(reason: string | undefined): void;
}

export class Connection {
  readonly fd: number;
  #handler: ConnectionHandler;
  #poller: Poller;
  #buf = new Uint8Array(HEADER_SIZE + MAX_PAYLOAD);
  #have = 0;
  #need = HEADER_SIZE;
  #header: Header | undefined;
  #fds: number[] = [];
  #closed = false;

  constructor(fd: number, handler: ConnectionHandler) {
    this.fd = fd;
    this.#handler = handler;
    this.#poller = new (native().Poller)(fd, (status) => this.#onReadable(status), false);
    this.#poller.start();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Send a whole reply. A reply that does not fit the socket buffer means a stuck peer: close. */
  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    let sent: number | null;
    try {
      sent = native().sendMsg(this.fd, bytes, 0, bytes.length);
    } catch (err) {
      this.close(`send failed: ${(err as Error).message}`);
      return;
    }
    if (sent !== bytes.length) this.close('reply did not fit the socket buffer (peer not reading)');
  }

  /** Close once: stop the poll handle before closing the fd (libuv rule), release pending fds. */
  close(reason: string | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.close();
    closeQuietly(this.fd);
    for (const fd of this.#fds) closeQuietly(fd);
    this.#fds = [];
    this.#handler.onClose(reason);
  }

  #onReadable(status: number): void {
    if (this.#closed) return;
    if (status < 0) return this.close(`socket error ${status}`);
    try {
      for (let handled = 0; handled < MESSAGES_PER_WAKEUP && !this.#closed; ) {
        const r = native().recvMsg(this.fd, this.#buf, this.#have, this.#need - this.#have);
        if (r === null) return;
        if (r.fds.length > 0) this.#fds.push(...r.fds);
        if (r.truncated) throw new ProtocolViolation('more fds than the control buffer holds (MSG_CTRUNC)');
        if (this.#fds.length > MAX_FDS) throw new ProtocolViolation(`${this.#fds.length} fds for one message`);
        if (r.bytes === 0) {
          if (this.#have !== 0) return this.close('EOF in the middle of a message');
          return this.close(undefined);
        }
        this.#have += r.bytes;
        if (this.#have < this.#need) continue;
        if (this.#header === undefined) {
          const h = readHeader(this.#buf);
          checkRequestHeader(h);
          this.#header = h;
          this.#need = HEADER_SIZE + h.size;
          if (h.size > 0) continue;
        }
        const header = this.#header;
        const fds = this.#fds;
        this.#header = undefined;
        this.#fds = [];
        this.#have = 0;
        this.#need = HEADER_SIZE;
        handled++;
        this.#handler.onMessage(header, this.#buf.subarray(HEADER_SIZE, HEADER_SIZE + header.size), fds);
      }
    } catch (err) {
      this.close(err instanceof ProtocolViolation ? err.message : `receive failed: ${(err as Error).message}`);
    }
  }
}

/** A listening socket: one vhost-user port. Created 0600; removed on close. */
export class Listener {
  readonly path: string;
  readonly fd: number;
  #poller: Poller;
  #closed = false;

  private constructor(path: string, fd: number, onConnection: (fd: number) => void) {
    this.path = path;
    this.fd = fd;
    this.#poller = new (native().Poller)(
      fd,
      (status) => {
        if (status < 0 || this.#closed) return;
        // Nothing may escape a poll callback (it would be an uncaught exception): running out of
        // fds (EMFILE) or failing to set up a session refuses that one client only.
        for (let i = 0; i < 16; i++) {
          let c: number | null;
          try {
            c = native().acceptUnix(this.fd);
          } catch {
            return;
          }
          if (c === null) return;
          try {
            onConnection(c);
          } catch {
            closeQuietly(c);
          }
        }
      },
      false,
    );
    this.#poller.start();
  }

  /** Listen on `path`. A stale socket file (nobody answering) is replaced; a live one is an error. */
  static async open(path: string, onConnection: (fd: number) => void): Promise<Listener> {
    if (existsSync(path)) {
      if (!lstatSync(path).isSocket()) throw new HostError(`${path} exists and is not a socket`, 'choose another socket path, or remove that file');
      if (await socketAnswers(path)) throw new HostError(`${path} is in use by another process`, 'stop the process that listens there, or choose another socket path');
      unlinkSync(path);
    }
    return new Listener(path, native().listenUnix(path, 4), onConnection);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.close();
    closeQuietly(this.fd);
    try {
      unlinkSync(this.path);
    } catch {
      // already removed by someone else: the goal is reached
    }
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
