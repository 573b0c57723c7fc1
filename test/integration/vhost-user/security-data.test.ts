// docs/vhost-user.md §4, data plane (T11-T23), against the real switch process: hostile descriptor
// chains, addresses, ring placement, headers and offload fields written by the attacker into its
// own shared memory. Structural errors break port 0 only; bad buffers drop the frame only; the good
// ports keep forwarding and no fd leaks.

import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { bit, F, Req } from '../../../harness/vhost-user/protocol/messages.ts';
import { AttackRig, EVIL_MAC, GOOD_MACS } from '../../fixtures/vhost-user/attack-rig.ts';
import { etherFrame, tcpFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend, until } from '../../fixtures/vhost-user/frontend.ts';
import { GPA_BASE, Layout, UVA_BASE } from '../../fixtures/vhost-user/guest.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('vhost-user data-plane security tests', nativeUnavailableReason());

const NEXT = 1;
const WRITE = 2;
const INDIRECT = 4;

/** Bytes of a frame to GOOD_MACS[0] with a zero virtio-net header, written at `offset`. */
function stage(fe: FakeFrontend, offset: number, len = 80): number {
  const bytes = new Uint8Array(12 + len);
  bytes.set(etherFrame(GOOD_MACS[0], EVIL_MAC, len), 12);
  fe.mem.u8.set(bytes, offset);
  return bytes.length;
}

function kick(fe: FakeFrontend): void {
  native().eventfdWrite(fe.kick[1]!, 1);
}

function vnet(o: { flags?: number; gsoType?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }): Uint8Array {
  const h = new Uint8Array(12);
  const dv = new DataView(h.buffer);
  h[0] = o.flags ?? 0;
  h[1] = o.gsoType ?? 0;
  dv.setUint16(2, o.hdrLen ?? 0, true);
  dv.setUint16(4, o.gsoSize ?? 0, true);
  dv.setUint16(6, o.csumStart ?? 0, true);
  dv.setUint16(8, o.csumOffset ?? 0, true);
  return h;
}

