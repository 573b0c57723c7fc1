// Seeded, time-bounded fuzzing of the real switch process: random message streams (valid,
// mutated and garbage, with random fds) and random ring contents (descriptors, avail entries and
// indices written into shared memory between kicks). The switch must survive, leak no fd, and keep
// forwarding between two well-behaved ports. Reproduce a run with FUZZ_SEED (printed) and
// FUZZ_ITERATIONS (the count it reached); FUZZ_MS changes the time budget (default 6 s).

import { afterAll, beforeAll, expect, it } from 'vitest';
import { seededRandom } from '../../../harness/stats/resample.ts';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { encodeRequest } from '../../../harness/vhost-user/protocol/codec.ts';
import { HEADER_SIZE, Req, type Message } from '../../../harness/vhost-user/protocol/messages.ts';
import { AttackRig, EVIL_MAC, GOOD_MACS } from '../../fixtures/vhost-user/attack-rig.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import type { FakeFrontend } from '../../fixtures/vhost-user/frontend.ts';
import { Layout } from '../../fixtures/vhost-user/guest.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('vhost-user fuzz tests', nativeUnavailableReason());

/** The statistics module's seeded generator drives the fuzzer, so a seed reproduces a run. */
const prng = seededRandom;

const SEED = Number(process.env.FUZZ_SEED ?? 20261128);
const BUDGET_MS = Number(process.env.FUZZ_MS ?? 6000);
const MAX_ITER = process.env.FUZZ_ITERATIONS === undefined ? Infinity : Number(process.env.FUZZ_ITERATIONS);

