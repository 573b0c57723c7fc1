// Which receive queue of a multi-queue port a frame goes to: every frame of one flow lands on the
// same queue (in order), and different flows spread over the queues. The flow is the IPv4/IPv6
// address pair, the protocol, and for unfragmented TCP and UDP the port pair; other frames hash by
// their MAC addresses and ethertype. The hash is symmetric (both directions of a connection hash
// alike), like the Toeplitz key most NICs use for RSS; FlowTable turns hashes into queues.

/** Bytes of a frame the hash may read: Ethernet + VLAN tag + IPv6 header + the L4 port pair. */
export const FLOW_BYTES = 14 + 4 + 40 + 4;

/** Flow hash of the frame whose first byte is b[at], of which n bytes are readable. */
export function flowHash(b: Uint8Array, at: number, n: number): number {
  if (n < 14) return 0;
  const end = at + n;
  let l3 = at + 14;
  let type = (b[at + 12]! << 8) | b[at + 13]!;
  if (type === 0x8100 && n >= 18) {
    type = (b[at + 16]! << 8) | b[at + 17]!;
    l3 += 4;
  }
  let h: number;
  if (type === 0x0800 && l3 + 20 <= end) {
    const proto = b[l3 + 9]!;
    h = word(b, l3 + 12) ^ word(b, l3 + 16) ^ proto;
    const l4 = l3 + (b[l3]! & 0xf) * 4;
    const fragment = ((b[l3 + 6]! & 0x3f) << 8) | b[l3 + 7]!; // MF flag and offset
    if ((proto === 6 || proto === 17) && fragment === 0 && l4 + 4 <= end) h ^= ports(b, l4);
  } else if (type === 0x86dd && l3 + 40 <= end) {
    const next = b[l3 + 6]!;
    h = next;
    for (let k = 8; k < 40; k += 4) h ^= word(b, l3 + k);
    if ((next === 6 || next === 17) && l3 + 44 <= end) h ^= ports(b, l3 + 40);
  } else {
    h = word(b, at) ^ word(b, at + 6) ^ ((b[at + 4]! << 8) | b[at + 5]!) ^ ((b[at + 10]! << 8) | b[at + 11]!) ^ type;
  }
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

function word(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** Source and destination port folded so that swapping them gives the same value. */
function ports(b: Uint8Array, at: number): number {
  const s = (b[at]! << 8) | b[at + 1]!;
  const d = (b[at + 2]! << 8) | b[at + 3]!;
  return (s ^ d) | ((s + d) << 16);
}

/** Slots of a port's flow table (a power of two); a flow idle this long gives its slot up (ms). */
const FLOW_SLOTS = 4096;
const FLOW_IDLE_MS = 2000;
/** A queue's recent load halves every this many ms (it is decayed at most once per half-life). */
const LOAD_HALF_LIFE_MS = 50;

/**
 * Which receive queue each flow of one port uses. A new flow gets the queue that carried the fewest
 * frames lately (ties in turn), and keeps it while it is active: a direct-mapped table of flow
 * hashes. Handing out queues in turn alone is not enough: a stray flow (ARP, a neighbour probe, a
 * control connection) between two busy flows puts both busy ones on one queue; a bare hash does
 * that half the time with two flows. A flow whose slot is held by another live flow uses its hash
 * modulo the queue count instead, which is stable too.
 */
export class FlowTable {
  #key = new Int32Array(FLOW_SLOTS);
  #queue = new Uint8Array(FLOW_SLOTS);
  #seen = new Float64Array(FLOW_SLOTS).fill(-Infinity);
  #next = 0;
  /** Frames per queue lately, decayed with time. */
  #load = new Float64Array(256);
  #loadAt = 0;

  /** The queue (0..n-1) of the flow with this hash, at time `now` (ms). */
  queueOf(hash: number, n: number, now: number): number {
    if (now - this.#loadAt >= LOAD_HALF_LIFE_MS) this.#decay(now);
    const slot = hash & (FLOW_SLOTS - 1);
    const key = hash | 0;
    const live = now - this.#seen[slot]! <= FLOW_IDLE_MS;
    let q: number;
    if (live && this.#key[slot] === key && this.#queue[slot]! < n) {
      q = this.#queue[slot]!;
      this.#seen[slot] = now;
    } else if (live && this.#key[slot] !== key) {
      q = (hash >>> 0) % n; // the slot is another flow's: the hash decides, and the slot stays theirs
    } else {
      q = this.#leastLoaded(n);
      this.#key[slot] = key;
      this.#queue[slot] = q;
      this.#seen[slot] = now;
    }
    this.#load[q]!++;
    return q;
  }

  /** Forget every flow (the port's queues changed or it reconnected). */
  clear(): void {
    this.#seen.fill(-Infinity);
    this.#load.fill(0);
    this.#next = 0;
  }

  #leastLoaded(n: number): number {
    let best = this.#next % n;
    for (let i = 1; i < n; i++) {
      const q = (this.#next + i) % n;
      if (this.#load[q]! < this.#load[best]!) best = q;
    }
    this.#next = best + 1;
    return best;
  }

  #decay(now: number): void {
    const factor = 0.5 ** ((now - this.#loadAt) / LOAD_HALF_LIFE_MS);
    for (let q = 0; q < this.#load.length; q++) this.#load[q]! *= factor;
    this.#loadAt = now;
  }
}
