// The general per-frame path: any chain shape (several descriptors, indirect tables, headers split
// over buffers), offloads converted per receiver (pass-through, software checksum, software TSO),
// merged receive buffers, flooding, holding a frame for a full receiver, and discarding what a
// disabled ring transmits. The burst path (burst.ts) handles the common simple frames itself and
// calls forwardOne() for everything else, so both paths share one set of rules.
//
// Policies: a bad transmit buffer drops that frame (rxDrops); a receive chain that is structurally
// wrong (outside guest memory, not device-writable, a loop) breaks the receiving port; a frame that
// merely does not fit the receive buffers posted (too many pieces, too many chains) is dropped and
// counted (txDrops), its receive buffers left to the next frame.

import { finishChecksum, Segmenter } from './gso.ts';
import { flowHash, FLOW_BYTES } from './flow.ts';
import { macAt, MacTable, UNKNOWN } from './mac-table.ts';
import { GSO_NONE, GSO_TCPV4, NEEDS_CSUM, DATA_VALID, VnetHeader } from './net-header.ts';
import type { Port } from './port.ts';
import { copySegs, gather, SegList, scatter, type Windows } from './segments.ts';
import { Chain, RingBroken } from './ring-abi.ts';
import type { SplitQueue } from './virtqueue.ts';

/** Largest frame accepted from a guest: a 64 KiB TSO frame plus headers. */
export const MAX_TX_BYTES = 65536 + 256;
/** Most receive chains one frame may use with MRG_RXBUF (64 KiB / 1 KiB buffers, with slack). */
const MAX_RX_CHAINS = 256;
/** A learned source address is refreshed in the table at most this often per port (ms). */
export const LEARN_REFRESH_MS = 1000;

const DELIVERED = 0;
const DROPPED = 1;
const HOLD = 2;

export class Delivery {
  readonly ports: Port[];
  readonly macs = new MacTable();
  holdMs: number;
  /** The forwarder's clock (ms), read once per pass. */
  now = 0;
  /** A receiving port broke the rules while a frame was delivered to it. */
  onBroken: (port: Port, err: unknown) => void = () => undefined;

  // Preallocated per-frame state: nothing on this path allocates either.
  #tx = new SegList();
  #rxSegs = new SegList();
  #chainHead = new Int32Array(MAX_RX_CHAINS);
  #chainEnd = new Int32Array(MAX_RX_CHAINS);
  #hdrIn = new Uint8Array(12 + FLOW_BYTES);
  #hdrOut = new Uint8Array(12);
  #tmp = new Uint8Array(2);
  #vh = new VnetHeader();
  #out = new VnetHeader();
  #seg = new Segmenter();

  constructor(ports: Port[], holdMs: number) {
    this.ports = ports;
    this.holdMs = holdMs;
  }

  /**
   * Learn the source and look up the destination of a frame whose Ethernet header starts at b[at]:
   * the port's caches answer when the words match (see Port), the table otherwise. The words are
   * the little-endian 32/16-bit values of frame bytes 0-3, 4-5, 6-7 and 8-11, as int32.
   */
  resolve(src: Port, dA: number, dB: number, sA: number, sB: number, b: Uint8Array, at: number): number {
    const now = this.now;
    if (sA !== src.lastSrcA || sB !== src.lastSrcB || now - src.lastSrcSeen > LEARN_REFRESH_MS) {
      this.macs.learn(macAt(b, at + 6), src.id, now);
      src.lastSrcA = sA;
      src.lastSrcB = sB;
      src.lastSrcSeen = now;
    }
    if (dA === src.lastDstA && dB === src.lastDstB && src.lastDstGen === this.macs.generation) return src.lastDstPort;
    const dest = this.macs.lookup(macAt(b, at), now);
    src.lastDstA = dA;
    src.lastDstB = dB;
    src.lastDstPort = dest;
    src.lastDstGen = this.macs.generation;
    return dest;
  }

  /** The only other port that is up, when exactly one is (then flooding is forwarding); else -1. */
  soleOther(src: Port): number {
    let only = -1;
    for (const p of this.ports) {
      if (p === src || !p.up) continue;
      if (only >= 0) return -1;
      only = p.id;
    }
    return only;
  }

