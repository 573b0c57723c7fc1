// The protocol state machine of one front-end connection (rust-vmm's handler, in small): features,
// protocol features, memory table, vring set-up for every queue pair (multi-queue), GET_VRING_BASE
// stop, disconnect. It tolerates the message orders QEMU 7.2 and DPDK virtio-user really use
// (docs/vhost-user.md §1.3, §1.4): ENABLE before FEATURES, CALL twice, GET_VRING_BASE on a ring that
// never started, a new SET_MEM_TABLE while the rings run or while they are stopped. A ring carries
// traffic only once every gate holds (§1.7, DPDK vq_is_ready), evaluated after every message; a
// started but disabled transmit ring is drained and its frames discarded. A ring is placed in
// memory when it starts or gets new addresses: a stopped ring is not re-placed by a new memory
// table, so a table that no longer maps its old addresses is harmless until the front-end sends new
// ones. A ring that keeps kicking for nothing has its kicks paused for a while (T23). Any protocol
// violation closes the connection; the port is marked broken.
//
// Fd ownership: decodeRequest hands the message's fds to the handler; a handler either keeps an fd
// (kick/call/err/memory) or closes it, and never closes one it does not own.

import { fdsOf, decodeRequest, encodeReplyState, encodeReplyU64, ProtocolViolation, type Header } from './protocol/codec.ts';
import { bit, F, PF, Req, requestName, type MemoryRegion, type Message } from './protocol/messages.ts';
import { featureNames, featureProblem, PROTOCOL_FEATURES, protocolFeatureNames, usableFeatures } from './features.ts';
import { GuestMemory, MemoryTableError } from './memory.ts';
import { closeQuietly, native, type Poller } from './native.ts';
import type { Port } from './port.ts';
import { Connection, type ConnectionHandler } from './transport.ts';
import type { SplitQueue } from './virtqueue.ts';
import { VringControl } from './vring-control.ts';

export interface SessionOptions {
  /** Virtio features offered (GET_FEATURES). Keep stable across reconnections (§1.3 F). */
  features: bigint;
  log: (line: string) => void;
  /** Log every message (request, flags, size, fds): §9 asks for it while bringing up a front-end. */
  verbose?: boolean;
  /** Wake the data path (a ring became ready). */
  wake: () => void;
  /** A kick arrived on q; false when it asked for nothing (see Forwarder.kicked). */
  kicked?: (q: SplitQueue) => boolean;
  maxMappedBytes?: number;
}

export class Session implements ConnectionHandler {
  readonly port: Port;
  #conn: Connection;
  #opts: SessionOptions;
  #onEnd: (reason: string | undefined) => void;
  #vrings: VringControl[];
  #mem: GuestMemory | null = null;
  #acked = 0n;
  #protocol = 0n;
  #ended = false;

  constructor(port: Port, fd: number, opts: SessionOptions, onEnd: (reason: string | undefined) => void) {
    this.port = port;
    this.#opts = opts;
    this.#onEnd = onEnd;
    this.#vrings = Array.from({ length: 2 * port.queuePairs }, () => new VringControl());
    this.#conn = new Connection(fd, this);
  }

  get #replyAck(): boolean {
    return (this.#protocol & bit(PF.REPLY_ACK)) !== 0n;
  }

  /** Close the connection because the front-end (or its guest) broke the rules. */
  fail(reason: string): void {
    this.#conn.close(reason);
  }

  /** Close the connection on shutdown. */
  close(): void {
    this.#conn.close(undefined);
  }

