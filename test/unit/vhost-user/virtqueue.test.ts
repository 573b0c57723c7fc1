// Split-ring processing on synthetic rings in a memfd: placement checks (T15), chains direct and
// indirect, every structural limit (T11-T13, T19), address handling (T14, T22), used-ring
// publication and both notification schemes (NO_NOTIFY/NO_INTERRUPT and EVENT_IDX).

import { afterEach, beforeEach, expect, it } from 'vitest';
import { GuestMemory } from '../../../harness/vhost-user/memory.ts';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { SegList } from '../../../harness/vhost-user/segments.ts';
import { Chain } from '../../../harness/vhost-user/ring-abi.ts';
import { SplitQueue } from '../../../harness/vhost-user/virtqueue.ts';
import { DriverRing, GuestMem, Layout } from '../../fixtures/vhost-user/guest.ts';
import { reopen } from '../../fixtures/vhost-user/inproc.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('virtqueue tests', nativeUnavailableReason());

const NEXT = 1;
const WRITE = 2;
const INDIRECT = 4;

addon.describe('SplitQueue', () => {
  let mem: GuestMem;
  let gm: GuestMemory;
  let ring: DriverRing;
  let q: SplitQueue;
  const segs = new SegList();

  beforeEach(() => {
    mem = new GuestMem();
    gm = GuestMemory.map([mem.region()], [reopen(mem.fd)]);
    ring = new DriverRing(mem, 0, 256);
    q = new SplitQueue(1);
    q.indirect = true;
    expect(q.place(gm, 256, mem.uva(ring.desc), mem.uva(ring.avail), mem.uva(ring.used))).toBeUndefined();
    q.start(0);
    segs.reset();
  });
  afterEach(() => {
    gm.close();
    mem.close();
  });

  it('refuses misplaced rings (T15)', () => {
    const s = new SplitQueue(0);
    expect(s.place(gm, 256, mem.uva(mem.size - 100), mem.uva(0x1000), mem.uva(0x2000))).toMatch(/descriptor table/);
    expect(s.place(gm, 256, mem.uva(0x8000), mem.uva(0x9001), mem.uva(0xa000))).toMatch(/misaligned/);
    expect(s.place(gm, 256, mem.uva(0x8004), mem.uva(0x9000), mem.uva(0xa000))).toMatch(/misaligned/);
    expect(s.place(gm, 256, mem.uva(0x8000), mem.uva(0x8100), mem.uva(0xa000))).toMatch(/overlap/);
    expect(s.place(gm, 256, mem.uva(0x8000), mem.uva(0x9000), 12)).toMatch(/used ring/);
  });

  it('takes a direct chain, then reports empty', () => {
    const head = ring.add([
      { offset: Layout.TX_BUFS, len: 12 },
      { offset: Layout.TX_BUFS + 100, len: 60 },
    ]);
    expect(q.pending()).toBe(1);
    expect(q.pop(segs, false, 65536)).toBe(head);
    expect(q.chainStatus).toBe(Chain.OK);
    expect([segs.count, segs.total, segs.off[1]]).toEqual([2, 72, Layout.TX_BUFS + 100]);
    expect(q.pop(segs, false, 65536)).toBe(-1);
  });

  it('takes an indirect chain', () => {
    const head = ring.add([{ offset: Layout.TX_BUFS, len: 30 }, { offset: Layout.TX_BUFS + 64, len: 40 }, { offset: Layout.TX_BUFS + 128, len: 50 }], Layout.INDIRECT);
    expect(q.pop(segs, false, 65536)).toBe(head);
    expect([segs.count, segs.total]).toEqual([3, 120]);
  });

  it('stops loops and out-of-range indices (T11, T12)', () => {
    ring.writeDesc(0, mem.gpa(Layout.TX_BUFS), 10, NEXT, 0);
    ring.putAvail(0);
    expect(() => q.pop(segs, false, 65536)).toThrow(/loops/);
    // A throwing pop has consumed its head: the next chain is next in line.
    ring.writeDesc(1, mem.gpa(Layout.TX_BUFS), 10, NEXT, 256);
    ring.putAvail(1);
    expect(() => q.pop(segs, false, 65536)).toThrow(/names 256 of 256/);
    ring.putAvail(256);
    expect(() => q.pop(segs, false, 65536)).toThrow(/descriptor 256/);
  });

  it('enforces the indirect-table rules (T13)', () => {
    const cases: [number, number, number, RegExp][] = [
      [16, INDIRECT | NEXT, 0, /with NEXT/],
      [0, INDIRECT, 0, /table of 0/],
      [20, INDIRECT, 0, /table of 20/],
      [16 * 257, INDIRECT, 0, /table of 4112/],
    ];
    let idx = 0;
    for (const [len, flags, next, why] of cases) {
      ring.writeDesc(idx, mem.gpa(Layout.INDIRECT), len, flags, next);
      ring.putAvail(idx);
      expect(() => q.pop(segs, false, 65536)).toThrow(why);
      idx++;
    }
    ring.writeDesc(0, mem.gpa(Layout.INDIRECT), 16, INDIRECT, 0, Layout.INDIRECT);
    ring.writeDesc(idx, mem.gpa(Layout.INDIRECT), 16, INDIRECT, 0);
    ring.putAvail(idx);
    expect(() => q.pop(segs, false, 65536)).toThrow(/inside an indirect/);
    idx++;
    q.indirect = false;
    ring.writeDesc(idx, mem.gpa(Layout.INDIRECT), 16, INDIRECT, 0);
    ring.putAvail(idx);
    expect(() => q.pop(segs, false, 65536)).toThrow(/without INDIRECT_DESC/);
  });

  it('drops (but consumes) chains with bad addresses, wrong direction or too many bytes (T14, T22)', () => {
    const cases: [number | bigint, number, number, number][] = [
      [mem.gpa(mem.size - 8), 64, 0, Chain.BAD_ADDR],
      [0x10, 64, 0, Chain.BAD_ADDR],
      [2n ** 64n - 8n, 64, 0, Chain.ADDR_OVERFLOW],
      [mem.gpa(Layout.TX_BUFS), 64, WRITE, Chain.BAD_DIR],
      [mem.gpa(Layout.BIG), 100_000, 0, Chain.TOO_BIG],
    ];
    cases.forEach(([addr, len, flags, status], i) => {
      segs.reset();
      ring.writeDesc(i, addr, len, flags, 0);
      ring.putAvail(i);
      expect(q.pop(segs, false, 65536)).toBe(i);
      expect(q.chainStatus).toBe(status);
    });
    expect(q.pending()).toBe(0);
  });

  // Each place that refuses an address of 2^53 or more before doing arithmetic on it, hit with a
  // real 64-bit address (a bigint: as a number, 2^64 - 8 would round to 2^64 and wrap to 0).
  it('refuses addresses whose address + length would overflow, in every kind of descriptor (T14)', () => {
    const top = 2n ** 64n - 8n;
    const ok = BigInt(mem.gpa(Layout.TX_BUFS));
    // A lone direct descriptor (the fast path falls through to the checked loop).
    ring.writeDesc(0, top, 64, 0, 0);
    ring.putAvail(0);
    expect(q.pop(segs, false, 65536)).toBe(0);
    expect(q.chainStatus).toBe(Chain.ADDR_OVERFLOW);
    // The second descriptor of a chain.
    segs.reset();
    ring.writeDesc(1, ok, 12, NEXT, 2);
    ring.writeDesc(2, top, 64, 0, 0);
    ring.putAvail(1);
    expect(q.pop(segs, false, 65536)).toBe(1);
    expect(q.chainStatus).toBe(Chain.ADDR_OVERFLOW);
    // An indirect table's own address.
    segs.reset();
    ring.writeDesc(3, 2n ** 64n - 16n, 32, INDIRECT, 0);
    ring.putAvail(3);
    expect(q.pop(segs, false, 65536)).toBe(3);
    expect(q.chainStatus).toBe(Chain.ADDR_OVERFLOW);
    // The smallest address refused: 2^53 (high word 0x200000), whatever the length.
    segs.reset();
    ring.writeDesc(4, 2n ** 53n, 1, 0, 0);
    ring.putAvail(4);
    expect(q.pop(segs, false, 65536)).toBe(4);
    expect(q.chainStatus).toBe(Chain.ADDR_OVERFLOW);
    // Just below it the address is exact: outside every region, an ordinary bad address.
    segs.reset();
    ring.writeDesc(5, 2n ** 53n - 64n, 64, 0, 0);
    ring.putAvail(5);
    expect(q.pop(segs, false, 65536)).toBe(5);
    expect(q.chainStatus).toBe(Chain.BAD_ADDR);
    expect(() => ring.writeDesc(6, 2 ** 64 - 8, 64, 0, 0)).toThrow(/pass a bigint/);
  });

  it('treats an avail index that jumps past the ring size as broken (T19)', () => {
    ring.setAvailIdx(257);
    expect(() => q.pending()).toThrow(/moved by 257/);
  });

  it('publishes used elements once and signals per NO_INTERRUPT', () => {
    const call = native().eventfdCreate(0, true);
    q.callFd = call;
    const h = ring.add([{ offset: Layout.TX_BUFS, len: 20 }]);
    q.pop(segs, false, 65536);
    q.push(h, 0);
    expect(ring.usedIdx()).toBe(0); // not visible before publish
    q.publish();
    expect(ring.takeUsed()).toEqual([{ id: h, len: 0 }]);
    expect(native().eventfdRead(call)).toBe(1);
    ring.setAvailFlags(1); // VRING_AVAIL_F_NO_INTERRUPT
    const h2 = ring.add([{ offset: Layout.TX_BUFS, len: 20 }]);
    q.pop(segs, false, 65536);
    q.push(h2, 0);
    q.publish();
    expect(native().eventfdRead(call)).toBe(-11); // EAGAIN: no call
    expect(q.calls).toBe(1);
    native().closeFd(call);
  });

  it('follows used_event with EVENT_IDX: first call unconditional, then only when crossing it', () => {
    const call = native().eventfdCreate(0, true);
    q.callFd = call;
    q.eventIdx = true;
    const one = () => {
      const h = ring.add([{ offset: Layout.TX_BUFS, len: 20 }]);
      q.pop(segs, false, 65536);
      q.push(h, 0);
      q.publish();
      ring.takeUsed();
      return native().eventfdRead(call) > 0;
    };
    ring.setUsedEvent(100);
    expect(one()).toBe(true); // first after start
    expect(one()).toBe(false); // used idx 2, event 100
    ring.setUsedEvent(2);
    expect(one()).toBe(true); // 3 crosses event 2
    native().closeFd(call);
  });

  it('with IN_ORDER writes one used element per batch of transmit chains (virtio 1.1 §2.6.9)', () => {
    q.inOrder = true;
    ring.inOrder = true;
    const heads = [0, 1, 2].map(() => ring.add([{ offset: Layout.TX_BUFS, len: 20 }]));
    new Uint8Array(mem.ab, ring.used + 4, 24).fill(0xff); // stale garbage in the three used slots
    for (const _ of heads) q.pushRead(q.pop(segs, false, 65536));
    q.publish();
    expect(ring.usedIdx()).toBe(3);
    const dv = new DataView(mem.ab);
    expect(dv.getUint32(ring.used + 4, true)).toBe(0xffffffff); // skipped
    expect([dv.getUint32(ring.used + 4 + 16, true), dv.getUint32(ring.used + 4 + 20, true)]).toEqual([heads[2], 0]);
    expect(ring.takeUsed().map((u) => u.id)).toEqual(heads);
  });

  it('asks for kicks with NO_NOTIFY or avail_event', () => {
    q.notify(false);
    expect(ring.usedFlags()).toBe(1);
    q.notify(true);
    expect(ring.usedFlags()).toBe(0);
    q.eventIdx = true;
    ring.add([{ offset: Layout.TX_BUFS, len: 20 }]);
    q.pop(segs, false, 65536);
    q.notify(true);
    expect(ring.availEvent()).toBe(1);
  });

  it('resyncs to used->idx when SET_VRING_BASE disagrees', () => {
    const s = new SplitQueue(0);
    new DataView(mem.ab).setUint16(ring.used + 2, 7, true);
    s.place(gm, 256, mem.uva(ring.desc), mem.uva(ring.avail), mem.uva(ring.used));
    s.start(3);
    expect([s.lastAvail, s.lastUsed]).toEqual([7, 7]);
  });
});