addon.describe('fuzz (seeded, time-bounded)', () => {
  let rig: AttackRig;
  beforeAll(async () => {
    rig = await AttackRig.start();
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
  });

  it('survives random message streams', async () => {
    const rnd = prng(SEED);
    const int = (n: number) => Math.floor(rnd() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const big = () => BigInt(int(2 ** 32)) * BigInt(int(2 ** 32)) * (rnd() < 0.5 ? 1n : 0n) + BigInt(int(2 ** 32));
    const eventfd = native().eventfdCreate(0, true);
    const memfd = native().memfdCreate('fuzz', 1 << 16);
    const deadline = Date.now() + BUDGET_MS / 2;
    let iterations = 0;
    console.log(`fuzz messages: FUZZ_SEED=${SEED}`);
    while (Date.now() < deadline && iterations < MAX_ITER) {
      iterations++;
      await rig.sw.waitPortState(0, ['listening', 'broken']);
      const fe = rig.attacker();
      const setupFirst = rnd() < 0.5;
      if (setupFirst) await fe.setup({ order: pick(['qemu', 'virtio-user'] as const) }).catch(() => undefined);
      for (let k = 0, n = 1 + int(30); k < n && !fe.closedByPeer(); k++) {
        const index = pick([0, 1, 2, 0x100, int(2 ** 32)]);
        const msgs: Message[] = [
          { request: Req.GET_FEATURES, needReply: rnd() < 0.3 },
          { request: Req.SET_FEATURES, features: big(), needReply: rnd() < 0.3 },
          { request: Req.SET_VRING_NUM, index, num: pick([0, 1, 3, 256, 32768, 65536, int(2 ** 32)]), needReply: false },
          { request: Req.SET_VRING_BASE, index, num: int(2 ** 17), needReply: false },
          { request: Req.GET_VRING_BASE, index, needReply: false },
          { request: Req.SET_VRING_ENABLE, index, enable: rnd() < 0.5, needReply: false },
          { request: Req.SET_VRING_ADDR, index, flags: pick([0, 0, 1]), desc: big(), used: big(), avail: big(), log: 0n, needReply: false },
          { request: pick([Req.SET_VRING_KICK, Req.SET_VRING_CALL, Req.SET_VRING_ERR]), index: int(3), fd: rnd() < 0.8 ? eventfd : null, needReply: false },
          {
            request: Req.SET_MEM_TABLE,
            regions: Array.from({ length: 1 + int(3) }, () => ({ guestPhysAddr: big(), size: BigInt(int(1 << 17)), userAddr: big(), mmapOffset: BigInt(pick([0, 4096, int(1 << 16)])) })),
            fds: [],
            needReply: rnd() < 0.5,
          },
          { request: 'unsupported', id: int(64), fds: rnd() < 0.5 ? [eventfd] : [], needReply: rnd() < 0.5 },
        ];
        const msg = pick(msgs);
        if (msg.request === Req.SET_MEM_TABLE) (msg as { fds: number[] }).fds = msg.regions.map(() => pick([memfd, memfd, eventfd]));
        const { bytes, fds } = encodeRequest(msg);
        // Mutate: flip bytes of the header or payload now and then, or truncate.
        if (rnd() < 0.2) {
          const at = int(bytes.length);
          bytes[at] = bytes[at]! ^ (1 << int(8));
        }
        const cut = rnd() < 0.05 ? int(bytes.length) : bytes.length;
        try {
          fe.sendRaw(bytes.subarray(0, Math.max(cut, Math.min(bytes.length, HEADER_SIZE))), fds);
        } catch {
          break; // the switch hung up on us: fine
        }
      }
      fe.close();
      if (iterations % 25 === 0) expect(rig.sw.alive).toBe(true);
    }
    native().closeFd(eventfd);
    native().closeFd(memfd);
    console.log(`fuzz messages: FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${iterations}`);
    expect(rig.sw.alive).toBe(true);
    await rig.expectNoFdLeak();
    await rig.healthy();
  });

  it('survives random ring contents', async () => {
    const rnd = prng(SEED ^ 0x5eed);
    const int = (n: number) => Math.floor(rnd() * n);
    const deadline = Date.now() + BUDGET_MS / 2;
    let iterations = 0;
    let fe: FakeFrontend | undefined;
    console.log(`fuzz rings: FUZZ_SEED=${SEED}`);
    while (Date.now() < deadline && iterations < MAX_ITER) {
      iterations++;
      if (fe === undefined || fe.closedByPeer()) {
        fe?.close();
        fe = await rig.attackerReady({ rxBuffers: int(64) });
      }
      const ring = rnd() < 0.8 ? fe.tx : fe.rx;
      // Mostly valid frames with random damage; sometimes pure garbage in the tables.
      for (let k = 0, n = 1 + int(8); k < n; k++) {
        const d = int(ring.num);
        const off = Layout.TX_BUFS + int(256) * Layout.BUF_SIZE;
        fe.mem.u8.set(etherFrame(pick2(rnd, GOOD_MACS[0], 'ff:ff:ff:ff:ff:ff'), EVIL_MAC, 60 + int(100)), off + 12);
        const addr = rnd() < 0.85 ? fe.mem.gpa(off) : int(2 ** 52);
        const len = rnd() < 0.85 ? 12 + 60 + int(100) : int(2 ** 32);
        const flags = rnd() < 0.8 ? (ring === fe.rx ? 2 : 0) : int(8);
        ring.writeDesc(d, addr, len, flags, rnd() < 0.9 ? (d + 1) % ring.num : int(0x10000));
        if (rnd() < 0.1) ring.writeDesc(int(64), fe.mem.gpa(Layout.INDIRECT), pick2(rnd, 16, 32, int(0x10000)), 4, 0);
        if (rnd() < 0.1) ring.writeDesc(int(64), int(2 ** 40), int(2 ** 32), int(8), int(0x10000), Layout.INDIRECT);
        ring.putAvail(rnd() < 0.95 ? d : int(0x10000));
      }
      if (rnd() < 0.03) ring.setAvailIdx(int(0x10000));
      if (rnd() < 0.05) fe.mem.u8.fill(int(256), ring.used, ring.used + 64);
      native().eventfdWrite(fe.kick[ring === fe.rx ? 0 : 1]!, 1);
      if (iterations % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    fe?.close();
    console.log(`fuzz rings: FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${iterations}`);
    expect(rig.sw.alive).toBe(true);
    await rig.expectNoFdLeak();
    await rig.healthy();
    // A fresh front-end on the fuzzed port works again.
    const ok = await rig.attackerReady();
    ok.sendFrame(etherFrame(GOOD_MACS[0], EVIL_MAC, 64));
    await rig.good[0].receiveFrames(1);
  });
});

function pick2<T>(rnd: () => number, ...xs: T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}
