// Software offloads for receivers that did not negotiate them: finishing a partial checksum
// (NEEDS_CSUM toward a port without GUEST_CSUM) and TCP segmentation (a TSO frame toward a port
// without GUEST_TSO4/6). This is the slow path; the fast path forwards such frames untouched.
// Headers are parsed here from the frame itself: the guest's hdr_len is never trusted (§2.3).

import { copySegs, gather, Scratch, type SegList, type Windows } from './segments.ts';
import { fold, sumSegs, GSO_TCPV4, GSO_TCPV6, type VnetHeader } from './net-header.ts';

/** Most segments one TSO frame may expand to (64 KiB / 536-byte MSS is 123). */
export const MAX_SEGMENTS = 256;
const MAX_HEADERS = 128;

/** Parsed L2-L4 layout of a TCP frame. */
export interface TcpLayout {
  l3: number;
  l4: number;
  /** Total header bytes (Ethernet + IP + TCP). */
  headers: number;
  ipv6: boolean;
}

/** Parse Ethernet (one optional VLAN tag), IPv4/IPv6 and TCP headers from bytes h[0..n). */
export function parseTcp(h: Uint8Array, n: number): TcpLayout | string {
  if (n < 14) return 'frame shorter than Ethernet';
  let l3 = 14;
  let type = (h[12]! << 8) | h[13]!;
  if (type === 0x8100) {
    if (n < 18) return 'truncated VLAN tag';
    type = (h[16]! << 8) | h[17]!;
    l3 = 18;
  }
  let l4: number;
  let ipv6: boolean;
  if (type === 0x0800) {
    if (n < l3 + 20 || h[l3]! >>> 4 !== 4) return 'bad IPv4 header';
    const ihl = (h[l3]! & 0xf) * 4;
    if (ihl < 20 || h[l3 + 9] !== 6) return 'not TCP over IPv4';
    l4 = l3 + ihl;
    ipv6 = false;
  } else if (type === 0x86dd) {
    if (n < l3 + 40 || h[l3]! >>> 4 !== 6 || h[l3 + 6] !== 6) return 'not TCP over IPv6 (extension headers are not segmented)';
    l4 = l3 + 40;
    ipv6 = true;
  } else {
    return `ethertype 0x${type.toString(16)} cannot be segmented`;
  }
  if (n < l4 + 20) return 'truncated TCP header';
  const tcpLen = (h[l4 + 12]! >>> 4) * 4;
  if (tcpLen < 20 || l4 + tcpLen > n) return 'bad TCP header length';
  return { l3, l4, headers: l4 + tcpLen, ipv6 };
}

/**
 * Finish a partial checksum in place: sum [start, end) of the frame (whose first byte is at
 * logical offset `base` of segs) and store the complement at start+offset. The caller checked that
 * start+offset+2 <= frameLen.
 */
export function finishChecksum(m: Windows, segs: SegList, base: number, frameLen: number, start: number, offset: number, tmp: Uint8Array): void {
  const csum = ~fold(sumSegs(m, segs, base + start, frameLen - start)) & 0xffff;
  tmp[0] = csum >>> 8;
  tmp[1] = csum & 0xff;
  writeAt(m, segs, base + start + offset, tmp, 2);
}

function writeAt(m: Windows, segs: SegList, at: number, bytes: Uint8Array, n: number): void {
  for (let i = 0, put = 0; i < segs.count && put < n; i++) {
    const len = segs.len[i]!;
    if (at >= len) {
      at -= len;
      continue;
    }
    const view = m.u8[segs.win[i]!]!;
    const k = Math.min(len - at, n - put);
    for (let j = 0; j < k; j++) view[segs.off[i]! + at + j] = bytes[put + j]!;
    put += k;
    at = 0;
  }
}

/**
 * Cuts a TSO frame into MSS-sized TCP segments in a scratch buffer, one at a time, with correct
 * IP lengths, IPv4 ids and header checksum, TCP sequence numbers, flags and checksum.
 */
export class Segmenter {
  readonly out = new Scratch(65536 + MAX_HEADERS);
  #hdr = new Uint8Array(MAX_HEADERS);
  #layout: TcpLayout | undefined;
  #src: Windows | undefined;
  #segs: SegList | undefined;
  #base = 0;
  #payload = 0;
  #mss = 0;
  count = 0;

  /** Prepare to segment; returns why it cannot be done, or undefined. */
  begin(m: Windows, segs: SegList, base: number, frameLen: number, vh: VnetHeader): string | undefined {
    const got = gather(m, segs, base, this.#hdr, Math.min(frameLen, MAX_HEADERS));
    const layout = parseTcp(this.#hdr, got);
    if (typeof layout === 'string') return layout;
    if (layout.ipv6 !== (vh.gsoType === GSO_TCPV6) || (!layout.ipv6 && vh.gsoType !== GSO_TCPV4)) return 'gso_type does not match the IP version';
    this.#payload = frameLen - layout.headers;
    if (this.#payload <= 0) return 'TSO frame without payload';
    this.count = Math.ceil(this.#payload / vh.gsoSize);
    if (this.count > MAX_SEGMENTS) return `gso_size ${vh.gsoSize} gives ${this.count} segments`;
    this.#layout = layout;
    this.#src = m;
    this.#segs = segs;
    this.#base = base;
    this.#mss = vh.gsoSize;
    return undefined;
  }

  /** Build segment k in `out`; returns its frame length (out.bytes[0..len)). */
  build(k: number): number {
    const L = this.#layout!;
    const o = this.out.bytes;
    const H = L.headers;
    const first = k * this.#mss;
    const segLen = Math.min(this.#mss, this.#payload - first);
    o.set(this.#hdr.subarray(0, H), 0);
    copySegs(this.out, this.out.whole(H + segLen), H, this.#src!, this.#segs!, this.#base + H + first, segLen);
    const ipPayload = H - L.l4 + segLen;
    if (L.ipv6) {
      put16(o, L.l3 + 4, ipPayload);
    } else {
      put16(o, L.l3 + 2, L.l4 - L.l3 + ipPayload);
      put16(o, L.l3 + 4, (get16(o, L.l3 + 4) + k) & 0xffff);
      put16(o, L.l3 + 10, 0);
      put16(o, L.l3 + 10, ~fold(sumSegs(this.out, this.out.whole(L.l4), L.l3, L.l4 - L.l3)) & 0xffff);
    }
    const t = L.l4;
    const seq = (((o[t + 4]! << 24) >>> 0) + (o[t + 5]! << 16) + (o[t + 6]! << 8) + o[t + 7]! + first) >>> 0;
    o[t + 4] = seq >>> 24;
    o[t + 5] = (seq >>> 16) & 0xff;
    o[t + 6] = (seq >>> 8) & 0xff;
    o[t + 7] = seq & 0xff;
    if (k > 0) o[t + 13] = o[t + 13]! & ~0x80; // CWR only on the first segment
    if (k < this.count - 1) o[t + 13] = o[t + 13]! & ~0x09; // FIN and PSH only on the last
    // TCP checksum over the pseudo-header and the segment.
    put16(o, t + 16, 0);
    let sum = sumSegs(this.out, this.out.whole(H + segLen), t, ipPayload);
    if (L.ipv6) sum += sumSegs(this.out, this.out.whole(H), L.l3 + 8, 32) + ipPayload + 6;
    else sum += sumSegs(this.out, this.out.whole(H), L.l3 + 12, 8) + ipPayload + 6;
    put16(o, t + 16, ~fold(sum) & 0xffff || 0xffff);
    return H + segLen;
  }
}

function get16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}
