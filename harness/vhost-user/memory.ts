// Guest memory of one front-end: the SET_MEM_TABLE regions, validated, mapped and translated.
//
// Validation happens before any mmap (docs/vhost-user.md §1.6, rust-vmm is_valid_common, DPDK
// vhost_user_mmap_region): region sizes non-zero, no u64 overflow, no overlap in guest-physical or
// front-end-virtual space, fd is a regular file at least mmap_offset+size long. Each backing file
// (deduplicated by st_dev/st_ino) is mapped once, in windows of at most 1 GiB, because Node 20 caps
// a typed array at 4 GiB and one ArrayBuffer must never alias another.
//
// Translation is the hot path: translateGpa/translateUva return how many bytes starting at the
// address are contiguous in one window (0 = not mapped) and leave the window and offset in the
// `tWin`/`tOff` fields, so no object is allocated per call. A range that crosses a region or window
// boundary is returned piecewise; a caller walks it (see segments.ts).

import { GuestError } from '../errors.ts';
import { closeQuietly, native } from './native.ts';
import type { MemoryRegion } from './protocol/messages.ts';

/** Window size: every mapping is cut into independent mmaps of at most this many bytes. */
const WINDOW = 2 ** 30;
/** Addresses must stay exact in a double on the data path. */
const MAX_ADDR = 2n ** 53n;

export class MemoryTableError extends GuestError {}

export interface MemoryOptions {
  /** Refuse tables that would map more than this (a hostile front-end can pass a huge sparse file). */
  maxMappedBytes?: number;
}

interface Backing {
  dev: number;
  ino: number;
  fd: number;
  pageSize: number;
  /** File offset of the first window. */
  start: number;
  end: number;
  firstWindow: number;
}

export class GuestMemory {
  /** One byte view per window (index = window number); plus u16/u32 views of the same windows. */
  readonly u8: Uint8Array[] = [];
  readonly u16: Uint16Array[] = [];
  readonly u32: Uint32Array[] = [];
  /** Out-parameters of the last successful translate call. */
  tWin = 0;
  tOff = 0;
  /**
   * The region translateGpa found last, when it lies in one window: [hotStart, hotEnd) of guest
   * physical addresses, its window and the gpa-to-offset delta. The burst path checks it inline and
   * calls translateGpa only when an address falls outside (hotWin -1: no such region yet).
   */
  hotStart = 0;
  hotEnd = 0;
  hotWin = -1;
  hotDelta = 0;

  readonly regions: readonly MemoryRegion[];
  #identity: string;
  #buffers: ArrayBuffer[] = [];
  #fds: number[] = [];
  #n: number;
  #gpa: Float64Array;
  #gpaEnd: Float64Array;
  #uva: Float64Array;
  #uvaEnd: Float64Array;
  /** File offset of each region's first byte minus the backing's window-0 start. */
  #rel: Float64Array;
  #firstWindow: Int32Array;
  /** Regions that lie in a single window: that window (else -1) and gpa-to-offset delta. */
  #oneWin: Int32Array;
  #oneDelta: Float64Array;
  #last = 0;
  #closed = false;

  private constructor(regions: readonly MemoryRegion[], identity: string) {
    this.regions = regions;
    this.#identity = identity;
    const n = regions.length;
    this.#n = n;
    this.#gpa = new Float64Array(n);
    this.#gpaEnd = new Float64Array(n);
    this.#uva = new Float64Array(n);
    this.#uvaEnd = new Float64Array(n);
    this.#rel = new Float64Array(n);
    this.#firstWindow = new Int32Array(n);
    this.#oneWin = new Int32Array(n).fill(-1);
    this.#oneDelta = new Float64Array(n);
  }

  /**
   * Validate a table and map it. Takes ownership of `fds` in every case: on success they stay open
   * until close(); on failure they are closed before the error is thrown.
   */
  static map(regions: readonly MemoryRegion[], fds: readonly number[], options: MemoryOptions = {}): GuestMemory {
    let mem: GuestMemory | undefined;
    try {
      checkRegions(regions, fds.length);
      const stats = fds.map((fd, i) => {
        const st = native().fdStat(fd);
        if (st.type !== 'file') throw new MemoryTableError(`region ${i}: fd is a ${st.type}, not a shared-memory file`);
        const need = regions[i]!.mmapOffset + regions[i]!.size;
        if (BigInt(st.size) < need) throw new MemoryTableError(`region ${i}: file has ${st.size} bytes, region needs ${need}`);
        return st;
      });
      mem = new GuestMemory(regions, identityOf(regions, stats));
      mem.#fds = [...fds];
      mem.#mapAll(stats, options.maxMappedBytes ?? 64 * 2 ** 30);
      return mem;
    } catch (err) {
      if (mem) mem.close();
      else for (const fd of fds) closeQuietly(fd);
      throw err instanceof MemoryTableError ? err : new MemoryTableError((err as Error).message);
    }
  }

