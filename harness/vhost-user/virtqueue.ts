// One split virtqueue as the device sees it (virtio 1.1 §2.6): ring placement checks, descriptor
// chain walking with every limit from docs/vhost-user.md §4, the used ring, and notification suppression.
//
// Memory ordering (§3.3): the guest writes the rings concurrently from another CPU. avail->idx is
// read with Atomics.load (an acquire, never merged with an earlier read); descriptor bodies and
// packet bytes use plain accesses AFTER it and BEFORE used->idx is stored, which is a release (a
// plain store on x86, see RELEASE_BY_ORDER, Atomics.store elsewhere). Between that store and the
// reads of used_event or the avail flags for the notification decision sits a full fence(), once
// per pass for all rings. Enabling kicks uses Atomics.store (seq-cst) before the race-rule re-check.
// Every descriptor field is read once into a local (TOCTOU: the guest may rewrite it while we walk,
// DPDK 134228ca39).
//
// Structural guest errors (index out of range, loops, nested or malformed indirect tables, an avail
// index that moved by more than the ring size) throw RingBroken: the port is then marked broken.
// Bad addresses, wrong buffer direction and oversize chains only drop that packet (chainStatus).

import type { GuestMemory } from './memory.ts';
import { native } from './native.ts';
import {
  ADDR_HI_LIMIT,
  AVAIL_F_NO_INTERRUPT,
  Chain,
  DESC_F_INDIRECT,
  DESC_F_NEXT,
  DESC_F_WRITE,
  fence,
  RELEASE_BY_ORDER,
  RingBroken,
  USED_F_NO_NOTIFY,
} from './ring-abi.ts';
import type { SegList } from './segments.ts';

export class SplitQueue {
  /** Vring index on the wire: 2 * pair for a receive queue, 2 * pair + 1 for a transmit queue. */
  readonly index: number;
  num = 0;
  mask = 0;
  /** Set by the protocol layer when every gate of §1.7 holds (mem, addresses, kick, call, enabled, started). */
  ready = false;
  /**
   * Started (kicked) and placed but disabled by SET_VRING_ENABLE: a transmit queue in this state
   * is still drained and its frames discarded (vhost-user spec, "Ring states"); a receive queue is
   * never filled.
   */
  draining = false;
  lastAvail = 0;
  lastUsed = 0;
  eventIdx = false;
  indirect = false;
  /** VIRTIO_F_IN_ORDER negotiated: a batch of zero-length used elements needs only its last one. */
  inOrder = false;
  callFd = -1;
  /** The front-end sent SET_VRING_KICK with NOFD: no kicks will come, the ring must be polled. */
  kickless = false;
  /** Status of the last pop(): one of Chain. */
  chainStatus: number = Chain.OK;

  /** Frames taken from this ring (transmit) or delivered to it (receive). */
  frames = 0;
  kicks = 0;
  calls = 0;
  callFailures = 0;

  // Hold state of a transmit queue whose head frame waits for receive buffers (see Forwarder).
  /** The receive queue the head frame waits for, or null. */
  heldOn: SplitQueue | null = null;
  /** That receive queue's avail index when the hold began: only a change is worth a retry. */
  heldAvail = 0;
  /** For a receive queue: since when (ms) it has had no room for a frame, or -1. */
  stalledSince = -1;

  // Placement, public for the burst path (forwarder-burst.ts), which reads the rings directly.
  // Indices are in elements of the named view: dBase in u32 (a descriptor is 4 u32), aBase and
  // uBase16 in u16, uBase32 in u32.
  d16: Uint16Array = new Uint16Array(0);
  d32: Uint32Array = new Uint32Array(0);
  dBase = 0;
  a16: Uint16Array = new Uint16Array(0);
  aBase = 0;
  u16: Uint16Array = new Uint16Array(0);
  u32: Uint32Array = new Uint32Array(0);
  uBase16 = 0;
  uBase32 = 0;
  /** Last avail->idx read: pop() re-reads guest memory only when it has caught up with it. */
  availShadow = 0;
  /** Head of the last zero-length used element not yet written (IN_ORDER batching), or -1. */
  batchHead = -1;
  /** publishIdx() ran in this pass and the notification decision (signal()) is still to come. */
  signalDue = false;

