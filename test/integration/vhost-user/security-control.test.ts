// docs/vhost-user.md §4, control plane (T1-T10), against the real switch process. Port 0 is hostile;
// ports 1 and 2 must keep forwarding; the switch must not crash, hang or leak fds.

import { closeSync, openSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUEUE_PAIRS } from '../../../harness/vhost-user/features.ts';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { encodeRequest } from '../../../harness/vhost-user/protocol/codec.ts';
import { bit, F, HEADER_SIZE, PF, Req, type Message } from '../../../harness/vhost-user/protocol/messages.ts';
import { AttackRig } from '../../fixtures/vhost-user/attack-rig.ts';
import { GPA_BASE, GuestMem, UVA_BASE } from '../../fixtures/vhost-user/guest.ts';
import { until } from '../../fixtures/vhost-user/frontend.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('vhost-user control-plane security tests', nativeUnavailableReason());

function header(request: number, flags: number, size: number): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, request, true);
  dv.setUint32(4, flags, true);
  dv.setUint32(8, size, true);
  return b;
}

function frame(request: number, flags: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE + payload.length);
  b.set(header(request, flags, payload.length));
  b.set(payload, HEADER_SIZE);
  return b;
}

const u64 = (v: bigint) => {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setBigUint64(0, v, true);
  return p;
};
const state = (index: number, num: number) => {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setUint32(0, index, true);
  new DataView(p.buffer).setUint32(4, num, true);
  return p;
};