addon.describe('data-plane hostility (docs/vhost-user.md §4 T11-T23)', () => {
  let rig: AttackRig;
  beforeAll(async () => {
    rig = await AttackRig.start();
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
  });
  afterEach(() => rig?.closeAttackers());

  /** Run one hostile chain; expect port 0 broken (with reason) and everything else fine. */
  async function expectBreaks(build: (fe: FakeFrontend) => void, why: RegExp): Promise<void> {
    const fe = await rig.attackerReady();
    build(fe);
    kick(fe);
    await rig.expectBroken(fe, why);
    await rig.healthy();
    await rig.expectNoFdLeak();
  }

  /** Run one hostile chain; expect it dropped and counted while the port stays up. */
  async function expectDrop(build: (fe: FakeFrontend) => void, drops = 1): Promise<void> {
    const fe = await rig.attackerReady();
    const before = (await rig.sw.stats()).ports[0]!.counters.rxDrops;
    build(fe);
    kick(fe);
    const deadline = Date.now() + 3000;
    for (;;) {
      const s = await rig.sw.stats();
      if (s.ports[0]!.counters.rxDrops - before >= drops) break;
      if (Date.now() > deadline) throw new Error(`no drop counted: ${JSON.stringify(s.ports[0])}`);
    }
    expect(fe.closedByPeer()).toBe(false);
    await until(() => fe.txCompleted() > 0, 3000, 'the dropped chain returned');
    await rig.healthy();
    fe.close();
    await rig.expectNoFdLeak();
  }

  it('T11: a descriptor that chains to itself breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 0);
      fe.tx.putAvail(0);
    }, /loops/));

  it('T11: a two-descriptor cycle breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 1);
      fe.tx.writeDesc(1, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 0);
      fe.tx.putAvail(0);
    }, /loops/));

  it('T11: a cycle inside an indirect table breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 1, Layout.INDIRECT);
      fe.tx.writeDesc(1, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 0, Layout.INDIRECT);
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT), 32, INDIRECT, 0);
      fe.tx.putAvail(0);
    }, /loop in an indirect/));

  it('T12: an avail head >= num breaks the port', () => expectBreaks((fe) => fe.tx.putAvail(300), /names descriptor 300/));

  it('T12: next >= num breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 999);
      fe.tx.putAvail(0);
    }, /names 999/));

  it('T12: next >= the indirect table size breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), 64, NEXT, 5, Layout.INDIRECT);
      fe.tx.writeDesc(1, fe.mem.gpa(Layout.TX_BUFS), 64, 0, 0, Layout.INDIRECT);
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT), 32, INDIRECT, 0);
      fe.tx.putAvail(0);
    }, /names 5 of 2/));

  it('T13: an indirect descriptor inside an indirect table breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT + 512), 16, INDIRECT, 0, Layout.INDIRECT);
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT), 16, INDIRECT, 0);
      fe.tx.putAvail(0);
    }, /inside an indirect/));

  it('T13: INDIRECT together with NEXT breaks the port', () =>
    expectBreaks((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT), 16, INDIRECT | NEXT, 1);
      fe.tx.putAvail(0);
    }, /with NEXT/));

  for (const len of [0, 24, 16 * 257]) {
    it(`T13: an indirect table of ${len} bytes breaks the port`, () =>
      expectBreaks((fe) => {
        fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT), len, INDIRECT, 0);
        fe.tx.putAvail(0);
      }, /indirect table of/));
  }

  it('T13: an indirect table outside guest memory drops the frame only', () =>
    expectDrop((fe) => {
      fe.tx.writeDesc(0, 0x1234_5678_0000, 32, INDIRECT, 0);
      fe.tx.putAvail(0);
    }));

  it('T13: an indirect table straddling two regions drops the frame only', async () => {
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const fe = rig.attacker();
    await fe.setup();
    const cut = Layout.INDIRECT + 16; // the table below is 32 bytes: half in each region
    const regions = [
      { guestPhysAddr: BigInt(GPA_BASE), size: BigInt(cut), userAddr: BigInt(UVA_BASE), mmapOffset: 0n },
      { guestPhysAddr: BigInt(GPA_BASE + cut), size: BigInt(fe.mem.size - cut), userAddr: BigInt(UVA_BASE + cut), mmapOffset: BigInt(cut) },
    ];
    expect(await fe.acked({ request: Req.SET_MEM_TABLE, regions, fds: [fe.mem.fd, fe.mem.fd], needReply: true })).toBe(0n);
    const before = (await rig.sw.stats()).ports[0]!.counters.rxDrops;
    const n = stage(fe, Layout.TX_BUFS);
    fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), 12, 1, 1, Layout.INDIRECT);
    fe.tx.writeDesc(1, fe.mem.gpa(Layout.TX_BUFS + 12), n - 12, 0, 0, Layout.INDIRECT);
    fe.tx.writeDesc(0, fe.mem.gpa(Layout.INDIRECT), 32, INDIRECT, 0);
    fe.tx.putAvail(0);
    kick(fe);
    await until(() => fe.txCompleted() > 0, 3000, 'the chain returned');
    expect((await rig.sw.stats()).ports[0]!.counters.rxDrops - before).toBe(1);
    expect(fe.closedByPeer()).toBe(false);
    await rig.healthy();
  });

  it('T14: a buffer outside every region is dropped', () =>
    expectDrop((fe) => {
      fe.tx.writeDesc(0, GPA_BASE - 0x10000, 92, 0, 0);
      fe.tx.putAvail(0);
    }));

  it('T14: a buffer that starts inside a region but runs past its end is dropped', () =>
    expectDrop((fe) => {
      fe.tx.writeDesc(0, fe.mem.gpa(fe.mem.size - 40), 92, 0, 0);
      fe.tx.putAvail(0);
    }));

  it('T14: an address + length that overflows 2^64 is dropped', () =>
    expectDrop((fe) => {
      fe.tx.writeDesc(0, 2n ** 64n - 16n, 92, 0, 0); // a bigint: as a number it would round to 2^64, i.e. 0
      fe.tx.putAvail(0);
    }));

  it('T14: a zero-length descriptor with a wild address is skipped, the rest of the frame forwarded', async () => {
    const fe = await rig.attackerReady();
    const n = stage(fe, Layout.TX_BUFS);
    fe.tx.writeDesc(0, 0xdead_beef_0000, 0, NEXT, 1);
    fe.tx.writeDesc(1, fe.mem.gpa(Layout.TX_BUFS), n, 0, 0);
    fe.tx.putAvail(0);
    kick(fe);
    const [got] = await rig.good[0].receiveFrames(1);
    expect(got!.frame).toEqual(etherFrame(GOOD_MACS[0], EVIL_MAC, 80));
    await rig.healthy();
  });

  it('T14: a buffer spanning two GPA-adjacent regions is split and forwarded intact', async () => {
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const fe = rig.attacker();
    await fe.setup();
    const cut = Layout.TX_BUFS + 50; // inside the frame below
    const regions = [
      { guestPhysAddr: BigInt(GPA_BASE), size: BigInt(cut), userAddr: BigInt(UVA_BASE), mmapOffset: 0n },
      { guestPhysAddr: BigInt(GPA_BASE + cut), size: BigInt(fe.mem.size - cut), userAddr: BigInt(UVA_BASE + cut), mmapOffset: BigInt(cut) },
    ];
    expect(await fe.acked({ request: Req.SET_MEM_TABLE, regions, fds: [fe.mem.fd, fe.mem.fd], needReply: true })).toBe(0n);
    const frame = etherFrame(GOOD_MACS[0], EVIL_MAC, 300, 7);
    fe.sendFrame(frame);
    const [got] = await rig.good[0].receiveFrames(1);
    expect(got!.frame).toEqual(frame);
    fe.close();
    await rig.expectNoFdLeak();
  });

  const placements: [string, (fe: FakeFrontend) => { desc: number; avail: number; used: number }][] = [
    ['a descriptor table partly outside the region', (fe) => ({ desc: fe.mem.size - 1024, avail: 0x1000, used: 0x2000 })],
    ['a misaligned avail ring', () => ({ desc: 0x8000, avail: 0x9001, used: 0xa000 })],
    ['a misaligned descriptor table', () => ({ desc: 0x8008, avail: 0x9000, used: 0xa000 })],
    ['overlapping used ring and descriptor table', () => ({ desc: 0x8000, avail: 0x9000, used: 0x8800 })],
    ['a used ring outside every region', () => ({ desc: 0x8000, avail: 0x9000, used: -0x1000 })],
  ];
  for (const [what, where] of placements) {
    it(`T15: ${what} is never started`, async () => {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      await fe.setup();
      const p = where(fe);
      fe.send({ request: Req.GET_VRING_BASE, index: 1, needReply: false });
      await fe.reply(Req.GET_VRING_BASE);
      fe.send({ request: Req.SET_VRING_ADDR, index: 1, flags: 0, desc: BigInt(fe.mem.uva(p.desc)), avail: BigInt(fe.mem.uva(p.avail)), used: BigInt(fe.mem.uva(p.used)), log: 0n, needReply: false });
      await rig.expectBroken(fe, /vring 1/);
      await rig.healthy();
    });
  }

  it('T16: TX chains of fewer than 12 bytes, and of exactly the header, are dropped', async () => {
    for (const len of [5, 12]) {
      await expectDrop((fe) => {
        stage(fe, Layout.TX_BUFS);
        fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), len, 0, 0);
        fe.tx.putAvail(0);
      });
    }
  });

  it('T16: a header split into twelve one-byte descriptors, or sharing one with data, is parsed', async () => {
    const fe = await rig.attackerReady();
    const frame = etherFrame(GOOD_MACS[0], EVIL_MAC, 64, 9);
    fe.sendFrame(frame, { pieces: [...Array(12).fill(1), 64] });
    fe.sendFrame(frame, { pieces: [20, 56] });
    const got = await rig.good[0].receiveFrames(2);
    expect(got.map((g) => g.frame)).toEqual([frame, frame]);
  });

  it('T17: bad offload fields are dropped and counted', async () => {
    const fe = await rig.attackerReady();
    const { frame } = tcpFrame({ dst: GOOD_MACS[0], src: EVIL_MAC, payload: 100, partial: true });
    const before = (await rig.sw.stats()).ports[0]!.counters.rxDrops;
    const bad = [
      vnet({ flags: 1, csumStart: frame.length + 10, csumOffset: 16 }),
      vnet({ flags: 1, csumStart: frame.length - 10, csumOffset: 16 }),
      vnet({ flags: 1, gsoType: 1, gsoSize: 0, csumStart: 34, csumOffset: 16 }),
      vnet({ flags: 1, gsoType: 3, gsoSize: 1000, csumStart: 34, csumOffset: 16 }),
      vnet({ flags: 1, gsoType: 0x81, gsoSize: 1000, csumStart: 34, csumOffset: 16 }),
      vnet({ flags: 0, gsoType: 1, gsoSize: 1000 }),
    ];
    for (const v of bad) fe.sendFrame(frame, { vnet: v });
    // hdr_len larger than the frame is never trusted, so it does no harm: forwarded.
    fe.sendFrame(frame, { vnet: vnet({ hdrLen: 60000 }) });
    await rig.good[0].receiveFrames(1);
    const s = await rig.sw.stats();
    expect(s.ports[0]!.counters.rxDrops - before).toBe(bad.length);
    fe.close();
    // NEEDS_CSUM from a port that did not negotiate CSUM.
    const plain = await rig.attackerReady({ features: bit(F.VERSION_1) | bit(F.MRG_RXBUF) });
    const b2 = (await rig.sw.stats()).ports[0]!.counters.rxDrops;
    plain.sendFrame(frame, { vnet: vnet({ flags: 1, csumStart: 34, csumOffset: 16 }) });
    const deadline = Date.now() + 3000;
    while ((await rig.sw.stats()).ports[0]!.counters.rxDrops === b2) if (Date.now() > deadline) throw new Error('not dropped');
    await rig.healthy();
  });

  it('T18: descriptors rewritten while the switch walks them cause no out-of-range work', async () => {
    const fe = await rig.attackerReady();
    const stop = Date.now() + 1500;
    let sent = 0;
    while (Date.now() < stop && !fe.closedByPeer()) {
      const n = stage(fe, Layout.TX_BUFS, 80);
      const head = sent % 128;
      fe.tx.writeDesc(head, fe.mem.gpa(Layout.TX_BUFS), n, 0, 0);
      fe.tx.putAvail(head);
      kick(fe);
      // Flip len/next/flags of the in-flight descriptor in a tight loop while the switch reads it.
      for (let k = 0; k < 2000; k++) {
        fe.tx.writeDesc(head, k & 1 ? 0xffff_ffff_f000 : fe.mem.gpa(Layout.TX_BUFS), k & 2 ? 0xffffffff : n, k & 4 ? NEXT | INDIRECT : 0, k & 0xffff);
      }
      sent++;
      await new Promise((r) => setImmediate(r));
    }
    expect(rig.sw.alive).toBe(true);
    await rig.healthy();
    fe.close();
    await rig.expectNoFdLeak();
  });

  it('T19: an avail index that jumps by more than the ring size breaks the port', () =>
    expectBreaks((fe) => fe.tx.setAvailIdx(fe.tx.availIdx + 1000), /avail index moved/));

  it('T19: garbage in used_event and scribbles on the used ring do no harm', async () => {
    const fe = await rig.attackerReady();
    fe.rx.setUsedEvent(0xbeef);
    fe.mem.u8.fill(0xff, fe.rx.used, fe.rx.used + 64);
    fe.mem.u8.fill(0xff, fe.tx.used + 4, fe.tx.used + 64);
    rig.good[0].sendFrame(etherFrame(EVIL_MAC, GOOD_MACS[0], 64));
    fe.sendFrame(etherFrame(GOOD_MACS[0], EVIL_MAC, 64));
    await rig.good[0].receiveFrames(1);
    await rig.healthy();
  });

  it('T22: a device-writable TX buffer drops the frame; a read-only RX buffer breaks the receiver', async () => {
    await expectDrop((fe) => {
      const n = stage(fe, Layout.TX_BUFS);
      fe.tx.writeDesc(0, fe.mem.gpa(Layout.TX_BUFS), n, WRITE, 0);
      fe.tx.putAvail(0);
    });
    const fe = await rig.attackerReady({ rxBuffers: 0 });
    fe.rx.writeDesc(0, fe.mem.gpa(Layout.RX_BUFS), 2048, 0, 0); // not device-writable
    fe.rx.putAvail(0);
    rig.good[0].sendFrame(etherFrame(EVIL_MAC, GOOD_MACS[0], 64));
    await rig.expectBroken(fe, /not device-writable/);
    await rig.healthy();
  });

  it('T6/§4: a memory file shrunk under the mapping is contained (no SIGBUS death), the port breaks', async () => {
    const fe = await rig.attackerReady();
    native().truncateFd(fe.mem.fd, 0x10000); // the rings survive, every packet buffer is now past the end
    fe.sendFrame(etherFrame(GOOD_MACS[0], EVIL_MAC, 64));
    rig.good[0].sendFrame(etherFrame(EVIL_MAC, GOOD_MACS[0], 64));
    await rig.expectBroken(fe, /SIGBUS/);
    expect(rig.sw.alive).toBe(true);
    await rig.healthy();
  });

  it('T23: a million kicks are coalesced, cost the switch a bounded share of a core, and it keeps forwarding', async () => {
    const fe = await rig.attackerReady();
    // The storm takes about a second from this process; before kicks were throttled, the switch
    // woke and polled for each one and used most of the other core.
    const share = await rig.sw.cpuShare(() => {
      for (let i = 0; i < 1_000_000; i++) native().eventfdWrite(fe.kick[1]!, 1);
    });
    const s0 = await rig.sw.stats();
    console.log(`kick storm: 1,000,000 kicks cost the switch ${(100 * share).toFixed(1)}% of a core; it counted ${s0.ports[0]!.counters.kicks} wake-ups`);
    expect(share).toBeLessThan(0.2);
    await rig.healthy();
    const s = await rig.sw.stats();
    expect(s.ports[0]!.counters.kicks).toBeLessThan(1_000_000);
  });
});

