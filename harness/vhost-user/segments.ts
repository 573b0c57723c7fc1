// Scatter-gather lists over mapped windows and the byte copies between them: the only code that
// moves packet bytes. A SegList names (window, offset, length) pieces; a Windows is anything with
// per-window byte and u32 views (guest memory, or a local scratch buffer). Copies use u32 words when
// both ends are 4-aligned and short, and TypedArray.set otherwise (see docs/vhost-user.md §3.3 for costs).
// Translation guaranteed every piece lies inside its window, so no access here can go out of range.

/** Per-window views of some memory; GuestMemory implements it, so does Scratch. */
export interface Windows {
  readonly u8: Uint8Array[];
  readonly u16: Uint16Array[];
  readonly u32: Uint32Array[];
}

/** Most pieces one packet (or one RX reservation) may have; more is a dropped packet. */
export const MAX_SEGS = 512;

export class SegList {
  readonly win = new Int32Array(MAX_SEGS);
  readonly off = new Int32Array(MAX_SEGS);
  readonly len = new Int32Array(MAX_SEGS);
  count = 0;
  total = 0;

  reset(): void {
    this.count = 0;
    this.total = 0;
  }

  /** Append a piece; false when the list is full. */
  push(win: number, off: number, len: number): boolean {
    const i = this.count;
    if (i >= MAX_SEGS) return false;
    this.win[i] = win;
    this.off[i] = off;
    this.len[i] = len;
    this.count = i + 1;
    this.total += len;
    return true;
  }

  /** Cut the list back to `count` pieces (rolling back a partial reservation). */
  truncate(count: number): void {
    let total = 0;
    for (let i = 0; i < count; i++) total += this.len[i]!;
    this.count = count;
    this.total = total;
  }
}

/** A heap buffer that can stand in for guest memory as a copy source or destination. */
export class Scratch implements Windows {
  readonly bytes: Uint8Array;
  readonly u8: Uint8Array[];
  readonly u16: Uint16Array[];
  readonly u32: Uint32Array[];
  readonly segs = new SegList();

  constructor(size: number) {
    const ab = new ArrayBuffer(size);
    this.bytes = new Uint8Array(ab);
    this.u8 = [this.bytes];
    this.u16 = [new Uint16Array(ab)];
    this.u32 = [new Uint32Array(ab)];
  }

  /** Describe bytes [0, len) of this buffer as a one-piece SegList. */
  whole(len: number): SegList {
    this.segs.reset();
    this.segs.push(0, 0, len);
    return this.segs;
  }
}

export function copyBytes(d8: Uint8Array, d32: Uint32Array, dOff: number, s8: Uint8Array, s32: Uint32Array, sOff: number, n: number): void {
  if (n <= 256 && ((dOff | sOff) & 3) === 0) {
    const words = n >>> 2;
    const a = sOff >>> 2;
    const b = dOff >>> 2;
    for (let i = 0; i < words; i++) d32[b + i] = s32[a + i]!;
    for (let i = words << 2; i < n; i++) d8[dOff + i] = s8[sOff + i]!;
  } else if (n <= 24) {
    for (let i = 0; i < n; i++) d8[dOff + i] = s8[sOff + i]!;
  } else {
    d8.set(s8.subarray(sOff, sOff + n), dOff);
  }
}

/**
 * Copy n bytes from logical offset `so` of `src` to logical offset `dOffset` of `dst`. Returns the
 * bytes copied (less than n only if either list is too short).
 */
export function copySegs(dm: Windows, dst: SegList, dOffset: number, sm: Windows, src: SegList, so: number, n: number): number {
  if (src.count === 1 && dst.count === 1 && so + n <= src.len[0]! && dOffset + n <= dst.len[0]!) {
    const sw = src.win[0]!;
    const dw = dst.win[0]!;
    copyBytes(dm.u8[dw]!, dm.u32[dw]!, dst.off[0]! + dOffset, sm.u8[sw]!, sm.u32[sw]!, src.off[0]! + so, n);
    return n;
  }
  let si = 0;
  while (si < src.count && so >= src.len[si]!) so -= src.len[si++]!;
  let di = 0;
  let doff = dOffset;
  while (di < dst.count && doff >= dst.len[di]!) doff -= dst.len[di++]!;
  let done = 0;
  while (done < n && si < src.count && di < dst.count) {
    const sRoom = src.len[si]! - so;
    const dRoom = dst.len[di]! - doff;
    let k = n - done;
    if (sRoom < k) k = sRoom;
    if (dRoom < k) k = dRoom;
    const sw = src.win[si]!;
    const dw = dst.win[di]!;
    copyBytes(dm.u8[dw]!, dm.u32[dw]!, dst.off[di]! + doff, sm.u8[sw]!, sm.u32[sw]!, src.off[si]! + so, k);
    done += k;
    so += k;
    doff += k;
    if (so === src.len[si]) {
      si++;
      so = 0;
    }
    if (doff === dst.len[di]) {
      di++;
      doff = 0;
    }
  }
  return done;
}

/** Gather n bytes at logical offset `at` of a SegList into out[0..n). Returns bytes gathered. */
export function gather(m: Windows, src: SegList, at: number, out: Uint8Array, n: number): number {
  let got = 0;
  for (let i = 0; i < src.count && got < n; i++) {
    const len = src.len[i]!;
    if (at >= len) {
      at -= len;
      continue;
    }
    const view = m.u8[src.win[i]!]!;
    const base = src.off[i]! + at;
    const k = Math.min(len - at, n - got);
    for (let j = 0; j < k; j++) out[got + j] = view[base + j]!;
    got += k;
    at = 0;
  }
  return got;
}

/** Write bytes[0..n) at logical offset `at` of a SegList. Returns bytes written. */
export function scatter(m: Windows, dst: SegList, at: number, bytes: Uint8Array, n: number): number {
  let put = 0;
  for (let i = 0; i < dst.count && put < n; i++) {
    const len = dst.len[i]!;
    if (at >= len) {
      at -= len;
      continue;
    }
    const view = m.u8[dst.win[i]!]!;
    const base = dst.off[i]! + at;
    const k = Math.min(len - at, n - put);
    for (let j = 0; j < k; j++) view[base + j] = bytes[put + j]!;
    put += k;
    at = 0;
  }
  return put;
}