addon.describe('control-plane hostility (docs/vhost-user.md §4 T1-T10)', () => {
  let rig: AttackRig;
  beforeAll(async () => {
    rig = await AttackRig.start();
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
  });
  afterEach(() => rig?.closeAttackers());

  it('T1: unexpected fds are closed with the connection, MSG_CTRUNC drops it, the fd count stays flat', async () => {
    const spare = native().memfdCreate('spare', 4096);
    for (let i = 0; i < 300; i++) {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      fe.sendRaw(encodeRequest({ request: Req.GET_FEATURES, needReply: false }).bytes, Array(8).fill(spare));
      await until(() => fe.closedByPeer(), 3000, 'close after unexpected fds');
      fe.close();
    }
    const fe = rig.attacker();
    fe.sendRaw(encodeRequest({ request: Req.GET_FEATURES, needReply: false }).bytes, Array(20).fill(spare)); // > 8: MSG_CTRUNC
    await rig.expectBroken(fe, /MSG_CTRUNC|fds/);
    native().closeFd(spare);
    await rig.expectNoFdLeak();
    await rig.healthy();
  });

  it('T2: repeated NUM, MEM_TABLE (same and new) and CALL/KICK with new fds do not grow fds or memory', async () => {
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const fe = rig.attacker();
    const rssBefore = rss(rig.sw.pid);
    for (let i = 0; i < 20000; i++) fe.send({ request: Req.SET_VRING_NUM, index: i % 2, num: 1 << (i % 16), needReply: false });
    await fe.getU64(Req.GET_QUEUE_NUM);
    await fe.setup();
    const fdsBefore = rig.sw.fdCount();
    for (let i = 0; i < 100; i++) expect(await fe.acked(fe.memTable())).toBe(0n); // unchanged: short-circuit
    for (let i = 0; i < 30; i++) {
      // A genuinely new table: the same memory described as two regions, alternating the split.
      const half = fe.mem.size / 2 + (i % 2 === 0 ? 0 : 4096);
      const regions = [
        { guestPhysAddr: BigInt(GPA_BASE), size: BigInt(half), userAddr: BigInt(UVA_BASE), mmapOffset: 0n },
        { guestPhysAddr: BigInt(GPA_BASE + half), size: BigInt(fe.mem.size - half), userAddr: BigInt(UVA_BASE + half), mmapOffset: BigInt(half) },
      ];
      expect(await fe.acked({ request: Req.SET_MEM_TABLE, regions, fds: [fe.mem.fd, fe.mem.fd], needReply: true })).toBe(0n);
    }
    expect(await fe.acked(fe.memTable())).toBe(0n); // back to one region (one fd)
    for (let i = 0; i < 500; i++) {
      const e = native().eventfdCreate(0, true);
      fe.send({ request: i % 2 ? Req.SET_VRING_CALL : Req.SET_VRING_KICK, index: i % 2, fd: e, needReply: false });
      native().closeFd(e);
    }
    fe.send({ request: Req.SET_VRING_KICK, index: 1, fd: fe.kick[1]!, needReply: false });
    fe.send({ request: Req.SET_VRING_CALL, index: 0, fd: fe.call[0]!, needReply: false });
    await fe.getU64(Req.GET_QUEUE_NUM);
    expect(rig.sw.fdCount()).toBeLessThanOrEqual(fdsBefore);
    expect(rss(rig.sw.pid) - rssBefore).toBeLessThan(64 * 1024 * 1024);
    // Still a working port after all that: a frame goes through.
    fe.sendFrame(etherFrame('02:00:00:00:01:01', '02:00:00:00:0e:01', 80));
    await rig.good[0].receiveFrames(1);
    fe.close();
    await rig.expectNoFdLeak();
  });

  const badIndex: [string, (i: number) => Uint8Array][] = [
    ['SET_VRING_NUM', (i) => frame(Req.SET_VRING_NUM, 1, state(i, 256))],
    ['SET_VRING_ADDR', (i) => { const p = new Uint8Array(40); new DataView(p.buffer).setUint32(0, i, true); return frame(Req.SET_VRING_ADDR, 1, p); }],
    ['SET_VRING_BASE', (i) => frame(Req.SET_VRING_BASE, 1, state(i, 0))],
    ['GET_VRING_BASE', (i) => frame(Req.GET_VRING_BASE, 1, state(i, 0))],
    ['SET_VRING_ENABLE', (i) => frame(Req.SET_VRING_ENABLE, 1, state(i, 1))],
  ];
  for (const [name, make] of badIndex) {
    it(`T3: ${name} with vring index 0x100, 0x10000, 0xffffffff is refused (never truncated)`, async () => {
      for (const index of [0x100, 0x10000, 0xffffffff]) {
        await rig.sw.waitPortState(0, ['listening', 'broken']);
        const fe = rig.attacker();
        fe.sendRaw(make(index));
        await rig.expectBroken(fe, /vring index/);
      }
      await rig.healthy();
    });
  }

  it('T3: KICK/CALL u64 with bits above 8 set is refused', async () => {
    for (const req of [Req.SET_VRING_KICK, Req.SET_VRING_CALL, Req.SET_VRING_ERR]) {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      fe.sendRaw(frame(req, 1, u64(0x200n | 0x100n)));
      await rig.expectBroken(fe, /undefined bits/);
    }
    await rig.expectNoFdLeak();
  });

  it('T4: oversized, undersized and truncated payloads close the connection; split headers reassemble', async () => {
    const cases: [Uint8Array, RegExp][] = [
      [header(Req.GET_FEATURES, 1, 0xffffffff), /exceeds/],
      [header(Req.SET_MEM_TABLE, 1, 0x1001), /exceeds/],
      [frame(Req.SET_VRING_ADDR, 1, new Uint8Array(8)), /expected 40/],
      [frame(Req.SET_FEATURES, 1, new Uint8Array(4)), /expected 8/],
      [frame(Req.GET_FEATURES, 1, new Uint8Array(8)), /expected 0/],
    ];
    for (const [bytes, why] of cases) {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      fe.sendRaw(bytes);
      await rig.expectBroken(fe, why);
    }
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const trunc = rig.attacker();
    trunc.sendRaw(frame(Req.SET_VRING_ADDR, 1, new Uint8Array(40)).subarray(0, 30));
    native().closeFd(trunc.fd); // EOF in the middle of a message
    await rig.sw.waitPortState(0, 'broken');
    trunc.close = () => undefined;
    // A header delivered in three pieces is still one message.
    const split = rig.attacker();
    const bytes = frame(Req.GET_QUEUE_NUM, 1, new Uint8Array(0));
    await rig.sw.waitPortState(0, 'connected');
    for (const [a, b] of [[0, 5], [5, 9], [9, 12]] as const) {
      split.sendRaw(bytes.subarray(a, b));
      await new Promise((r) => setTimeout(r, 20));
    }
    const p = await split.reply(Req.GET_QUEUE_NUM);
    expect(new DataView(p.buffer, p.byteOffset).getBigUint64(0, true)).toBe(BigInt(DEFAULT_QUEUE_PAIRS));
    split.close();
    await rig.expectNoFdLeak();
  });

  it('T5: a version other than 1, reserved flag bits or the REPLY bit are refused', async () => {
    for (const flags of [0, 2, 3, 1 | 0x10, 1 | 0x100, 1 | 0x4]) {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      fe.sendRaw(header(Req.GET_FEATURES, flags, 0));
      await rig.expectBroken(fe);
    }
    await rig.healthy();
  });

  it('T6: bad memory tables are refused before mmap, with a non-zero REPLY_ACK', async () => {
    const mem = new GuestMem(1 << 20, 'small');
    const [sa, sb] = native().socketPair(true);
    const devNull = openSync('/dev/null', 'r');
    const r = (gpa: bigint, size: bigint, uva: bigint, off: bigint) => ({ guestPhysAddr: gpa, size, userAddr: uva, mmapOffset: off });
    const M = 1n << 20n;
    const bad: [string, ReturnType<typeof r>[], number[]][] = [
      ['size 0', [r(0n, 0n, 0n, 0n)], [mem.fd]],
      ['gpa overflow', [r(0xffff_ffff_ffff_f000n, 0x2000n, 0n, 0n)], [mem.fd]],
      ['uva overflow', [r(0n, 0x1000n, 0xffff_ffff_ffff_ff00n, 0n)], [mem.fd]],
      ['offset overflow', [r(0n, 0x1000n, 0n, 0xffff_ffff_ffff_f000n)], [mem.fd]],
      ['overlapping gpa', [r(0n, M / 2n, 0n, 0n), r(M / 4n, M / 2n, M, 0n)], [mem.fd, mem.fd]],
      ['overlapping uva', [r(0n, M / 2n, 0n, 0n), r(M, M / 2n, M / 4n, 0n)], [mem.fd, mem.fd]],
      ['bigger than the file', [r(0n, 2n * M, 0n, 0n)], [mem.fd]],
      ['offset past the file', [r(0n, M, 0n, M)], [mem.fd]],
      ['a socket', [r(0n, 4096n, 0n, 0n)], [sa]],
      ['/dev/null', [r(0n, 4096n, 0n, 0n)], [devNull]],
    ];
    for (const [what, regions, fds] of bad) {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      fe.send({ request: Req.SET_FEATURES, features: bit(F.PROTOCOL_FEATURES), needReply: false });
      fe.send({ request: Req.SET_PROTOCOL_FEATURES, features: bit(PF.REPLY_ACK), needReply: false });
      expect(await fe.acked({ request: Req.SET_MEM_TABLE, regions, fds, needReply: true }), what).not.toBe(0n);
      await rig.expectBroken(fe, /SET_MEM_TABLE/);
    }
    for (const [n, fds] of [[0, []], [9, Array(8).fill(mem.fd)], [2, [mem.fd]]] as const) {
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      const p = new Uint8Array(8 + 32 * Math.max(n, 1));
      new DataView(p.buffer).setUint32(0, n, true);
      fe.sendRaw(frame(Req.SET_MEM_TABLE, 1, p.subarray(0, 8 + 32 * n)), [...fds]);
      await rig.expectBroken(fe, /SET_MEM_TABLE/);
    }
    mem.close();
    native().closeFd(sa);
    native().closeFd(sb);
    closeSync(devNull);
    await rig.expectNoFdLeak();
    await rig.healthy();
  });

  it('T7: requests of features never negotiated are refused politely, fds closed, connection kept', async () => {
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const fe = rig.attacker();
    fe.send({ request: Req.SET_FEATURES, features: bit(F.PROTOCOL_FEATURES), needReply: false });
    fe.send({ request: Req.SET_PROTOCOL_FEATURES, features: bit(PF.REPLY_ACK), needReply: false });
    const e = native().eventfdCreate(0, true);
    // SET_LOG_BASE, SET_LOG_FD, IOTLB_MSG, SET_CONFIG, POSTCOPY_ADVISE, GET/SET_INFLIGHT_FD, and nonsense ids.
    for (let round = 0; round < 50; round++) {
      for (const id of [6, 7, 22, 25, 28, 31, 32, 40, 1000, 0]) {
        const payload = new Uint8Array(round % 3 === 0 ? 64 : 8);
        fe.sendRaw(frame(id, 1 | 8, payload), [e, e]);
        const p = await fe.reply(id);
        expect(new DataView(p.buffer, p.byteOffset).getBigUint64(0, true)).not.toBe(0n);
      }
    }
    native().closeFd(e);
    expect(fe.closedByPeer()).toBe(false);
    fe.close();
    await rig.expectNoFdLeak();
  });

  it('T8: QEMU 7.2 odd-but-legal orders work: ENABLE first, dummy CALL, GET_VRING_BASE before start, restart twice', async () => {
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const fe = rig.attacker();
    expect(await fe.getVringBase(0)).toBe(0); // never started
    await fe.setup({ order: 'qemu' });
    for (let restart = 0; restart < 2; restart++) {
      // Driver reset then DRIVER_OK again: GET_VRING_BASE stops, the same set-up restarts at that base.
      const bases = [await fe.getVringBase(0), await fe.getVringBase(1)];
      for (const index of [0, 1]) {
        const msgs = fe.vringMessages(index);
        (msgs[1] as Message & { num: number }).num = bases[index]!;
        for (const m of msgs) fe.send(m);
        fe.send({ request: Req.SET_VRING_CALL, index, fd: fe.call[index]!, needReply: false });
      }
      await fe.getU64(Req.GET_QUEUE_NUM);
      fe.postRx(1);
      fe.sendFrame(etherFrame('02:00:00:00:01:02', '02:00:00:00:0e:01', 90, restart));
      await rig.good[1].receiveFrames(1);
    }
    fe.close();
    await rig.expectNoFdLeak();
  });

  it('T9: replies are exactly REPLY|version, echo the request and carry 8 bytes', async () => {
    await rig.sw.waitPortState(0, ['listening', 'broken']);
    const fe = rig.attacker();
    fe.sendRaw(frame(Req.GET_FEATURES, 1 | 8, new Uint8Array(0))); // NEED_REPLY must not be echoed
    const got = await until(() => {
      const b = new Uint8Array(64);
      const r = native().recvMsg(fe.fd, b, 0, 64);
      return r && r.bytes > 0 ? b.slice(0, r.bytes) : undefined;
    });
    const dv = new DataView(got.buffer);
    expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), got.length]).toEqual([Req.GET_FEATURES, 0x5, 8, 20]);
    fe.close();
  });

  it('T10: a call fd that is a full socket never blocks the switch; failures are counted', async () => {
    const fe = await rig.attackerReady({ features: bit(F.VERSION_1) | bit(F.MRG_RXBUF) });
    const [full, peer] = native().socketPair(true);
    const junk = new Uint8Array(65536);
    while (native().sendMsg(full, junk, 0, junk.length) !== null) {
      /* fill the socket buffer until EAGAIN */
    }
    fe.send({ request: Req.SET_VRING_CALL, index: 0, fd: full, needReply: false });
    await fe.getU64(Req.GET_QUEUE_NUM);
    for (let i = 0; i < 20; i++) rig.good[0].sendFrame(etherFrame('02:00:00:00:0e:01', '02:00:00:00:01:01', 70, i));
    await fe.receiveFrames(20);
    const s = await rig.sw.stats();
    expect(s.ports[0]!.counters.callFailures).toBeGreaterThan(0);
    await rig.healthy();
    native().closeFd(full);
    native().closeFd(peer);
    fe.close();
    await rig.expectNoFdLeak();
  });
});

function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}