  /** The receive queue of dst for the frame at b[at..at+n): by its flow when several are enabled. */
  pickRx(dst: Port, b: Uint8Array, at: number, n: number): SplitQueue | null {
    const rr = dst.rxReady;
    if (rr.length <= 1) return rr.length === 1 ? rr[0]! : null;
    return rr[dst.flows.queueOf(flowHash(b, at, n), rr.length, this.now)]!;
  }

  /**
   * Forward the frame at the head of q, a transmit queue of src. False when nothing was taken: the
   * ring is empty, or the frame waits for receive buffers (q.heldOn is then set).
   */
  forwardOne(src: Port, q: SplitQueue): boolean {
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
      q.frames++;
      src.c.rxDrops++;
      return true;
    }
    // Virtio-net header, Ethernet header and the flow fields, read once (direct when the first
    // piece holds them, gathered otherwise).
    const want = hA + (frameLen < FLOW_BYTES ? frameLen : FLOW_BYTES);
    let hb: Uint8Array;
    let at: number;
    if (segs.len[0]! >= want) {
      hb = mem.u8[segs.win[0]!]!;
      at = segs.off[0]!;
    } else {
      gather(mem, segs, 0, this.#hdrIn, want);
      hb = this.#hdrIn;
      at = 0;
    }
    const vh = this.#vh;
    if ((hb[at]! | hb[at + 1]!) === 0) {
      vh.clear(); // no offload requested: nothing else in the header matters
    } else {
      vh.read(hb, at);
      if (vh.txProblem(src.features, frameLen) !== undefined) {
        q.pushRead(head);
        q.frames++;
        src.c.rxDrops++;
        return true;
      }
    }
    const e = at + hA;
    const dA = hb[e]! | (hb[e + 1]! << 8) | (hb[e + 2]! << 16) | (hb[e + 3]! << 24);
    const dB = hb[e + 4]! | (hb[e + 5]! << 8);
    const sA = hb[e + 6]! | (hb[e + 7]! << 8);
    const sB = hb[e + 8]! | (hb[e + 9]! << 8) | (hb[e + 10]! << 16) | (hb[e + 11]! << 24);
    const dest = this.resolve(src, dA, dB, sA, sB, hb, e);
    const n = want - hA;
    if (dest !== UNKNOWN) {
      if (dest !== src.id) {
        const dst = this.ports[dest]!;
        const rq = this.pickRx(dst, hb, e, n);
        if (rq === null) {
          dst.c.txDrops++;
        } else {
          // A receiver that has had no room for longer than holdMs gets drops at once (T20).
          const canHold = rq.stalledSince < 0 || this.now - rq.stalledSince < this.holdMs;
          if (this.#deliver(dst, rq, mem, segs, hA, frameLen, canHold) === HOLD) {
            q.unpop(1);
            q.heldOn = rq;
            q.heldAvail = rq.availShadow;
            return false;
          }
        }
      }
    } else {
      for (const dst of this.ports) {
        if (dst === src || !dst.up) continue;
        const rq = this.pickRx(dst, hb, e, n);
        if (rq !== null) this.#deliver(dst, rq, mem, segs, hA, frameLen, false);
      }
    }
    q.heldOn = null;
    q.pushRead(head);
    q.frames++;
    src.c.rxPackets++;
    src.c.rxBytes += frameLen;
    return true;
  }

  /** Take up to `max` chains from a started but disabled transmit queue and return them unsent. */
  discard(src: Port, q: SplitQueue, max: number): number {
    let n = 0;
    const segs = this.#tx;
    for (; n < max; n++) {
      segs.reset();
      const head = q.pop(segs, false, MAX_TX_BYTES);
      if (head < 0) break;
      q.pushRead(head);
      q.frames++;
      src.c.rxDrops++;
    }
    return n;
  }