  onMessage(header: Header, payload: Uint8Array, fds: number[]): void {
    let msg: Message;
    try {
      msg = decodeRequest(header, payload, fds);
    } catch (err) {
      for (const fd of fds) closeQuietly(fd);
      throw err;
    }
    if (this.#opts.verbose) {
      this.#opts.log(`port ${this.port.id}: ${requestName(header.request)} flags=0x${header.flags.toString(16)} size=${header.size} fds=${fds.length}${detail(msg)}`);
    }
    try {
      const ok = this.#handle(msg);
      if (msg.needReply && ok !== 'replied' && (this.#replyAck || msg.request === 'unsupported')) {
        this.#conn.send(encodeReplyU64(header.request, ok === true ? 0n : 1n));
      }
    } catch (err) {
      for (const fd of fdsOf(msg)) closeQuietly(fd);
      throw err;
    }
    if (!this.#conn.closed) this.#update();
  }

  /** Returns true/false for REPLY_ACK, or 'replied' when the message had its own reply. */
  #handle(msg: Message): boolean | 'replied' {
    switch (msg.request) {
      case Req.GET_FEATURES:
        this.#conn.send(encodeReplyU64(Req.GET_FEATURES, this.#opts.features));
        return 'replied';
      case Req.GET_PROTOCOL_FEATURES:
        this.#conn.send(encodeReplyU64(Req.GET_PROTOCOL_FEATURES, PROTOCOL_FEATURES));
        return 'replied';
      case Req.GET_QUEUE_NUM:
        this.#conn.send(encodeReplyU64(Req.GET_QUEUE_NUM, BigInt(this.port.queuePairs)));
        return 'replied';
      case Req.SET_FEATURES: {
        const problem = featureProblem(msg.features, this.#opts.features);
        if (problem !== undefined) throw new ProtocolViolation(`SET_FEATURES: ${problem}`);
        const { usable, ignored } = usableFeatures(msg.features);
        if (msg.features !== this.#acked) {
          this.#opts.log(`port ${this.port.id}: negotiated features 0x${msg.features.toString(16)}: ${featureNames(msg.features)}`);
          if (ignored.length) this.#opts.log(`port ${this.port.id}: taken as not negotiated, since virtio requires what they need: ${ignored.join(', ')}`);
        }
        this.#acked = msg.features;
        this.port.setFeatures(usable & ~bit(F.PROTOCOL_FEATURES));
        return true;
      }
      case Req.SET_PROTOCOL_FEATURES:
        if ((msg.features & ~PROTOCOL_FEATURES) !== 0n) {
          throw new ProtocolViolation(`SET_PROTOCOL_FEATURES: bits never offered 0x${(msg.features & ~PROTOCOL_FEATURES).toString(16)}`);
        }
        this.#protocol = msg.features;
        this.#opts.log(`port ${this.port.id}: protocol features ${protocolFeatureNames(msg.features)}`);
        return true;
      case Req.SET_OWNER:
        return true;
      case Req.RESET_OWNER:
        for (let i = 0; i < this.#vrings.length; i++) this.#stopRing(i);
        return true;
      case Req.SET_MEM_TABLE:
        return this.#setMemTable(msg.regions, msg.fds);
      case Req.SET_VRING_NUM: {
        const v = this.#ring(msg.index);
        if (msg.num < 1 || msg.num > 32768 || (msg.num & (msg.num - 1)) !== 0) throw new ProtocolViolation(`SET_VRING_NUM: ${msg.num}`);
        if (v.started) throw new ProtocolViolation('SET_VRING_NUM on a running ring');
        v.num = msg.num;
        v.dirty = true;
        return true;
      }
      case Req.SET_VRING_ADDR: {
        const v = this.#ring(msg.index);
        if (msg.flags !== 0) throw new ProtocolViolation('SET_VRING_ADDR: logging was not negotiated');
        const max = 2n ** 53n;
        if (msg.desc >= max || msg.avail >= max || msg.used >= max) throw new ProtocolViolation('SET_VRING_ADDR: address beyond 2^53');
        v.desc = Number(msg.desc);
        v.avail = Number(msg.avail);
        v.used = Number(msg.used);
        v.dirty = true;
        v.checkNow = true;
        return true;
      }
      case Req.SET_VRING_BASE: {
        const v = this.#ring(msg.index);
        if (msg.num > 0xffff) throw new ProtocolViolation(`SET_VRING_BASE: ${msg.num} (packed rings are not offered)`);
        if (v.started) throw new ProtocolViolation('SET_VRING_BASE on a running ring');
        v.base = msg.num;
        return true;
      }
      case Req.GET_VRING_BASE: {
        const v = this.#ring(msg.index);
        const base = this.#stopRing(msg.index);
        this.#conn.send(encodeReplyState(Req.GET_VRING_BASE, msg.index, base));
        v.base = base;
        return 'replied';
      }
      case Req.SET_VRING_KICK:
        this.#setKick(msg.index, msg.fd);
        return true;
      case Req.SET_VRING_CALL: {
        const v = this.#ring(msg.index);
        if (msg.fd !== null) this.#nonBlocking(msg.fd);
        if (typeof v.callFd === 'number') closeQuietly(v.callFd);
        v.callFd = msg.fd;
        this.#queue(msg.index).callFd = msg.fd ?? -1;
        return true;
      }
      case Req.SET_VRING_ERR: {
        const v = this.#ring(msg.index);
        if (v.errFd !== null) closeQuietly(v.errFd);
        v.errFd = msg.fd;
        return true;
      }
      case Req.SET_VRING_ENABLE:
        this.#ring(msg.index).enabled = msg.enable;
        return true;
      case 'unsupported':
        for (const fd of msg.fds) closeQuietly(fd);
        this.#opts.log(`port ${this.port.id}: rejected unsupported request ${requestName(msg.id)}`);
        return false;
    }
  }

  #ring(index: number): VringControl {
    // Never truncate before checking (CVE-2020-10723): 0x100 is not ring 0.
    const v = index < this.#vrings.length ? this.#vrings[index] : undefined;
    if (v === undefined) throw new ProtocolViolation(`vring index ${index} (this port has ${this.#vrings.length})`);
    return v;
  }

  #queue(index: number): SplitQueue {
    return this.port.queue(index);
  }

  #nonBlocking(fd: number): void {
    try {
      native().setNonBlocking(fd);
    } catch (err) {
      throw new ProtocolViolation(`fd ${fd} cannot be made non-blocking: ${(err as Error).message}`);
    }
  }

