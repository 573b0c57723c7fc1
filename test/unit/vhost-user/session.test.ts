// Feature negotiation and the session's gates, in process over a real socketpair: what is offered,
// what is refused (bits never offered, broken dependencies, unknown protocol bits), and that rings
// become ready only when every gate holds, whatever the order.

import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_FEATURES, featureNames, featureProblem, PROTOCOL_FEATURES, usableFeatures } from '../../../harness/vhost-user/features.ts';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { Port } from '../../../harness/vhost-user/port.ts';
import { bit, F, PF, Req } from '../../../harness/vhost-user/protocol/messages.ts';
import { Session } from '../../../harness/vhost-user/session.ts';
import { FakeFrontend, until } from '../../fixtures/vhost-user/frontend.ts';
import { DriverRing, Layout } from '../../fixtures/vhost-user/guest.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('session tests', nativeUnavailableReason());

describe('feature negotiation', () => {
  it('refuses only bits never offered', () => {
    expect(featureProblem(bit(F.VERSION_1) | bit(F.CSUM) | bit(F.HOST_TSO4), DEFAULT_FEATURES)).toBeUndefined();
    expect(featureProblem(bit(F.RING_PACKED), DEFAULT_FEATURES)).toMatch(/never offered: RING_PACKED/);
    expect(featureProblem(bit(F.HOST_TSO4), DEFAULT_FEATURES)).toBeUndefined();
    expect(featureNames(bit(F.VERSION_1) | bit(F.MRG_RXBUF))).toBe('MRG_RXBUF VERSION_1');
  });

  it('takes a feature acked without the one it requires as not negotiated, and says which (a guest on a csum=off device acks HOST_TSO4)', () => {
    const full = bit(F.VERSION_1) | bit(F.CSUM) | bit(F.HOST_TSO4) | bit(F.GUEST_CSUM) | bit(F.GUEST_TSO6);
    expect(usableFeatures(full)).toEqual({ usable: full, ignored: [] });
    const noCsum = bit(F.VERSION_1) | bit(F.HOST_TSO4) | bit(F.HOST_TSO6) | bit(F.GUEST_CSUM) | bit(F.GUEST_TSO4);
    expect(usableFeatures(noCsum)).toEqual({ usable: bit(F.VERSION_1) | bit(F.GUEST_CSUM) | bit(F.GUEST_TSO4), ignored: ['HOST_TSO4 without CSUM', 'HOST_TSO6 without CSUM'] });
    expect(usableFeatures(bit(F.GUEST_TSO6)).ignored).toEqual(['GUEST_TSO6 without GUEST_CSUM']);
  });
});

addon.describe('Session over a socketpair', () => {
  const open: { fe: FakeFrontend; session: Session }[] = [];
  afterEach(() => {
    for (const o of open) {
      o.session.close();
      o.fe.close();
    }
    open.length = 0;
  });

  function pair(features = DEFAULT_FEATURES) {
    const [ours, theirs] = native().socketPair(true);
    const port = new Port(0, 'pair');
    const ends: (string | undefined)[] = [];
    const wakes: number[] = [];
    const logs: string[] = [];
    const session = new Session(port, ours, { features, log: (l) => logs.push(l), wake: () => wakes.push(1) }, (r) => ends.push(r ?? 'clean'));
    const fe = new FakeFrontend(theirs);
    open.push({ fe, session });
    return { fe, port, ends, wakes, logs };
  }

  it('offers the configured features, REPLY_ACK+MQ, and one queue pair', async () => {
    const { fe } = pair();
    expect(await fe.getU64(Req.GET_FEATURES)).toBe(DEFAULT_FEATURES);
    expect(await fe.getU64(Req.GET_PROTOCOL_FEATURES)).toBe(PROTOCOL_FEATURES);
    expect(PROTOCOL_FEATURES & bit(PF.INBAND_NOTIFICATIONS)).toBe(0n);
    expect(await fe.getU64(Req.GET_QUEUE_NUM)).toBe(1n);
  });

  it('refuses features never offered by closing', async () => {
    {
      const { fe, ends } = pair();
      fe.send({ request: Req.SET_FEATURES, features: bit(F.RING_PACKED), needReply: false });
      await until(() => fe.closedByPeer(), 2000, 'close');
      expect(ends[0]).toMatch(/SET_FEATURES/);
    }
    const { fe, ends } = pair();
    fe.send({ request: Req.SET_PROTOCOL_FEATURES, features: bit(PF.STATUS), needReply: false });
    await until(() => fe.closedByPeer(), 2000, 'close');
    expect(ends[0]).toMatch(/never offered/);
  });

  it('keeps the connection when a feature is acked without the one it needs, and does not act on it', async () => {
    const { fe, port, logs } = pair();
    fe.send({ request: Req.SET_FEATURES, features: bit(F.GUEST_TSO4) | bit(F.VERSION_1), needReply: false });
    await fe.getU64(Req.GET_QUEUE_NUM);
    expect(fe.closedByPeer()).toBe(false);
    expect(logs.join('\n')).toMatch(/taken as not negotiated, since virtio requires what they need: GUEST_TSO4 without GUEST_CSUM/);
    expect(port.features.guestTso4).toBe(false);
  });

  it('logs and applies negotiated features', async () => {
    const { fe, port, logs } = pair();
    fe.send({ request: Req.SET_FEATURES, features: bit(F.VERSION_1) | bit(F.EVENT_IDX) | bit(F.INDIRECT_DESC), needReply: false });
    await fe.getU64(Req.GET_QUEUE_NUM);
    expect(logs.join('\n')).toMatch(/negotiated features 0x130000000: INDIRECT_DESC EVENT_IDX VERSION_1/);
    expect([port.features.hdrLen, port.features.eventIdx, port.rx.eventIdx, port.tx.indirect]).toEqual([12, true, true, true]);
  });

  it('makes rings ready only after every gate, in either order, and stops them on GET_VRING_BASE', async () => {
    for (const order of ['virtio-user', 'qemu'] as const) {
      const { fe, port, wakes } = pair();
      await fe.setup({ order });
      expect([port.rx.ready, port.tx.ready]).toEqual([true, true]);
      expect(wakes.length).toBeGreaterThan(0);
      expect(await fe.getVringBase(1)).toBe(0);
      expect(port.tx.ready).toBe(false);
      expect(port.rx.ready).toBe(true);
    }
  });

  it('without PROTOCOL_FEATURES, a kicked ring is enabled without SET_VRING_ENABLE', async () => {
    const p2 = pair();
    const f2 = p2.fe;
    f2.send({ request: Req.SET_OWNER, needReply: false });
    f2.send({ request: Req.SET_FEATURES, features: bit(F.VERSION_1), needReply: false });
    f2.send(f2.memTable());
    f2.rx = new DriverRing(f2.mem, Layout.RING_BASE, 256);
    f2.tx = new DriverRing(f2.mem, Layout.RING_BASE + 0x4000, 256);
    for (const index of [0, 1]) {
      for (const m of f2.vringMessages(index)) f2.send(m);
      f2.send({ request: Req.SET_VRING_CALL, index, fd: f2.call[index]!, needReply: false });
    }
    await f2.getU64(Req.GET_QUEUE_NUM);
    expect([p2.port.rx.ready, p2.port.tx.ready]).toEqual([true, true]);
  });
});
