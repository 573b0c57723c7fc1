// The burst path: forward a burst of frames from one transmit queue the way DPDK's vhost PMD works
// a burst. avail->idx is read once per burst (acquire); then the burst goes through phases, each a
// tight loop over all its frames, so the loads that miss the cache (descriptors, frame headers,
// receive descriptors, all written by other CPUs) are independent of one another and overlap:
//   A. transmit descriptors: head, flags, address, length, translation;
//   B. frame headers: offload bits, MAC addresses, destination port and receive queue;
//   C. receive chains: one descriptor per frame from its receive queue, taken (committed) in order;
//   D. copies: virtio net header and frame, receive used elements, transmit used elements.
// Each guest-written field is read once into a local or a burst slot (TOCTOU). Used indices are
// published once per pass by the forwarder (release), which also makes the one notification
// decision per ring. Nothing here allocates or calls a method per frame on the fast shape.
//
// The fast shape is what almost every small frame looks like: one transmit descriptor holding the
// 12-byte header and the whole frame, no offload requested, 4-byte aligned, inside the region the
// last translation hit; unicast (or flooded to the only other port) into one receive descriptor big
// enough for header and frame. The first frame of another shape ends the phases there (nothing from
// it on is taken), and Delivery.forwardOne handles it with the general rules before the next burst
// resumes: both paths share the same checks and outcomes.

import { MAX_TX_BYTES, type Delivery } from './deliver.ts';
import { flowHash } from './flow.ts';
import { LEARN_REFRESH_MS } from './deliver.ts';
import { UNKNOWN } from './mac-table.ts';
import type { Port } from './port.ts';
import { ADDR_HI_LIMIT, RingBroken } from './ring-abi.ts';
import type { SplitQueue } from './virtqueue.ts';

/** Most frames one burst may take (the forwarder's --burst is capped to it). */
export const MAX_BURST = 256;
/** Frames up to this length are copied word by word; longer ones by the native memcpy of TypedArray.set. */
const WORD_COPY_MAX = 128;
const HDR = 12;
const DESC_F_WRITE = 2;

// Burst slots, reused by every burst (one data thread; a burst never re-enters).
const txHead = new Int32Array(MAX_BURST);
const txOff = new Int32Array(MAX_BURST);
const frameLen = new Int32Array(MAX_BURST);
const rxHead = new Int32Array(MAX_BURST);
const rxOff = new Int32Array(MAX_BURST);
/** Destination receive queue per frame; null = filtered (addressed back to its own port). */
const rxQueue: (SplitQueue | null)[] = new Array<SplitQueue | null>(MAX_BURST).fill(null);
const rxPort: (Port | null)[] = new Array<Port | null>(MAX_BURST).fill(null);

/** Forward up to `max` frames from q (a transmit queue of src); returns the frames taken. */
export function forwardBurst(d: Delivery, src: Port, q: SplitQueue, max: number): number {
  const idx = Atomics.load(q.a16, q.aBase + 1); // acquire: descriptor reads come after
  const pending = (idx - q.lastAvail) & 0xffff;
  if (pending > q.num) throw new RingBroken(`avail index moved by ${pending} on a ring of ${q.num}`);
  q.availShadow = idx;
  const n = pending < max ? pending : max;
  let done = 0;
  while (done < n) {
    if (src.features.hdrLen === HDR) done += fastBurst(d, src, q, n - done > MAX_BURST ? MAX_BURST : n - done);
    if (done >= n || !q.ready) break;
    if (!d.forwardOne(src, q)) break;
    done++;
  }
  return done;
}