addon.describe('receive-side exhaustion (T20, T21)', () => {
  it('T20: a receiver that never posts buffers costs the sender drops, not its TX buffers or memory', async () => {
    const sw = await SwitchProcess.start(2, ['--hold-ms', '20']);
    const a = FakeFrontend.connect(sw.sockets[0]!);
    const b = FakeFrontend.connect(sw.sockets[1]!);
    try {
      await a.setup();
      await b.setup({ rxBuffers: 0 });
      b.sendFrame(etherFrame(GOOD_MACS[0], GOOD_MACS[1], 64)); // learn b's MAC: a's frames are unicast
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 100; i++) a.sendFrame(etherFrame(GOOD_MACS[1], GOOD_MACS[0], 64, i));
        await until(() => a.txCompleted() >= 0 && a.tx.freeCount === 256, 5000, 'TX buffers returned');
      }
      const s = await sw.stats();
      expect(s.ports[1]!.counters.txDrops).toBe(2000);
      expect(b.rx.usedIdx()).toBe(0);
    } finally {
      a.close();
      b.close();
      await sw.stop();
    }
  });

  it('T21: a merged frame that needs more buffers than are posted is never published in part', async () => {
    const sw = await SwitchProcess.start(2, ['--hold-ms', '60000']);
    const a = FakeFrontend.connect(sw.sockets[0]!);
    const b = FakeFrontend.connect(sw.sockets[1]!);
    try {
      await a.setup();
      await b.setup({ rxBuffers: 2 });
      b.sendFrame(etherFrame(GOOD_MACS[0], GOOD_MACS[1], 64));
      await a.receiveFrames(1);
      const frame = etherFrame(GOOD_MACS[1], GOOD_MACS[0], 5000); // needs three 2 KiB buffers
      a.sendFrame(frame);
      await new Promise((r) => setTimeout(r, 200));
      expect(b.rx.usedIdx()).toBe(0);
      b.postRx(1);
      const [got] = await b.receiveFrames(1);
      expect(got!.frame).toEqual(frame);
      expect(got!.vnet[10]).toBe(3);
    } finally {
      a.close();
      b.close();
      await sw.stop();
    }
  });
});