  #mem: GuestMemory | null = null;
  #publishedUsed = 0;
  #signalledUsed = 0;
  #signalValid = false;

  constructor(index: number) {
    this.index = index;
  }

  /**
   * Place the ring in memory. Addresses are front-end virtual addresses (SET_VRING_ADDR). Each part
   * must lie whole in one window, be aligned (desc 16, avail 2, used 4) and not overlap the others
   * (DPDK translate_ring_addresses). Returns an error text, or undefined when placed.
   */
  place(mem: GuestMemory, num: number, descUva: number, availUva: number, usedUva: number): string | undefined {
    const dLen = 16 * num;
    const aLen = 6 + 2 * num;
    const uLen = 6 + 8 * num;
    if (mem.translateUva(descUva, dLen) !== dLen) return 'descriptor table is not inside one mapped region';
    const dWin = mem.tWin;
    const dOff = mem.tOff;
    if (mem.translateUva(availUva, aLen) !== aLen) return 'avail ring is not inside one mapped region';
    const aWin = mem.tWin;
    const aOff = mem.tOff;
    if (mem.translateUva(usedUva, uLen) !== uLen) return 'used ring is not inside one mapped region';
    const uWin = mem.tWin;
    const uOff = mem.tOff;
    if (dOff % 16 !== 0 || aOff % 2 !== 0 || uOff % 4 !== 0) return 'ring parts are misaligned';
    const clash = (w1: number, o1: number, l1: number, w2: number, o2: number, l2: number) => w1 === w2 && o1 < o2 + l2 && o2 < o1 + l1;
    if (clash(dWin, dOff, dLen, aWin, aOff, aLen) || clash(dWin, dOff, dLen, uWin, uOff, uLen) || clash(aWin, aOff, aLen, uWin, uOff, uLen)) {
      return 'ring parts overlap';
    }
    this.#mem = mem;
    this.num = num;
    this.mask = num - 1;
    this.d16 = mem.u16[dWin]!;
    this.d32 = mem.u32[dWin]!;
    this.dBase = dOff >>> 2;
    this.a16 = mem.u16[aWin]!;
    this.aBase = aOff >>> 1;
    this.u16 = mem.u16[uWin]!;
    this.u32 = mem.u32[uWin]!;
    this.uBase16 = uOff >>> 1;
    this.uBase32 = uOff >>> 2;
    return undefined;
  }

  /** Start from `base` (SET_VRING_BASE); resync with used->idx if the guest's differs (DPDK does). */
  start(base: number): void {
    const used = Atomics.load(this.u16, this.uBase16 + 1);
    this.lastAvail = base & 0xffff;
    this.lastUsed = this.lastAvail;
    if (used !== this.lastUsed) {
      this.lastUsed = used;
      this.lastAvail = used;
    }
    this.#publishedUsed = this.lastUsed;
    this.availShadow = this.lastAvail;
    this.batchHead = -1;
    this.#signalValid = false;
    this.release();
  }

  /** Forget the placement (memory table replaced or ring stopped). */
  unplace(): void {
    this.ready = false;
    this.draining = false;
    this.#mem = null;
    this.d16 = this.a16 = this.u16 = new Uint16Array(0);
    this.d32 = this.u32 = new Uint32Array(0);
    this.release();
  }

  /** Forget hold and stall state (the ring stopped, restarted or was re-placed). */
  release(): void {
    this.heldOn = null;
    this.stalledSince = -1;
  }

  get placed(): boolean {
    return this.#mem !== null;
  }

  /** The driver's avail->idx right now (acquire). */
  availIdx(): number {
    return Atomics.load(this.a16, this.aBase + 1);
  }

  /** Used elements recorded but not yet published. */
  get unpublished(): boolean {
    return this.lastUsed !== this.#publishedUsed;
  }

  /** Chains the driver has made available and we have not taken. Throws if the index jumped. */
  pending(): number {
    const idx = Atomics.load(this.a16, this.aBase + 1);
    const n = (idx - this.lastAvail) & 0xffff;
    if (n > this.num) throw new RingBroken(`avail index moved by ${n} on a ring of ${this.num}`);
    this.availShadow = idx;
    return n;
  }