/** Forward the longest run of fast-shape frames at the head of q (at most n); returns how many. */
function fastBurst(d: Delivery, src: Port, q: SplitQueue, n: number): number {
  const sm = src.mem!;
  const gw = sm.hotWin;
  if (gw < 0) return 0;
  const s8 = sm.u8[gw]!;
  const s32 = sm.u32[gw]!;
  const last = q.lastAvail;

  // A. Transmit descriptors.
  {
    const a16 = q.a16;
    const aRing = q.aBase + 2;
    const d16 = q.d16;
    const d32 = q.d32;
    const dBase = q.dBase;
    const num = q.num;
    const mask = q.mask;
    const g0 = sm.hotStart;
    const g1 = sm.hotEnd;
    const gd = sm.hotDelta;
    for (let k = 0; k < n; k++) {
      const head = a16[aRing + ((last + k) & mask)]!;
      const qi = dBase + head * 4;
      // head >= num, NEXT, WRITE, INDIRECT: the general path (which also breaks a bad head).
      if (head >= num || d16[qi * 2 + 6] !== 0) {
        n = k;
        break;
      }
      const len = d32[qi + 2]!;
      const hi = d32[qi + 1]!;
      const gpa = hi * 4294967296 + d32[qi]!;
      const off = gpa + gd;
      if (len < HDR + 14 || len > MAX_TX_BYTES || hi >= ADDR_HI_LIMIT || gpa < g0 || gpa + len > g1 || (off & 3) !== 0) {
        n = k;
        break;
      }
      txHead[k] = head;
      txOff[k] = off;
      frameLen[k] = len - HDR;
    }
  }
  if (n === 0) return 0;

  // B. Headers: offloads, addresses, destination.
  {
    const now = d.now;
    const macs = d.macs;
    const ports = d.ports;
    const only = d.soleOther(src);
    for (let k = 0; k < n; k++) {
      const off = txOff[k]!;
      const w = off >>> 2;
      if ((s32[w]! & 0xffff) !== 0) {
        n = k; // an offload is requested
        break;
      }
      const dA = s32[w + 3]! | 0;
      const x = s32[w + 4]! | 0;
      const dB = x & 0xffff;
      const sA = x >>> 16;
      const sB = s32[w + 5]! | 0;
      let dest: number;
      if (sA === src.lastSrcA && sB === src.lastSrcB && now - src.lastSrcSeen <= LEARN_REFRESH_MS && dA === src.lastDstA && dB === src.lastDstB && src.lastDstGen === macs.generation) {
        dest = src.lastDstPort;
      } else {
        dest = d.resolve(src, dA, dB, sA, sB, s8, off + HDR);
      }
      if (dest === UNKNOWN) dest = only; // flooding to the only other port is forwarding
      if (dest < 0) {
        n = k; // flooding to several ports: the general path
        break;
      }
      if (dest === src.id) {
        rxQueue[k] = null; // for a host behind the port it came from: filtered, as a bridge does
        continue;
      }
      const p = ports[dest]!;
      const rr = p.rxReady;
      if (p.features.hdrLen !== HDR || rr.length === 0 || p.mem === null || p.mem.hotWin < 0) {
        n = k;
        break;
      }
      rxQueue[k] = rr.length === 1 ? rr[0]! : rr[p.flows.queueOf(flowHash(s8, off + HDR, frameLen[k]!), rr.length, now)]!;
      rxPort[k] = p;
    }
  }

  // C. Receive chains, one descriptor each, taken in frame order (a failure ends the burst there).
  for (let k = 0; k < n; k++) {
    const r = rxQueue[k] as SplitQueue | null;
    if (r === null) continue;
    const rl = r.lastAvail;
    if (rl === r.availShadow) {
      const ai = Atomics.load(r.a16, r.aBase + 1);
      const avail = (ai - rl) & 0xffff;
      if (avail === 0 || avail > r.num) {
        n = k;
        break;
      }
      r.availShadow = ai;
    }
    const rh = r.a16[r.aBase + 2 + (rl & r.mask)]!;
    const rq = r.dBase + rh * 4;
    if (rh >= r.num || r.d16[rq * 2 + 6] !== DESC_F_WRITE) {
      n = k;
      break;
    }
    const rlen = r.d32[rq + 2]!;
    const rhi = r.d32[rq + 1]!;
    const dm = rxPort[k]!.mem!;
    const rgpa = rhi * 4294967296 + r.d32[rq]!;
    const doff = rgpa + dm.hotDelta;
    if (rlen < HDR + frameLen[k]! || rhi >= ADDR_HI_LIMIT || rgpa < dm.hotStart || rgpa + rlen > dm.hotEnd || (doff & 3) !== 0) {
      n = k;
      break;
    }
    r.lastAvail = (rl + 1) & 0xffff;
    rxHead[k] = rh;
    rxOff[k] = doff;
  }
  if (n === 0) return 0;

  // D. Copies and used elements.
  const mask = q.mask;
  const u32 = q.u32;
  const uBase = q.uBase32 + 1;
  const inOrder = q.inOrder;
  let lu = q.lastUsed;
  let bytes = 0;
  let dp: Port | null = null;
  let D8 = s8;
  let D32 = s32;
  for (let k = 0; k < n; k++) {
    const len = frameLen[k]!;
    bytes += len;
    const r = rxQueue[k] as SplitQueue | null;
    if (r !== null) {
      const p = rxPort[k]!;
      if (p !== dp) {
        const dm = p.mem!;
        dp = p;
        D8 = dm.u8[dm.hotWin]!;
        D32 = dm.u32[dm.hotWin]!;
      }
      const off = txOff[k]!;
      const doff = rxOff[k]!;
      const dw = doff >>> 2;
      D32[dw] = 0; // virtio net header: no offload, num_buffers 1
      D32[dw + 1] = 0;
      D32[dw + 2] = 0x10000;
      if (len <= WORD_COPY_MAX) {
        copyWords(D32, dw + 3, s32, (off >>> 2) + 3, len >>> 2);
        for (let i = len & ~3; i < len; i++) D8[doff + HDR + i] = s8[off + HDR + i]!;
      } else {
        D8.set(s8.subarray(off + HDR, off + HDR + len), doff + HDR);
      }
      const ru = r.uBase32 + 1 + 2 * (r.lastUsed & r.mask);
      r.u32[ru] = rxHead[k]!;
      r.u32[ru + 1] = HDR + len;
      r.lastUsed = (r.lastUsed + 1) & 0xffff;
      r.stalledSince = -1;
      r.frames++;
      p.c.txPackets++;
      p.c.txBytes += len;
    }
    // The transmit chain is done: with IN_ORDER only the last element of the batch is written (at publish).
    if (!inOrder) {
      u32[uBase + 2 * (lu & mask)] = txHead[k]!;
      u32[uBase + 2 * (lu & mask) + 1] = 0;
    }
    lu = (lu + 1) & 0xffff;
  }
  if (inOrder) q.batchHead = txHead[n - 1]!;
  q.lastAvail = (last + n) & 0xffff;
  q.lastUsed = lu;
  q.heldOn = null;
  q.frames += n;
  src.c.rxPackets += n;
  src.c.rxBytes += bytes;
  return n;
}

function copyWords(d: Uint32Array, di: number, s: Uint32Array, si: number, words: number): void {
  for (let i = 0; i < words; i++) d[di + i] = s[si + i]!;
}