  #setKick(index: number, fd: number | null): void {
    const v = this.#ring(index);
    let poller: Poller | undefined;
    if (fd !== null) {
      this.#nonBlocking(fd);
      const q = this.#queue(index);
      poller = v.listen(fd, q, {
        failed: (status) => this.fail(`kick fd of vring ${index} failed (${status})`),
        wake: this.#opts.wake,
        ...(this.#opts.kicked ? { kicked: this.#opts.kicked } : {}),
      });
    }
    v.dropKick();
    v.kickFd = fd;
    v.poller = poller;
    this.#queue(index).kickless = fd === null;
    if (!v.started) {
      v.started = true;
      v.needStart = true;
    }
    // Without PROTOCOL_FEATURES there is no SET_VRING_ENABLE: the ring is enabled when kicked.
    if ((this.#acked & bit(F.PROTOCOL_FEATURES)) === 0n) v.enabled = true;
  }

  /** GET_VRING_BASE: stop the ring, forget kick and call (DPDK does), return the next avail index. */
  #stopRing(index: number): number {
    const v = this.#vrings[index]!;
    const q = this.#queue(index);
    const base = v.started && !v.needStart && q.placed ? q.lastAvail : v.base;
    // Everything taken from the avail ring was already returned in the same pass (we never hold
    // descriptors across event-loop turns), so nothing is in flight here.
    q.ready = false;
    q.draining = false;
    q.release();
    v.started = false;
    v.needStart = false;
    v.dropKick();
    if (typeof v.callFd === 'number') closeQuietly(v.callFd);
    v.callFd = undefined;
    q.callFd = -1;
    return base;
  }

  #setMemTable(regions: readonly MemoryRegion[], fds: number[]): boolean {
    if (this.#mem !== null && this.#mem.sameAs(regions, fds)) {
      for (const fd of fds) closeQuietly(fd);
      return true;
    }
    let mem: GuestMemory;
    try {
      mem = GuestMemory.map(regions, fds, { maxMappedBytes: this.#opts.maxMappedBytes }); // owns fds now
    } catch (err) {
      if (!(err instanceof MemoryTableError)) throw err;
      // Report failure (REPLY_ACK), then drop the connection: this front-end cannot work.
      if (this.#replyAck) this.#conn.send(encodeReplyU64(Req.SET_MEM_TABLE, 1n));
      this.fail(`SET_MEM_TABLE: ${err.message}`);
      return false;
    }
    // Single data thread: nothing reads the old mapping while we swap. Re-place every ring on the
    // new mapping, then unmap the old one, and only then acknowledge (§1.6).
    const old = this.#mem;
    this.#mem = mem;
    this.port.mem = mem;
    for (let i = 0; i < this.#vrings.length; i++) {
      const v = this.#vrings[i]!;
      v.dirty = true;
      v.waitAddr = false;
      this.#queue(i).unplace();
    }
    this.#update(true);
    old?.close();
    this.#opts.log(`port ${this.port.id}: memory table of ${regions.length} region(s), ${mem.windowCount} mapping window(s)`);
    return true;
  }

  /**
   * Evaluate every gate of every ring (messages may come in any order). A ring is placed in memory
   * when it starts (SET_VRING_KICK) or when SET_VRING_ADDR gives new addresses; a size or memory
   * change alone waits for one of those, so a stopped ring never kills the connection with its old
   * addresses (after a new memory table, say). A placement that fails on the front-end's own ring
   * messages is a violation (T15); one that fails because a new memory table no longer maps a
   * running ring leaves the ring idle until the front-end sends new addresses.
   */
  #update(afterMemTable = false): void {
    let woke = false;
    for (let i = 0; i < this.#vrings.length; i++) {
      const v = this.#vrings[i]!;
      const q = this.#queue(i);
      const was = q.ready || q.draining;
      const check = v.checkNow;
      v.checkNow = false;
      if (this.#mem === null || v.num === 0 || v.desc < 0) {
        q.ready = q.draining = false;
        continue;
      }
      if (v.dirty && (check || (v.started && !v.waitAddr))) {
        q.unplace();
        const err = q.place(this.#mem, v.num, v.desc, v.avail, v.used);
        if (err !== undefined) {
          if (!afterMemTable) return this.fail(`vring ${i}: ${err}`);
          v.waitAddr = true;
          this.#opts.log(`port ${this.port.id}: vring ${i} is not in the new memory table (${err}); idle until new addresses arrive`);
        } else {
          v.dirty = v.waitAddr = false;
        }
      }
      if (!v.started || v.dirty) {
        q.ready = q.draining = false;
        continue;
      }
      if (v.needStart) {
        q.start(v.base);
        v.needStart = false;
      }
      q.callFd = typeof v.callFd === 'number' ? v.callFd : -1;
      q.ready = v.enabled && v.kickFd !== undefined && v.callFd !== undefined;
      // Started but disabled: a transmit ring is drained and its frames discarded (spec "Ring states").
      q.draining = !q.ready && !v.enabled && (i & 1) === 1 && v.kickFd !== undefined;
      if ((q.ready || q.draining) && !was) {
        // Receive ring: we do not want kicks for refills unless a frame waits (forwarder asks).
        q.notify((i & 1) === 1);
        woke = true;
      }
    }
    this.port.refreshQueues();
    if (woke) this.#opts.wake();
  }

  onClose(reason: string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    for (let i = 0; i < this.#vrings.length; i++) {
      const v = this.#vrings[i]!;
      v.dropKick();
      if (typeof v.callFd === 'number') closeQuietly(v.callFd);
      if (v.errFd !== null) closeQuietly(v.errFd);
      v.callFd = undefined;
      v.errFd = null;
    }
    this.port.reset();
    this.#mem?.close();
    this.#mem = null;
    this.#onEnd(reason);
  }
}

/** The fields of a vring message worth a verbose log line (which ring, and the value set). */
function detail(msg: Message): string {
  if (!('index' in msg)) return '';
  if ('enable' in msg) return ` vring=${msg.index} enable=${msg.enable ? 1 : 0}`;
  if ('num' in msg) return ` vring=${msg.index} num=${msg.num}`;
  return ` vring=${msg.index}`;
}