  /**
   * Take the next available chain and append its buffers to `segs` (device-writable ones for RX,
   * `writable` = true; device-readable ones for TX). Returns the head index, or -1 if none is
   * available. Sets chainStatus; the chain is consumed whatever its status (return it with push()).
   */
  pop(segs: SegList, writable: boolean, maxBytes: number): number {
    if (this.lastAvail === this.availShadow) {
      // Acquire: the descriptor reads below happen after this load.
      const idx = Atomics.load(this.a16, this.aBase + 1);
      const n = (idx - this.lastAvail) & 0xffff;
      if (n === 0) return -1;
      if (n > this.num) throw new RingBroken(`avail index moved by ${n} on a ring of ${this.num}`);
      this.availShadow = idx;
    }
    const num = this.num;
    const head = this.a16[this.aBase + 2 + (this.lastAvail & this.mask)]!;
    if (head >= num) throw new RingBroken(`avail ring names descriptor ${head} of ${num}`);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    const mem = this.#mem!;
    // Fast path: a lone direct descriptor of the right direction that fits one mapped piece (the
    // common shape of small frames). Same reads and checks as the loop below, fewer branches.
    {
      const q = this.dBase + head * 4;
      const flags = this.d16[q * 2 + 6]!;
      if ((flags & (DESC_F_NEXT | DESC_F_INDIRECT)) === 0 && ((flags & DESC_F_WRITE) !== 0) === writable) {
        const lo = this.d32[q]!;
        const hi = this.d32[q + 1]!;
        const len = this.d32[q + 2]!;
        if (len > 0 && len <= maxBytes && hi < ADDR_HI_LIMIT && mem.translateGpa(hi * 0x100000000 + lo, len) === len && segs.push(mem.tWin, mem.tOff, len)) {
          this.chainStatus = Chain.OK;
          return head;
        }
      }
    }
    let d16 = this.d16;
    let d32 = this.d32;
    let base = this.dBase;
    let size = num;
    let inIndirect = false;
    let i = head;
    let seen = 0;
    let status: number = Chain.OK;
    const start = segs.total;
    for (;;) {
      if (++seen > size) throw new RingBroken(inIndirect ? 'loop in an indirect table' : 'descriptor chain loops');
      const q = base + i * 4;
      const lo = d32[q]!;
      const hi = d32[q + 1]!;
      const len = d32[q + 2]!;
      const flags = d16[q * 2 + 6]!;
      const next = d16[q * 2 + 7]!;
      if ((flags & DESC_F_INDIRECT) !== 0) {
        if (inIndirect) throw new RingBroken('indirect descriptor inside an indirect table');
        if ((flags & DESC_F_NEXT) !== 0) throw new RingBroken('indirect descriptor with NEXT');
        if (!this.indirect) throw new RingBroken('indirect descriptor without INDIRECT_DESC');
        if (len === 0 || len % 16 !== 0 || len / 16 > num) throw new RingBroken(`indirect table of ${len} bytes`);
        if (hi >= ADDR_HI_LIMIT || mem.translateGpa(hi * 0x100000000 + lo, len) !== len || (mem.tOff & 3) !== 0) {
          status = hi >= ADDR_HI_LIMIT ? Chain.ADDR_OVERFLOW : Chain.BAD_ADDR;
          break;
        }
        d16 = mem.u16[mem.tWin]!;
        d32 = mem.u32[mem.tWin]!;
        base = mem.tOff >>> 2;
        size = len / 16;
        inIndirect = true;
        seen = 0;
        i = 0;
        continue;
      }
      if (((flags & DESC_F_WRITE) !== 0) !== writable) {
        status = Chain.BAD_DIR;
      } else if (len > 0 && status === Chain.OK) {
        if (segs.total - start + len > maxBytes || hi >= ADDR_HI_LIMIT) {
          status = hi >= ADDR_HI_LIMIT ? Chain.ADDR_OVERFLOW : Chain.TOO_BIG;
        } else {
          let gpa = hi * 0x100000000 + lo;
          let left = len;
          while (left > 0) {
            const got = mem.translateGpa(gpa, left);
            if (got === 0) {
              status = Chain.BAD_ADDR;
              break;
            }
            if (!segs.push(mem.tWin, mem.tOff, got)) {
              status = Chain.TOO_BIG;
              break;
            }
            gpa += got;
            left -= got;
          }
        }
      }
      if ((flags & DESC_F_NEXT) === 0) break;
      if (next >= size) throw new RingBroken(`descriptor chain names ${next} of ${size}`);
      i = next;
    }
    this.chainStatus = status;
    return head;
  }

