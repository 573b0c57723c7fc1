// The data path in process, on memfd rings: learning and flooding, merged receive buffers and
// their roll-back (T21), holding a frame for a full receiver, and offloads between ports with
// different features: pass-through, software checksum, software TSO (IPv4 and IPv6), legacy headers.

import { afterEach, expect, it } from 'vitest';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { bit, F } from '../../../harness/vhost-user/protocol/messages.ts';
import { checksumsValid, etherFrame, tcpFrame } from '../../fixtures/vhost-user/frames.ts';
import { closePort, makePort, makeSwitch, postRx, received, transmit, type InprocPort } from '../../fixtures/vhost-user/inproc.ts';
import { Forwarder } from '../../../harness/vhost-user/forwarder.ts';
import { DEFAULT_FEATURES } from '../../../harness/vhost-user/features.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('forwarder tests', nativeUnavailableReason());

const M = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];
const RING = bit(F.VERSION_1) | bit(F.MRG_RXBUF) | bit(F.INDIRECT_DESC) | bit(F.EVENT_IDX);
const CSUM = bit(F.CSUM) | bit(F.GUEST_CSUM);
const TSO = bit(F.HOST_TSO4) | bit(F.HOST_TSO6) | bit(F.GUEST_TSO4) | bit(F.GUEST_TSO6);
const HOST_ONLY = bit(F.CSUM) | bit(F.HOST_TSO4) | bit(F.HOST_TSO6);

function vnet(flags: number, gsoType: number, gsoSize: number, csumStart: number, csumOffset: number): Uint8Array {
  const h = new Uint8Array(12);
  const dv = new DataView(h.buffer);
  h[0] = flags;
  h[1] = gsoType;
  dv.setUint16(4, gsoSize, true);
  dv.setUint16(6, csumStart, true);
  dv.setUint16(8, csumOffset, true);
  return h;
}