  /** Whether a new table describes exactly this memory (same regions, same files): DPDK's short-circuit. */
  sameAs(regions: readonly MemoryRegion[], fds: readonly number[]): boolean {
    try {
      return identityOf(regions, fds.map((fd) => native().fdStat(fd))) === this.#identity;
    } catch {
      return false;
    }
  }

  get windowCount(): number {
    return this.u8.length;
  }

  /** True once a SIGBUS was contained in one of our windows (the file shrank under us). */
  faulted(): boolean {
    for (const b of this.#buffers) if (native().mappingFaulted(b)) return true;
    return false;
  }

  /** Contiguous bytes at guest-physical `gpa` (up to len); 0 when unmapped. Sets tWin/tOff. */
  translateGpa(gpa: number, len: number): number {
    let r = this.#last;
    if (!(gpa >= this.#gpa[r]! && gpa < this.#gpaEnd[r]!)) {
      r = -1;
      for (let i = 0; i < this.#n; i++) {
        if (gpa >= this.#gpa[i]! && gpa < this.#gpaEnd[i]!) {
          r = i;
          break;
        }
      }
      if (r < 0) return 0;
      this.#last = r;
      this.#heat(r);
    }
    const max = Math.min(len, this.#gpaEnd[r]! - gpa);
    const w = this.#oneWin[r]!;
    if (w >= 0) {
      this.tWin = w;
      this.tOff = gpa + this.#oneDelta[r]!;
      return max;
    }
    return this.#locate(r, gpa - this.#gpa[r]!, max);
  }

  #heat(r: number): void {
    const w = this.#oneWin[r]!;
    this.hotWin = w;
    this.hotStart = w >= 0 ? this.#gpa[r]! : 0;
    this.hotEnd = w >= 0 ? this.#gpaEnd[r]! : 0;
    this.hotDelta = this.#oneDelta[r]!;
  }

  /** Same for a front-end virtual address (ring addresses of SET_VRING_ADDR). */
  translateUva(uva: number, len: number): number {
    for (let r = 0; r < this.#n; r++) {
      if (uva >= this.#uva[r]! && uva < this.#uvaEnd[r]!) {
        return this.#locate(r, uva - this.#uva[r]!, Math.min(len, this.#uvaEnd[r]! - uva));
      }
    }
    return 0;
  }

  /** Guest-physical address of a front-end virtual address, or -1. */
  uvaToGpa(uva: number): number {
    for (let r = 0; r < this.#n; r++) {
      if (uva >= this.#uva[r]! && uva < this.#uvaEnd[r]!) return this.#gpa[r]! + (uva - this.#uva[r]!);
    }
    return -1;
  }

  #locate(r: number, delta: number, max: number): number {
    const rel = this.#rel[r]! + delta;
    const w = Math.floor(rel / WINDOW);
    const off = rel - w * WINDOW;
    const win = this.#firstWindow[r]! + w;
    const view = this.u8[win];
    if (view === undefined) return 0;
    this.tWin = win;
    this.tOff = off;
    const room = view.length - off;
    return max < room ? max : room;
  }

  #mapAll(stats: { dev: number; ino: number; blksize: number }[], maxBytes: number): void {
    const sysPage = native().pageSize();
    const backings: Backing[] = [];
    const backingOf: Backing[] = [];
    this.regions.forEach((region, i) => {
      const st = stats[i]!;
      const bs = st.blksize;
      const pageSize = bs > sysPage && (bs & (bs - 1)) === 0 && bs <= WINDOW ? bs : sysPage;
      const start = Number(region.mmapOffset);
      const end = Number(region.mmapOffset + region.size);
      let b = backings.find((x) => x.dev === st.dev && x.ino === st.ino);
      if (b === undefined) {
        b = { dev: st.dev, ino: st.ino, fd: this.#fds[i]!, pageSize, start, end, firstWindow: 0 };
        backings.push(b);
      } else {
        b.start = Math.min(b.start, start);
        b.end = Math.max(b.end, end);
      }
      backingOf[i] = b;
    });
    let total = 0;
    for (const b of backings) {
      b.start = Math.floor(b.start / b.pageSize) * b.pageSize;
      b.end = Math.ceil(b.end / b.pageSize) * b.pageSize;
      total += b.end - b.start;
    }
    if (total > maxBytes) throw new MemoryTableError(`table maps ${total} bytes, more than the ${maxBytes}-byte limit`);
    for (const b of backings) {
      b.firstWindow = this.u8.length;
      for (let off = b.start; off < b.end; off += WINDOW) {
        const len = Math.min(WINDOW, b.end - off);
        const ab = native().mmapFd(b.fd, off, len, b.pageSize);
        this.#buffers.push(ab);
        this.u8.push(new Uint8Array(ab));
        this.u16.push(new Uint16Array(ab, 0, len >>> 1));
        this.u32.push(new Uint32Array(ab, 0, len >>> 2));
      }
    }
    this.regions.forEach((region, i) => {
      const b = backingOf[i]!;
      this.#gpa[i] = Number(region.guestPhysAddr);
      this.#gpaEnd[i] = Number(region.guestPhysAddr + region.size);
      this.#uva[i] = Number(region.userAddr);
      this.#uvaEnd[i] = Number(region.userAddr + region.size);
      this.#rel[i] = Number(region.mmapOffset) - b.start;
      this.#firstWindow[i] = b.firstWindow;
      const first = Math.floor(this.#rel[i]! / WINDOW);
      const last = Math.floor((this.#rel[i]! + Number(region.size) - 1) / WINDOW);
      if (first === last) {
        this.#oneWin[i] = b.firstWindow + first;
        this.#oneDelta[i] = this.#rel[i]! - first * WINDOW - this.#gpa[i]!;
      }
    });
    this.#heat(0);
  }

  /** Detach and unmap every window, close every fd. Views held elsewhere become empty. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ab of this.#buffers) native().munmap(ab);
    this.#buffers = [];
    this.hotWin = -1;
    this.hotStart = this.hotEnd = 0;
    this.u8.length = 0;
    this.u16.length = 0;
    this.u32.length = 0;
    for (const fd of this.#fds) closeQuietly(fd);
    this.#fds = [];
  }
}

/** Pure checks on a table (no fd access). Exported for unit tests. */
export function checkRegions(regions: readonly MemoryRegion[], fdCount: number): void {
  if (regions.length < 1 || regions.length > 8) throw new MemoryTableError(`${regions.length} regions (1..8)`);
  if (regions.length !== fdCount) throw new MemoryTableError(`${fdCount} fds for ${regions.length} regions`);
  regions.forEach((r, i) => {
    if (r.size === 0n) throw new MemoryTableError(`region ${i}: size 0`);
    for (const [what, base] of [
      ['guest address', r.guestPhysAddr],
      ['user address', r.userAddr],
      ['mmap offset', r.mmapOffset],
    ] as const) {
      if (base + r.size > MAX_ADDR) throw new MemoryTableError(`region ${i}: ${what} + size overflows (0x${base.toString(16)} + 0x${r.size.toString(16)})`);
    }
  });
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i]!;
      const b = regions[j]!;
      if (overlaps(a.guestPhysAddr, b.guestPhysAddr, a.size, b.size)) throw new MemoryTableError(`regions ${i} and ${j} overlap in guest-physical space`);
      if (overlaps(a.userAddr, b.userAddr, a.size, b.size)) throw new MemoryTableError(`regions ${i} and ${j} overlap in user space`);
    }
  }
}

function overlaps(a: bigint, b: bigint, al: bigint, bl: bigint): boolean {
  return a < b + bl && b < a + al;
}

function identityOf(regions: readonly MemoryRegion[], stats: readonly { dev: number; ino: number }[]): string {
  return regions
    .map((r, i) => `${r.guestPhysAddr}:${r.size}:${r.userAddr}:${r.mmapOffset}@${stats[i]?.dev}/${stats[i]?.ino}`)
    .join(',');
}
