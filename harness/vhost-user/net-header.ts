// The virtio network header, `virtio_net_hdr` (virtio 1.1 §5.1.6), and the Internet checksum over
// scatter-gather memory.
// Layout, little-endian: flags u8 | gso_type u8 | hdr_len u16 | gso_size u16 | csum_start u16 |
// csum_offset u16 | num_buffers u16 (the last field only with VERSION_1 or MRG_RXBUF: 12 vs 10 bytes).

import { F } from './protocol/messages.ts';
import type { SegList, Windows } from './segments.ts';

export const NEEDS_CSUM = 1;
export const DATA_VALID = 2;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_ECN = 0x80;

/** Negotiated virtio feature bits of one port, as plain booleans the data path can read cheaply. */
export class NetFeatures {
  hdrLen = 12;
  mrgRxbuf = false;
  eventIdx = false;
  indirect = false;
  csum = false;
  guestCsum = false;
  hostTso4 = false;
  hostTso6 = false;
  guestTso4 = false;
  guestTso6 = false;
  inOrder = false;

  static from(features: bigint): NetFeatures {
    const f = new NetFeatures();
    const has = (b: number) => (features & (1n << BigInt(b))) !== 0n;
    f.mrgRxbuf = has(F.MRG_RXBUF);
    f.hdrLen = has(F.VERSION_1) || f.mrgRxbuf ? 12 : 10;
    f.eventIdx = has(F.EVENT_IDX);
    f.indirect = has(F.INDIRECT_DESC);
    f.csum = has(F.CSUM);
    f.guestCsum = has(F.GUEST_CSUM);
    f.hostTso4 = has(F.HOST_TSO4);
    f.hostTso6 = has(F.HOST_TSO6);
    f.guestTso4 = has(F.GUEST_TSO4);
    f.guestTso6 = has(F.GUEST_TSO6);
    f.inOrder = has(F.IN_ORDER);
    return f;
  }
}

/** The offload fields of one packet, read once from the guest (never re-read: TOCTOU). */
export class VnetHeader {
  flags = 0;
  gsoType = 0;
  hdrLen = 0;
  gsoSize = 0;
  csumStart = 0;
  csumOffset = 0;

  /** Read the first 10 bytes at b[at..] (num_buffers is meaningless on transmit). */
  read(b: Uint8Array, at: number): void {
    this.flags = b[at]!;
    this.gsoType = b[at + 1]!;
    this.hdrLen = b[at + 2]! | (b[at + 3]! << 8);
    this.gsoSize = b[at + 4]! | (b[at + 5]! << 8);
    this.csumStart = b[at + 6]! | (b[at + 7]! << 8);
    this.csumOffset = b[at + 8]! | (b[at + 9]! << 8);
  }

  clear(): void {
    this.flags = this.gsoType = this.hdrLen = this.gsoSize = this.csumStart = this.csumOffset = 0;
  }

  /** Serialise into out[0..12) with the given num_buffers. */
  write(out: Uint8Array, numBuffers: number): void {
    out[0] = this.flags;
    out[1] = this.gsoType;
    out[2] = this.hdrLen & 0xff;
    out[3] = this.hdrLen >>> 8;
    out[4] = this.gsoSize & 0xff;
    out[5] = this.gsoSize >>> 8;
    out[6] = this.csumStart & 0xff;
    out[7] = this.csumStart >>> 8;
    out[8] = this.csumOffset & 0xff;
    out[9] = this.csumOffset >>> 8;
    out[10] = numBuffers & 0xff;
    out[11] = numBuffers >>> 8;
  }

  /** Serialise straight into guest memory: hdrLen (10 or 12) bytes at b[at..] (three words if aligned). */
  writeAt(b: Uint8Array, w: Uint32Array, at: number, hdrLen: number, numBuffers: number): void {
    if (hdrLen === 12 && (at & 3) === 0) {
      const i = at >>> 2;
      w[i] = (this.flags | (this.gsoType << 8) | (this.hdrLen << 16)) >>> 0;
      w[i + 1] = (this.gsoSize | (this.csumStart << 16)) >>> 0;
      w[i + 2] = (this.csumOffset | (numBuffers << 16)) >>> 0;
      return;
    }
    b[at] = this.flags;
    b[at + 1] = this.gsoType;
    b[at + 2] = this.hdrLen & 0xff;
    b[at + 3] = this.hdrLen >>> 8;
    b[at + 4] = this.gsoSize & 0xff;
    b[at + 5] = this.gsoSize >>> 8;
    b[at + 6] = this.csumStart & 0xff;
    b[at + 7] = this.csumStart >>> 8;
    b[at + 8] = this.csumOffset & 0xff;
    b[at + 9] = this.csumOffset >>> 8;
    if (hdrLen === 12) {
      b[at + 10] = numBuffers & 0xff;
      b[at + 11] = numBuffers >>> 8;
    }
  }

  /**
   * Why a packet with this header from a port with `f` must be dropped, or undefined if it is sound
   * (§4 T17: csum fields inside the frame, gso_size non-zero, only types the port negotiated).
   */
  txProblem(f: NetFeatures, frameLen: number): string | undefined {
    if ((this.flags & NEEDS_CSUM) !== 0) {
      if (!f.csum) return 'NEEDS_CSUM without CSUM';
      if (this.csumStart + this.csumOffset + 2 > frameLen) return 'checksum field outside the frame';
    }
    if (this.gsoType === GSO_NONE) return undefined;
    if ((this.gsoType & GSO_ECN) !== 0) return 'ECN GSO was not negotiated';
    if (this.gsoType === GSO_TCPV4 ? !f.hostTso4 : this.gsoType === GSO_TCPV6 ? !f.hostTso6 : true) {
      return `gso_type ${this.gsoType} not negotiated`;
    }
    if (this.gsoSize === 0) return 'gso_size 0';
    if ((this.flags & NEEDS_CSUM) === 0) return 'GSO without NEEDS_CSUM';
    return undefined;
  }
}

/** Big-endian one's-complement sum of bytes [at, at+n) of a SegList, unfolded (add to other sums). */
export function sumSegs(m: Windows, segs: SegList, at: number, n: number): number {
  let be = 0;
  let le = 0;
  let pos = 0; // logical position relative to `at`: decides which byte of a 16-bit word we are in
  for (let i = 0; i < segs.count && n > 0; i++) {
    const len = segs.len[i]!;
    if (at >= len) {
      at -= len;
      continue;
    }
    const w = segs.win[i]!;
    const u8 = m.u8[w]!;
    let off = segs.off[i]! + at;
    let k = Math.min(len - at, n);
    at = 0;
    n -= k;
    if ((pos & 1) === 1 && k > 0) {
      be += u8[off++]!;
      pos++;
      k--;
    }
    if ((off & 1) === 0 && k >= 2) {
      const u16 = m.u16[w]!;
      const words = k >>> 1;
      let j = off >>> 1;
      const end = j + words;
      for (; j < end; j++) le += u16[j]!;
      off += words * 2;
      pos += words * 2;
      k -= words * 2;
    } else {
      for (; k >= 2; k -= 2, off += 2, pos += 2) be += (u8[off]! << 8) | u8[off + 1]!;
    }
    if (k === 1) {
      be += u8[off]! << 8;
      pos++;
    }
    if (be > 0x3fffffff) be = fold(be);
    if (le > 0x3fffffff) le = fold(le);
  }
  le = fold(le);
  return be + (((le & 0xff) << 8) | (le >>> 8));
}

/** Fold a one's-complement sum to 16 bits. */
export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