  /** Give a chain back (restore lastAvail) when a reservation is rolled back. */
  unpop(count: number): void {
    this.lastAvail = (this.lastAvail - count) & 0xffff;
  }

  /** Roll back to a saved lastAvail (a reservation that fell short). */
  rewind(lastAvail: number): void {
    this.lastAvail = lastAvail;
  }

  /** Record a used element; it becomes visible to the guest at publish(). */
  push(head: number, len: number): void {
    const q = this.uBase32 + 1 + 2 * (this.lastUsed & this.mask);
    this.u32[q] = head;
    this.u32[q + 1] = len;
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
  }

  /**
   * Return a chain the device read (transmit): used length 0. With IN_ORDER, virtio 1.1 §2.6.9 lets
   * the device write one used element per batch, for the batch's last chain, and advance used->idx
   * by the batch size; publish() writes that element. Saves a store and a shared cache line per frame.
   */
  pushRead(head: number): void {
    if (!this.inOrder) return this.push(head, 0);
    this.batchHead = head;
    this.lastUsed = (this.lastUsed + 1) & 0xffff;
  }

  /** Publish used->idx (release) and signal the driver if it asked for it. At most once per burst. */
  publish(): void {
    if (!this.publishIdx()) return;
    fence();
    this.signal();
  }

  /**
   * The first half of publish(): write the batch's used element (IN_ORDER) and used->idx, as a
   * release (see RELEASE_BY_ORDER). Returns true when a notification decision is due; the caller
   * then issues one fence() for all the rings it published and calls signal() on each.
   */
  publishIdx(): boolean {
    if (this.lastUsed === this.#publishedUsed) return false;
    if (this.batchHead >= 0) {
      const q = this.uBase32 + 1 + 2 * ((this.lastUsed - 1) & this.mask);
      this.u32[q] = this.batchHead;
      this.u32[q + 1] = 0;
      this.batchHead = -1;
    }
    if (RELEASE_BY_ORDER) this.u16[this.uBase16 + 1] = this.lastUsed;
    else Atomics.store(this.u16, this.uBase16 + 1, this.lastUsed);
    this.#publishedUsed = this.lastUsed;
    return this.callFd >= 0;
  }

  /**
   * The second half of publish(), after a fence() that follows publishIdx(): read what the driver
   * asked for (used_event or NO_INTERRUPT) and write the call eventfd if it wants one. The fence
   * orders the index store before these loads (DPDK vhost_vring_call_split's fence), so a driver
   * that re-enables interrupts and re-checks the index is never missed.
   */
  signal(): void {
    let want: boolean;
    if (this.eventIdx) {
      const event = this.a16[this.aBase + 2 + this.num]!;
      const now = this.lastUsed;
      const old = this.#signalledUsed;
      want = !this.#signalValid || ((now - event - 1) & 0xffff) < ((now - old) & 0xffff);
      this.#signalledUsed = now;
      this.#signalValid = true;
    } else {
      want = (this.a16[this.aBase]! & AVAIL_F_NO_INTERRUPT) === 0;
    }
    if (!want) return;
    this.calls++;
    if (native().eventfdWrite(this.callFd, 1) !== 0) this.callFailures++;
  }

  /**
   * Ask the driver for a kick on the next new buffer (true) or tell it not to bother (false).
   * After enabling, the caller must re-check pending() before sleeping (the race rule of §3.4).
   */
  notify(enable: boolean): void {
    if (this.eventIdx) {
      if (enable) Atomics.store(this.u16, this.uBase16 + 2 + 4 * this.num, this.lastAvail);
      // Disabled = leave avail_event stale: the driver stops kicking once it has passed it.
    } else {
      Atomics.store(this.u16, this.uBase16, enable ? 0 : USED_F_NO_NOTIFY);
    }
  }
}