  /** Deliver one frame to rq of dst (offloads converted for dst). DELIVERED, DROPPED, or HOLD. */
  #deliver(dst: Port, rq: SplitQueue, sm: Windows, segs: SegList, hA: number, frameLen: number, canHold: boolean): number {
    const vh = this.#vh;
    const out = this.#out;
    const f = dst.features;
    if (vh.gsoType !== GSO_NONE && !(vh.gsoType === GSO_TCPV4 ? f.guestTso4 : f.guestTso6)) {
      return this.#segment(dst, rq, sm, segs, hA, frameLen);
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
      const r = this.#copyIn(dst, rq, sm, segs, hA, frameLen, canHold);
      if (r === DELIVERED && finish) {
        finishChecksum(dst.mem!, this.#rxSegs, f.hdrLen, frameLen, vh.csumStart, vh.csumOffset, this.#tmp);
        dst.c.softwareChecksums++;
      }
      return r;
    } catch (err) {
      this.onBroken(dst, err);
      return DROPPED;
    }
  }

  /** Cut a TSO frame for a receiver without TSO; counted as segmented only if every segment arrived. */
  #segment(dst: Port, rq: SplitQueue, sm: Windows, segs: SegList, hA: number, frameLen: number): number {
    const sg = this.#seg;
    const why = sg.begin(sm, segs, hA, frameLen, this.#vh);
    if (why !== undefined) {
      dst.c.txDrops++;
      return DROPPED;
    }
    const out = this.#out;
    let delivered = 0;
    try {
      for (let k = 0; k < sg.count; k++) {
        const len = sg.build(k);
        out.clear();
        if (dst.features.guestCsum) out.flags = DATA_VALID;
        if (this.#copyIn(dst, rq, sg.out, sg.out.whole(len), 0, len, false) === DELIVERED) delivered++;
      }
    } catch (err) {
      this.onBroken(dst, err);
      return DROPPED;
    }
    if (delivered < sg.count) return DROPPED; // the missing segments are counted in txDrops
    dst.c.softwareSegmented++;
    return DELIVERED;
  }

  /**
   * Reserve receive buffers on rq (several chains with MRG_RXBUF), write the header in #out and
   * the frame, then record the used elements. Never publishes a partial frame (T21): a reservation
   * that falls short is rolled back by restoring lastAvail.
   */
  #copyIn(dst: Port, rq: SplitQueue, sm: Windows, src: SegList, so: number, frameLen: number, canHold: boolean): number {
    const dm = dst.mem!;
    const hB = dst.features.hdrLen;
    const need = hB + frameLen;
    const segs = this.#rxSegs;
    segs.reset();
    const saved = rq.lastAvail;
    const most = dst.features.mrgRxbuf ? MAX_RX_CHAINS : 1;
    let chains = 0;
    while (segs.total < need) {
      if (chains === most) return this.#noFit(dst, rq, saved);
      const head = rq.pop(segs, true, 0x7fffffff);
      if (head < 0) {
        rq.rewind(saved);
        if (rq.stalledSince < 0) rq.stalledSince = this.now;
        if (canHold) return HOLD;
        dst.c.txDrops++;
        return DROPPED;
      }
      // More pieces than a reservation may have: the frame does not fit these buffers; not hostile.
      if (rq.chainStatus === Chain.TOO_BIG) return this.#noFit(dst, rq, saved);
      if (rq.chainStatus !== Chain.OK) throw new RingBroken(rxProblem(rq.chainStatus));
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
      rq.push(this.#chainHead[c]!, used > 0 ? used : 0);
      start = end;
    }
    dst.c.txPackets++;
    dst.c.txBytes += frameLen;
    rq.stalledSince = -1;
    rq.frames++;
    return DELIVERED;
  }

  #noFit(dst: Port, rq: SplitQueue, saved: number): number {
    rq.rewind(saved);
    dst.c.txDrops++;
    return DROPPED;
  }
}

function rxProblem(status: number): string {
  if (status === Chain.ADDR_OVERFLOW) return 'receive buffer address at or beyond 2^53';
  if (status === Chain.BAD_DIR) return 'receive buffer not device-writable';
  return 'receive buffer outside guest memory';
}