addon.describe('Forwarder (in process)', () => {
  let ports: InprocPort[] = [];
  afterEach(() => {
    ports.forEach(closePort);
    ports = [];
  });

  function rig(n: number, features?: bigint[]) {
    const s = makeSwitch(n, features);
    ports = s.ports;
    ports.forEach((p) => postRx(p, 64));
    return s;
  }

  /** Two ports, b's MAC learned (so a's frames to it are unicast) and b with no receive buffers yet; broken ports recorded. */
  function learnedPair() {
    const sw = makeSwitch(2);
    ports = sw.ports;
    const [a, b] = sw.ports as [InprocPort, InprocPort];
    const broken: string[] = [];
    sw.fw.onBroken = (p, why) => broken.push(`${p.id}: ${why}`);
    postRx(a, 8);
    transmit(b, etherFrame(M[0]!, M[1]!, 64));
    sw.fw.pass();
    return { sw, a, b, broken };
  }

  it('floods unknown and broadcast destinations, then forwards learned ones only', () => {
    const { fw } = rig(3);
    const [a, b, c] = ports as [InprocPort, InprocPort, InprocPort];
    transmit(a, etherFrame(M[1]!, M[0]!, 64));
    fw.pass();
    expect([received(b).length, received(c).length]).toEqual([1, 1]);
    transmit(b, etherFrame(M[0]!, M[1]!, 64));
    fw.pass();
    expect([received(a).length, received(c).length]).toEqual([1, 0]);
    transmit(a, etherFrame(M[1]!, M[0]!, 64));
    fw.pass();
    expect([received(b).length, received(c).length]).toEqual([1, 0]);
    expect(a.tx.takeUsed()).toHaveLength(2); // TX buffers returned with len 0
    expect(a.port.c.rxPackets).toBe(2);
  });

  it('merges receive buffers for a large frame and rolls back when too few are posted (T21)', () => {
    const sw = makeSwitch(2);
    ports = sw.ports;
    const [x, y] = sw.ports as [InprocPort, InprocPort];
    transmit(y, etherFrame(M[0]!, M[1]!, 64)); // learn y's MAC: x's frame below is unicast
    sw.fw.pass();
    postRx(y, 2); // the frame needs 3
    const big = etherFrame(M[1]!, M[0]!, 5000);
    transmit(x, big);
    sw.fw.pass();
    expect(y.rx.usedIdx()).toBe(0); // nothing partial was published
    expect(x.tx.usedIdx()).toBe(0); // held: the frame waits in x's ring
    postRx(y, 1);
    sw.fw.pass();
    const [got] = received(y);
    expect(got!.frame).toEqual(big);
    expect(got!.vnet[10]).toBe(3);
  });

  it('drops a frame that a non-mergeable receiver cannot hold in one buffer, keeping the buffer', () => {
    const { fw } = rig(2, [RING | CSUM, bit(F.VERSION_1)]);
    const [a, b] = ports as [InprocPort, InprocPort];
    transmit(a, etherFrame(M[1]!, M[0]!, 3000));
    fw.pass();
    expect(b.port.c.txDrops).toBe(1);
    expect(b.rx.usedIdx()).toBe(0);
    transmit(a, etherFrame(M[1]!, M[0]!, 1000), undefined, 0x10_0000 + 4096);
    fw.pass();
    expect(received(b).map((r) => r.frame.length)).toEqual([1000]);
  });

  it('speaks the 10-byte legacy header to a port without VERSION_1 and MRG_RXBUF', () => {
    const { fw } = rig(2, [RING, 0n]);
    const [a, b] = ports as [InprocPort, InprocPort];
    expect(b.hdrLen).toBe(10);
    const f = etherFrame(M[1]!, M[0]!, 100);
    transmit(a, f);
    fw.pass();
    expect(received(b)[0]!.frame).toEqual(f);
    const g = etherFrame(M[0]!, M[1]!, 100);
    transmit(b, g);
    fw.pass();
    expect(received(a)[0]!.frame).toEqual(g);
  });

  it('passes partial checksums to GUEST_CSUM ports and finishes them for the others', () => {
    const { fw } = rig(3, [RING | CSUM, RING | CSUM, RING]);
    const [a, b, c] = ports as [InprocPort, InprocPort, InprocPort];
    const { frame, l4, csumOffset } = tcpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: M[0]!, payload: 333, partial: true });
    transmit(a, frame, vnet(1, 0, 0, l4, csumOffset));
    fw.pass();
    const [toB] = received(b);
    expect(toB!.vnet[0]).toBe(1);
    expect(toB!.frame).toEqual(frame);
    const [toC] = received(c);
    expect(toC!.vnet[0]).toBe(0);
    expect(checksumsValid(toC!.frame)).toBe(true);
    expect(c.port.c.softwareChecksums).toBe(1);
  });

  for (const ipv6 of [false, true]) {
    it(`forwards TSO frames whole to GUEST_TSO ports and segments them for others (${ipv6 ? 'IPv6' : 'IPv4'})`, () => {
      const { fw } = rig(3, [RING | CSUM | TSO, RING | CSUM | TSO, RING | CSUM]);
      const [a, b, c] = ports as [InprocPort, InprocPort, InprocPort];
      postRx(b, 64);
      const mss = 1448;
      const { frame, l4, csumOffset } = tcpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: M[0]!, payload: 20000, ipv6, partial: true, flags: 0x19, seq: 4000 });
      transmit(a, frame, vnet(1, ipv6 ? 4 : 1, mss, l4, csumOffset), 0x30_0000);
      fw.pass();
      const [whole] = received(b);
      expect(whole!.frame).toEqual(frame);
      expect(whole!.vnet[1]).toBe(ipv6 ? 4 : 1);
      const segs = received(c);
      expect(segs).toHaveLength(Math.ceil(20000 / mss));
      let payload = 0;
      segs.forEach((s, k) => {
        expect(checksumsValid(s.frame)).toBe(true);
        const dv = new DataView(s.frame.buffer);
        expect(dv.getUint32(l4 + 4)).toBe(4000 + k * mss);
        expect(s.frame[l4 + 13]! & 0x09).toBe(k === segs.length - 1 ? 0x09 : 0); // FIN|PSH only on the last
        payload += s.frame.length - l4 - 20;
        expect(s.frame.length - l4 - 20).toBeLessThanOrEqual(mss);
        expect(s.vnet[0]).toBe(2); // DATA_VALID: the receiver has GUEST_CSUM
        if (!ipv6) expect(dv.getUint16(18)).toBe((0x1234 + k) & 0xffff);
      });
      expect(payload).toBe(20000);
      expect(c.port.c.softwareSegmented).toBe(1);
    });
  }

  it('never sends offload fields to a port that did not negotiate them', () => {
    const { fw } = rig(2, [RING | HOST_ONLY, RING]);
    const [a, b] = ports as [InprocPort, InprocPort];
    postRx(b, 64);
    const { frame, l4, csumOffset } = tcpFrame({ dst: M[1]!, src: M[0]!, payload: 6000, partial: true });
    transmit(a, frame, vnet(1, 1, 1000, l4, csumOffset), 0x30_0000);
    fw.pass();
    const segs = received(b);
    expect(segs).toHaveLength(6);
    for (const s of segs) {
      expect([s.vnet[0], s.vnet[1]]).toEqual([0, 0]);
      expect(checksumsValid(s.frame)).toBe(true);
    }
  });

  it('drops a frame that needs more receive pieces than a reservation may hold, and keeps the port (TOO_BIG)', () => {
    const { sw, a, b, broken } = learnedPair();
    // 200 receive chains of four 64-byte pieces each (indirect tables): a 40000-byte frame needs
    // 157 chains, 628 pieces, more than one reservation may have; 200 chains are there.
    for (let i = 0; i < 200; i++) {
      const bufs = [0, 1, 2, 3].map((k) => ({ offset: 0x1_0000 + (i * 4 + k) * 64, len: 64, write: true }));
      b.rx.add(bufs, 0x20_0000 + i * 64);
    }
    transmit(a, etherFrame(M[1]!, M[0]!, 40000), undefined, 0x30_0000);
    sw.fw.pass();
    expect(broken).toEqual([]);
    expect(b.port.rx.ready).toBe(true);
    expect(b.port.c.txDrops).toBe(1);
    expect(b.rx.usedIdx()).toBe(0); // no receive buffer was used up
    expect(a.tx.takeUsed()).toHaveLength(1); // the transmit buffer came back
    // The port still takes frames that fit.
    transmit(a, etherFrame(M[1]!, M[0]!, 100));
    sw.fw.pass();
    expect(b.rx.usedIdx()).toBe(1);
  });

  it('counts a TSO frame as segmented in software only when every segment was delivered', () => {
    const { fw } = rig(2, [RING | CSUM | TSO, RING | CSUM]);
    const [a, b] = ports as [InprocPort, InprocPort];
    received(b);
    const { frame, l4, csumOffset } = tcpFrame({ dst: 'ff:ff:ff:ff:ff:ff', src: M[0]!, payload: 6000, partial: true });
    // b has 64 buffers: first a frame that fits, then one that does not (6 segments, 3 buffers left).
    transmit(a, frame, vnet(1, 1, 1000, l4, csumOffset), 0x30_0000);
    fw.pass();
    expect(received(b)).toHaveLength(6);
    expect(b.port.c.softwareSegmented).toBe(1);
    for (let i = 0; i < 55; i++) transmit(a, etherFrame(M[1]!, M[0]!, 64, i), undefined, 0x10_0000 + (i % 32) * 2048);
    fw.pass();
    fw.pass();
    received(b);
    transmit(a, frame, vnet(1, 1, 1000, l4, csumOffset), 0x30_0000);
    fw.pass();
    expect(received(b)).toHaveLength(3);
    expect(b.port.c.softwareSegmented).toBe(1); // the second frame lost 3 of its segments
    expect(b.port.c.txDrops).toBe(3);
  });

  it('takes simple frames in bursts, and leaves a frame at an address beyond 2^53 to the checked path', () => {
    const { fw } = rig(2);
    const [a, b] = ports as [InprocPort, InprocPort];
    transmit(b, etherFrame(M[0]!, M[1]!, 64));
    fw.pass();
    received(a);
    for (let i = 0; i < 10; i++) transmit(a, etherFrame(M[1]!, M[0]!, 64, i), undefined, 0x10_0000 + i * 2048);
    // Frame 5's descriptor is rewritten with a real 64-bit address whose address + length wraps.
    a.tx.writeDesc(5, 2n ** 64n - 16n, 76, 0, 0);
    fw.pass();
    const got = received(b);
    expect(got.map((r) => r.frame[20])).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9].map((i) => etherFrame(M[1]!, M[0]!, 64, i)[20]));
    expect(a.port.c.rxDrops).toBe(1);
    expect(a.tx.takeUsed()).toHaveLength(10);
  });

  it('breaks a receiver whose receive descriptor holds an address beyond 2^53', () => {
    const { sw, a, b, broken } = learnedPair();
    b.rx.add([{ offset: 0, len: 2048, write: true, rawAddr: 2n ** 64n - 16n }]);
    transmit(a, etherFrame(M[1]!, M[0]!, 64));
    sw.fw.pass();
    expect(broken).toEqual(['1: receive buffer address at or beyond 2^53']);
  });

  it('spreads flows over the receive queues of a multi-queue port, each flow on one queue and in order', () => {
    const feat = DEFAULT_FEATURES & ~bit(F.PROTOCOL_FEATURES);
    const a = makePort(0, feat, 256, 2);
    const b = makePort(1, feat, 256, 2);
    ports = [a, b];
    const fw = new Forwarder([a.port, b.port]);
    const rxAt = (queue: number, head: number) => 0x1_0000 + (queue * 64 + head) * 2048;
    b.rxs.forEach((r, queue) => {
      for (let i = 0; i < 64; i++) r.add([{ offset: rxAt(queue, i), len: 2048, write: true }]);
    });
    transmit(b, etherFrame(M[0]!, M[1]!, 64)); // learn b
    fw.pass();
    // 8 flows (TCP source ports), 6 frames each, sent alternately on a's two transmit queues.
    let slot = 0;
    for (let k = 0; k < 6; k++) {
      for (let f = 0; f < 8; f++) {
        const { frame } = tcpFrame({ dst: M[1]!, src: M[0]!, payload: 40, srcPort: 40000 + f, seq: k });
        const at = 0x10_0000 + (slot++ % 128) * 2048;
        a.mem.u8.fill(0, at, at + 12);
        a.mem.u8.set(frame, at + 12);
        a.txs[f % 2]!.add([{ offset: at, len: 12 + frame.length }]);
      }
    }
    fw.pass();
    fw.pass();
    const seen = new Map<number, { queue: number; seqs: number[] }>();
    b.rxs.forEach((r, queue) => {
      for (const u of r.takeUsed()) {
        const off = rxAt(queue, u.id);
        const dv = new DataView(b.mem.ab, off + 12);
        const port = dv.getUint16(34);
        const flow = seen.get(port) ?? { queue, seqs: [] };
        expect(flow.queue).toBe(queue); // a flow never changes queue
        flow.seqs.push(dv.getUint32(38));
        seen.set(port, flow);
      }
    });
    expect(seen.size).toBe(8);
    for (const { seqs } of seen.values()) expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
    expect(new Set([...seen.values()].map((v) => v.queue)).size).toBe(2); // both queues carry flows
    expect(b.port.rxq.map((q) => q.frames)).toEqual(b.rxs.map((r) => [...seen.values()].filter((v) => v.queue === b.rxs.indexOf(r)).length * 6));
  });

  it('holds a unicast frame for a full receiver and delivers it once buffers come back', () => {
    const { fw } = rig(2);
    const [a, b] = ports as [InprocPort, InprocPort];
    transmit(b, etherFrame(M[0]!, M[1]!, 64)); // learn b
    fw.pass();
    received(a);
    // Use up b's 64 buffers, then send one more.
    for (let i = 0; i < 64; i++) transmit(a, etherFrame(M[1]!, M[0]!, 64, i), undefined, 0x10_0000 + i * 2048);
    fw.pass();
    fw.pass();
    transmit(a, etherFrame(M[1]!, M[0]!, 64, 99), undefined, 0x10_0000 + 100 * 2048);
    fw.pass();
    expect(received(b)).toHaveLength(64);
    expect(a.port.tx.heldOn).toBe(b.port.rx);
    postRx(b, 4);
    fw.pass();
    const [last] = received(b);
    expect(last!.frame[20]).toBe(etherFrame(M[1]!, M[0]!, 64, 99)[20]);
    expect(a.port.tx.heldOn).toBeNull();
  });
});
