// The data path: take frames from each port's transmit ring, decide where they go (MacTable), copy
// each straight into the destination's receive buffers (one copy per hop), return the transmit
// buffers, publish both used rings once per pass, and signal at most once per ring per pass.
//
// Scheduling is hybrid (docs/vhost-user.md §3.4, §5 item 4): a kick wakes the forwarder, which then
// polls with kicks suppressed for up to `spinUs` after the last frame, yielding to the event loop
// every `sliceMs` so control messages and other sockets are served; when idle it re-enables kicks,
// re-checks every ring (the race rule) and sleeps on uv_poll. A unicast frame whose destination
// ring is full waits in its source ring (not consumed) for at most `holdMs`, then is dropped: TCP
// prefers back-pressure to loss, and the hold bound keeps a stuck receiver from stalling a sender
// forever (T20). Every pass is guarded: a guest's structural error breaks that port only.

import { performance } from 'node:perf_hooks';
import { finishChecksum, Segmenter } from './gso.ts';
import { macAt, MacTable, UNKNOWN } from './mac-table.ts';
import { native } from './native.ts';
import { GSO_NONE, GSO_TCPV4, NEEDS_CSUM, DATA_VALID, VnetHeader } from './net-header.ts';
import type { Port } from './port.ts';
import { copyBytes, copySegs, gather, SegList, scatter, type Windows } from './segments.ts';
import { Chain, RingBroken } from './virtqueue.ts';

export interface ForwarderOptions {
  /** Frames taken from one transmit ring per pass (DPDK uses 32). */
  burst?: number;
  /** Keep polling this long after the last frame before sleeping on kicks. */
  spinUs?: number;
  /** Longest run of passes before yielding to the event loop. */
  sliceMs?: number;
  /** Longest a unicast frame waits for receive buffers before it is dropped. */
  holdMs?: number;
  log?: (line: string) => void;
}

/** Largest frame accepted from a guest: a 64 KiB TSO frame plus headers. */
const MAX_TX_BYTES = 65536 + 256;
/** Most receive chains one frame may use with MRG_RXBUF (64 KiB / 1 KiB buffers, with slack). */
const MAX_RX_CHAINS = 256;

const DELIVERED = 0;
const DROPPED = 1;
const HOLD = 2;

export class Forwarder {
  readonly ports: Port[];
  readonly macs = new MacTable();
  /** Called when a port must be disconnected because its guest broke the rules. */
  onBroken: (port: Port, reason: string) => void = () => undefined;
  #burst: number;
  #spinMs: number;
  #sliceMs: number;
  #holdMs: number;
  #log: (line: string) => void;
  #now = 0;
  #scheduled = false;
  #running = false;
  #busy = false;
  #lastWork = 0;
  #timer: NodeJS.Timeout | undefined;
  #faults = 0;
  #stopped = false;

  // Preallocated per-frame state: nothing on the hot path allocates.
  #tx = new SegList();
  #rxSegs = new SegList();
  #chainHead = new Int32Array(MAX_RX_CHAINS);
  #chainEnd = new Int32Array(MAX_RX_CHAINS);
  #hdrIn = new Uint8Array(64);
  #hdrOut = new Uint8Array(12);
  #tmp = new Uint8Array(2);
  #vh = new VnetHeader();
  #out = new VnetHeader();
  #seg = new Segmenter();

  constructor(ports: Port[], options: ForwarderOptions = {}) {
    this.ports = ports;
    this.#burst = options.burst ?? 32;
    this.#spinMs = (options.spinUs ?? 50) / 1000;
    this.#sliceMs = options.sliceMs ?? 2;
    this.#holdMs = options.holdMs ?? 50;
    this.#log = options.log ?? (() => undefined);
  }

