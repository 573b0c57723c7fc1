// The data path in process, on memfd rings: learning and flooding, merged receive buffers and
// their roll-back (T21), holding a frame for a full receiver, and offloads between ports with
// different features: pass-through, software checksum, software TSO (IPv4 and IPv6), legacy headers.

import { afterEach, expect, it } from 'vitest';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { bit, F } from '../../../harness/vhost-user/protocol/messages.ts';
import { checksumsValid, etherFrame, tcpFrame } from '../../fixtures/vhost-user/frames.ts';
import { closePort, makeSwitch, postRx, received, transmit, type InprocPort } from '../../fixtures/vhost-user/inproc.ts';
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
    expect(a.port.heldOn).toBe(1);
    postRx(b, 4);
    fw.pass();
    const [last] = received(b);
    expect(last!.frame[20]).toBe(etherFrame(M[1]!, M[0]!, 64, 99)[20]);
    expect(a.port.heldOn).toBe(-1);
  });
});
