// The split ring's shared terms (virtio 1.1 §2.6): descriptor and ring flag bits, the outcome of
// walking one chain, the error that marks a ring broken, and the memory-ordering primitives that
// the queue, the burst reader and the forwarder all rely on.
//
// Memory ordering: the guest writes the rings from another CPU while the switch reads them. What
// the switch publishes (used->idx) must be a release; the notification decision that follows must
// sit behind a full fence. How each is done in JavaScript is said beside it below.

import { GuestError } from '../errors.ts';

export const DESC_F_NEXT = 1;
export const DESC_F_WRITE = 2;
export const DESC_F_INDIRECT = 4;
export const AVAIL_F_NO_INTERRUPT = 1;
export const USED_F_NO_NOTIFY = 1;

/**
 * On x86 (TSO) the CPU keeps stores in program order, and V8 emits typed-array stores in program
 * order, so a plain store of used->idx after the used elements and packet bytes is a release: the
 * driver never sees the index before what it covers. Elsewhere (arm64) it must be Atomics.store.
 * Atomics.store on guest memory is a call into V8's runtime (about 12 ns, and a full fence) that
 * the JIT does not inline; a pass publishes up to four rings, so this matters at small frames.
 */
export const RELEASE_BY_ORDER = process.arch === 'x64' || process.arch === 'ia32';

const FENCE = new Int32Array(new SharedArrayBuffer(4));
/**
 * A full memory fence: an atomic read-modify-write (a locked instruction on x86) and, for the JIT,
 * a call with unknown effects, so later loads are neither reordered before it nor served from
 * values read before it.
 */
export function fence(): void {
  Atomics.add(FENCE, 0, 0);
}

/** Outcome of the last pop() besides its head index. */
export const Chain = {
  OK: 0,
  /** A buffer address or length is outside every region: drop the packet (CVE-2018-1059 class). */
  BAD_ADDR: 1,
  /** A device-writable buffer in a TX chain (virtio 1.1 §2.6.4.2). */
  BAD_DIR: 2,
  /** More bytes or pieces than allowed. */
  TOO_BIG: 3,
  /**
   * An address of 2^53 or more: beyond any region (regions end below 2^53), and beyond what a
   * double holds exactly, so it is refused before any arithmetic (address + length could wrap 2^64).
   */
  ADDR_OVERFLOW: 4,
} as const;

/** Addresses are exact in a double below 2^53: a descriptor's high word must be below 2^21. */
export const ADDR_HI_LIMIT = 0x200000;

export class RingBroken extends GuestError {}