  /** A kick (or a ring becoming ready) arrived: make sure a pass runs soon. */
  wake = (): void => {
    if (this.#scheduled || this.#running || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  };

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #run = (): void => {
    this.#scheduled = false;
    if (this.#stopped) return;
    this.#running = true;
    try {
      const start = performance.now();
      if (!this.#busy) {
        this.#busy = true;
        this.#lastWork = start;
        for (const p of this.ports) if (p.tx.ready) p.tx.notify(false);
      }
      const faults = native().faultCount();
      if (faults !== this.#faults) this.#checkFaults(faults);
      this.#now = start;
      for (let passes = 1; ; passes++) {
        const work = this.pass();
        // The clock costs as much as a small frame: read it after idle passes and every 8th busy one.
        if (work === 0 || (passes & 7) === 0) this.#now = performance.now();
        if (work > 0) this.#lastWork = this.#now;
        else if (this.#now - this.#lastWork >= this.#spinMs && this.#goIdle()) return;
        if (this.#now - start >= this.#sliceMs) {
          this.#scheduled = true;
          setImmediate(this.#run);
          return;
        }
      }
    } catch (err) {
      // Per-port errors are handled inside pass(); anything reaching here is a bug. Log it and keep
      // the switch alive rather than die with every port.
      this.#log(`data path error: ${(err as Error)?.stack ?? String(err)}`);
      this.#busy = false;
      this.#timer = setTimeout(this.wake, 10);
    } finally {
      this.#running = false;
    }
  };

  /** Re-enable notifications, then re-check (race rule); true if nothing is pending and we may sleep. */
  #goIdle(): boolean {
    // Never sleep on an undetected SIGBUS: it is checked on wake-up and here, not per pass.
    const faults = native().faultCount();
    if (faults !== this.#faults) this.#checkFaults(faults);
    let polled = false;
    let held = false;
    for (const p of this.ports) {
      if (!p.tx.ready) continue;
      if (p.tx.kickless) polled = true;
      p.tx.notify(true);
      if (p.heldOn >= 0) {
        held = true;
        const d = this.ports[p.heldOn];
        if (d && d.rx.ready) d.rx.notify(true);
      }
    }
    // notify() stored with Atomics (seq-cst): the re-reads below cannot move before it.
    for (const p of this.ports) {
      if (!this.#guard(p, () => p.tx.ready && p.heldOn < 0 && p.tx.pending() > 0)) continue;
      return false;
    }
    for (const p of this.ports) {
      if (p.heldOn < 0) continue;
      const d = this.ports[p.heldOn];
      if (d && this.#guard(d, () => d.rx.ready && d.rx.pending() > 0)) return false;
    }
    this.#busy = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (polled || held) this.#timer = setTimeout(this.wake, polled ? 1 : this.#holdMs);
    return true;
  }

  #guard(p: Port, f: () => boolean): boolean {
    try {
      return f();
    } catch (err) {
      this.#broken(p, err);
      return false;
    }
  }

  /** One pass over every port. Returns frames handled. Public for tests that drive it directly. */
  pass(): number {
    if (this.#now === 0) this.#now = performance.now();
    let work = 0;
    for (const src of this.ports) {
      if (!src.tx.ready || src.mem === null) continue;
      try {
        work += this.#drain(src);
      } catch (err) {
        this.#broken(src, err);
      }
    }
    for (const p of this.ports) {
      if (p.mem === null) continue;
      try {
        if (p.tx.placed) p.tx.publish();
        if (p.rx.placed) p.rx.publish();
      } catch (err) {
        this.#broken(p, err);
      }
    }
    return work;
  }

  #checkFaults(faults: number): void {
    this.#faults = faults;
    for (const p of this.ports) if (p.mem?.faulted()) this.#broken(p, new RingBroken('guest memory file shrank under the mapping (SIGBUS contained)'));
  }

  #broken(p: Port, err: unknown): void {
    const reason = err instanceof RingBroken ? err.message : `internal error: ${(err as Error)?.stack ?? String(err)}`;
    p.rx.ready = false;
    p.tx.ready = false;
    this.macs.forgetPort(p.id);
    this.onBroken(p, reason);
  }

  #drain(src: Port): number {
    const pending = src.tx.pending();
    if (pending === 0) return 0;
    const n = pending < this.#burst ? pending : this.#burst;
    let done = 0;
    while (done < n && src.tx.ready) {
      if (!this.#forwardOne(src)) break;
      done++;
    }
    return done;
  }

  /** Forward the frame at the head of src's transmit ring. False if it must wait (held). */
  #forwardOne(src: Port): boolean {
    const q = src.tx;
    const mem = src.mem!;
    const segs = this.#tx;
    segs.reset();
    const head = q.pop(segs, false, MAX_TX_BYTES);
    if (head < 0) return false;
    const hA = src.features.hdrLen;
    const frameLen = segs.total - hA;
    if (q.chainStatus !== Chain.OK || frameLen < 14) {
      // T14/T16/T22: bad address, device-writable TX buffer, or no room for an Ethernet header.
      q.pushRead(head);
      src.c.rxDrops++;
      return true;
    }
    // Virtio-net header and both MACs, read once (direct when the first piece holds them).
    let hb: Uint8Array;
    let at: number;
    if (segs.len[0]! >= hA + 12) {
      hb = mem.u8[segs.win[0]!]!;
      at = segs.off[0]!;
    } else {
      gather(mem, segs, 0, this.#hdrIn, hA + 12);
      hb = this.#hdrIn;
      at = 0;
    }
    const vh = this.#vh;
    const plain = (hb[at]! | hb[at + 1]!) === 0;
    if (plain) {
      vh.clear(); // no offload requested: the common case, nothing else in the header matters
    } else {
      vh.read(hb, at);
      if (vh.txProblem(src.features, frameLen) !== undefined) {
        q.pushRead(head);
        src.c.rxDrops++;
        return true;
      }
    }
    const dstMac = macAt(hb, at + hA);
    const srcMac = macAt(hb, at + hA + 6);
    const now = this.#now;
    if (srcMac !== src.lastSrcMac || now - src.lastSrcSeen > 1000) {
      this.macs.learn(srcMac, src.id, now);
      src.lastSrcMac = srcMac;
      src.lastSrcSeen = now;
    }
    let dest: number;
    if (dstMac === src.lastDstMac && src.lastDstGen === this.macs.generation) {
      dest = src.lastDstPort;
    } else {
      dest = this.macs.lookup(dstMac, now);
      src.lastDstMac = dstMac;
      src.lastDstPort = dest;
      src.lastDstGen = this.macs.generation;
    }
    if (dest !== UNKNOWN) {
      if (dest !== src.id) {
        const dst = this.ports[dest]!;
        // A receiver that has had no room for longer than holdMs gets drops at once (T20).
        const canHold = dst.stalledSince < 0 || now - dst.stalledSince < this.#holdMs;
        const r = plain && segs.count === 1 && dst.up ? this.#fastUnicast(dst, mem, segs, hA, frameLen, canHold) : this.#deliver(dst, mem, segs, hA, frameLen, canHold);
        if (r === HOLD) {
          q.unpop(1);
          if (dst.stalledSince < 0) dst.stalledSince = now;
          src.heldOn = dest;
          return false;
        }
      }
    } else {
      for (const dst of this.ports) {
        if (dst !== src && dst.up) this.#deliver(dst, mem, segs, hA, frameLen, false);
      }
    }
    if (src.heldOn >= 0) {
      this.ports[src.heldOn]?.rx.notify(false);
      src.heldOn = -1;
    }
    q.pushRead(head);
    src.c.rxPackets++;
    src.c.rxBytes += frameLen;
    return true;
  }

  /** Deliver one frame (offloads converted for dst). DELIVERED, DROPPED, or HOLD (no room yet). */
  #deliver(dst: Port, sm: Windows, segs: SegList, hA: number, frameLen: number, canHold: boolean): number {
    if (!dst.up) {
      dst.c.txDrops++;
      return DROPPED;
    }
    const vh = this.#vh;
    const out = this.#out;
    const f = dst.features;
    if (vh.gsoType !== GSO_NONE && !(vh.gsoType === GSO_TCPV4 ? f.guestTso4 : f.guestTso6)) {
      return this.#segment(dst, sm, segs, hA, frameLen);
    }
    out.clear();
    let finish = false;
    if ((vh.flags & NEEDS_CSUM) !== 0) {
      if (f.guestCsum) {
        out.flags = NEEDS_CSUM;
        out.csumStart = vh.csumStart;
        out.csumOffset = vh.csumOffset;
        out.gsoType = vh.gsoType;
        out.gsoSize = vh.gsoSize;
        out.hdrLen = vh.hdrLen;
      } else {
        finish = true;
      }
    }
    try {
      const r = this.#copyIn(dst, sm, segs, hA, frameLen, canHold);
      if (r === DELIVERED && finish) {
        finishChecksum(dst.mem!, this.#rxSegs, f.hdrLen, frameLen, vh.csumStart, vh.csumOffset, this.#tmp);
        dst.c.softwareChecksums++;
      }
      return r;
    } catch (err) {
      this.#broken(dst, err);
      return DROPPED;
    }
  }

  /**
   * The common case in one piece: a frame without offloads, in one transmit buffer, to one
   * receiver whose next receive chain is one buffer big enough. Same effect as #deliver/#copyIn
   * (zero header with num_buffers 1, one copy, one used element); anything else falls back to them.
   */
  #fastUnicast(dst: Port, sm: Windows, segs: SegList, hA: number, frameLen: number, canHold: boolean): number {
    const rx = dst.rx;
    const rs = this.#rxSegs;
    const saved = rx.lastAvail;
    const hB = dst.features.hdrLen;
    rs.reset();
    try {
      const h = rx.pop(rs, true, 0x7fffffff);
      if (h >= 0 && rx.chainStatus === Chain.OK && rs.count === 1 && rs.len[0]! >= hB + frameLen) {
        const dm = dst.mem!;
        const w = rs.win[0]!;
        const off = rs.off[0]!;
        const d32 = dm.u32[w]!;
        if (hB === 12 && (off & 3) === 0) {
          const i = off >>> 2;
          d32[i] = 0;
          d32[i + 1] = 0;
          d32[i + 2] = 1 << 16; // num_buffers = 1
        } else {
          this.#out.clear();
          this.#out.writeAt(dm.u8[w]!, d32, off, hB, 1);
        }
        const sw = segs.win[0]!;
        copyBytes(dm.u8[w]!, d32, off + hB, sm.u8[sw]!, sm.u32[sw]!, segs.off[0]! + hA, frameLen);
        rx.push(h, hB + frameLen);
        dst.c.txPackets++;
        dst.c.txBytes += frameLen;
        dst.stalledSince = -1;
        return DELIVERED;
      }
    } catch {
      // A structural error in the receive ring: the general path meets it again and breaks dst.
    }
    rx.rewind(saved);
    return this.#deliver(dst, sm, segs, hA, frameLen, canHold);
  }

  #segment(dst: Port, sm: Windows, segs: SegList, hA: number, frameLen: number): number {
    const sg = this.#seg;
    const why = sg.begin(sm, segs, hA, frameLen, this.#vh);
    if (why !== undefined) {
      dst.c.txDrops++;
      return DROPPED;
    }
    const out = this.#out;
    try {
      for (let k = 0; k < sg.count; k++) {
        const len = sg.build(k);
        out.clear();
        if (dst.features.guestCsum) out.flags = DATA_VALID;
        this.#copyIn(dst, sg.out, sg.out.whole(len), 0, len, false);
      }
    } catch (err) {
      this.#broken(dst, err);
      return DROPPED;
    }
    dst.c.softwareSegmented++;
    return DELIVERED;
  }

  /**
   * Reserve receive buffers on dst (several chains with MRG_RXBUF), write the header in #out and
   * the frame, then record the used elements. Never publishes a partial frame (T21): a reservation
   * that falls short is rolled back by restoring lastAvail.
   */
  #copyIn(dst: Port, sm: Windows, src: SegList, so: number, frameLen: number, canHold: boolean): number {
    const rx = dst.rx;
    const dm = dst.mem!;
    const hB = dst.features.hdrLen;
    const need = hB + frameLen;
    const segs = this.#rxSegs;
    segs.reset();
    const saved = rx.lastAvail;
    let chains = 0;
    const mrg = dst.features.mrgRxbuf;
    // Usually one chain holds the frame: take it before entering the general loop.
    const first = rx.pop(segs, true, 0x7fffffff);
    if (first >= 0) {
      if (rx.chainStatus !== Chain.OK) throw new RingBroken('receive buffer outside guest memory or not device-writable');
      this.#chainHead[0] = first;
      this.#chainEnd[0] = segs.total;
      chains = 1;
    }
    while (segs.total < need) {
      if (chains === (mrg ? MAX_RX_CHAINS : 1)) {
        rx.rewind(saved);
        dst.c.txDrops++;
        return DROPPED;
      }
      const head = rx.pop(segs, true, 0x7fffffff);
      if (head < 0) {
        rx.rewind(saved);
        if (dst.stalledSince < 0) dst.stalledSince = this.#now;
        if (canHold) return HOLD;
        dst.c.txDrops++;
        return DROPPED;
      }
      if (rx.chainStatus !== Chain.OK) throw new RingBroken('receive buffer outside guest memory or not device-writable');
      this.#chainHead[chains] = head;
      this.#chainEnd[chains] = segs.total;
      chains++;
    }
    const o = this.#out;
    if (segs.len[0]! >= hB) {
      const w = segs.win[0]!;
      o.writeAt(dm.u8[w]!, dm.u32[w]!, segs.off[0]!, hB, chains);
    } else {
      o.write(this.#hdrOut, chains);
      scatter(dm, segs, 0, this.#hdrOut, hB);
    }
    copySegs(dm, segs, hB, sm, src, so, frameLen);
    let start = 0;
    for (let c = 0; c < chains; c++) {
      const end = this.#chainEnd[c]!;
      const used = need < end ? need - start : end - start;
      rx.push(this.#chainHead[c]!, used > 0 ? used : 0);
      start = end;
    }
    dst.c.txPackets++;
    dst.c.txBytes += frameLen;
    dst.stalledSince = -1;
    return DELIVERED;
  }
}
