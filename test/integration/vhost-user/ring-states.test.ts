// Ring states and scheduling against the real switch process: a started but disabled transmit ring
// is drained (its frames discarded, its buffers returned); a new memory table while the rings are
// stopped does not break the port; a frame waiting for receive buffers costs the switch almost no
// CPU (measured from /proc, over a second). The kick storm (T23) is in security-data.test.ts.

import { afterEach, expect, it } from 'vitest';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { Req } from '../../../harness/vhost-user/protocol/messages.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend, until } from '../../fixtures/vhost-user/frontend.ts';
import { GPA_BASE, UVA_BASE } from '../../fixtures/vhost-user/guest.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('vhost-user ring-state tests', nativeUnavailableReason());

const MAC = ['02:00:00:00:00:01', '02:00:00:00:00:02'] as const;

addon.describe('ring states and scheduling', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  async function rig(extra: string[] = [], rxB?: number) {
    const sw = await SwitchProcess.start(2, extra);
    cleanup.push(() => sw.stop());
    const a = FakeFrontend.connect(sw.sockets[0]!);
    const b = FakeFrontend.connect(sw.sockets[1]!);
    cleanup.push(() => a.close(), () => b.close());
    await a.setup();
    await b.setup(rxB === undefined ? {} : { rxBuffers: rxB });
    b.sendFrame(etherFrame(MAC[0], MAC[1], 64)); // learn b's MAC: a's frames to it are unicast
    await a.receiveFrames(1);
    return { sw, a, b };
  }

  it('drains a started but disabled transmit ring and discards its frames', async () => {
    const { sw, a, b } = await rig();
    a.send({ request: Req.SET_VRING_ENABLE, index: 1, enable: false, needReply: false });
    await a.getU64(Req.GET_QUEUE_NUM); // round trip: the switch has seen the message
    for (let i = 0; i < 5; i++) a.sendFrame(etherFrame(MAC[1], MAC[0], 64, i));
    let done = 0;
    await until(() => (done += a.txCompleted()) === 5, 3000, 'the disabled ring drained');
    await new Promise((r) => setTimeout(r, 100));
    expect(b.receive()).toHaveLength(0);
    const s = await sw.stats();
    expect(s.ports[0]!.counters.rxDrops).toBe(5);
    expect(s.ports[1]!.counters.txPackets).toBe(0);
    // Enabled again, it forwards.
    a.send({ request: Req.SET_VRING_ENABLE, index: 1, enable: true, needReply: false });
    a.sendFrame(etherFrame(MAC[1], MAC[0], 64, 9));
    expect(await b.receiveFrames(1)).toHaveLength(1);
  });

  it('accepts a new memory table while its rings are stopped, then runs on the new addresses', async () => {
    const { sw, a, b } = await rig();
    const bases = [await a.getVringBase(0), await a.getVringBase(1)];
    // The same memory, now at other front-end virtual addresses (a restarted front-end): the old
    // ring addresses are no longer mapped until SET_VRING_ADDR brings the new ones.
    const uva = UVA_BASE + 0x1000_0000_0000;
    const region = { guestPhysAddr: BigInt(GPA_BASE), size: BigInt(a.mem.size), userAddr: BigInt(uva), mmapOffset: 0n };
    expect(await a.acked({ request: Req.SET_MEM_TABLE, regions: [region], fds: [a.mem.fd], needReply: true })).toBe(0n);
    expect(a.closedByPeer()).toBe(false);
    for (const index of [0, 1]) {
      const ring = index === 0 ? a.rx : a.tx;
      a.send({ request: Req.SET_VRING_BASE, index, num: bases[index]!, needReply: false });
      a.send({ request: Req.SET_VRING_ADDR, index, flags: 0, desc: BigInt(uva + ring.desc), used: BigInt(uva + ring.used), avail: BigInt(uva + ring.avail), log: 0n, needReply: false });
      a.send({ request: Req.SET_VRING_KICK, index, fd: a.kick[index]!, needReply: false });
      a.send({ request: Req.SET_VRING_CALL, index, fd: a.call[index]!, needReply: false });
    }
    await a.getU64(Req.GET_QUEUE_NUM);
    const f = etherFrame(MAC[1], MAC[0], 200, 7);
    a.sendFrame(f);
    const [got] = await b.receiveFrames(1);
    expect(got!.frame).toEqual(f);
    expect((await sw.stats()).ports[0]!.state).toBe('connected');
  });

  it('spends no CPU while a frame waits for receive buffers that do not come', async () => {
    // b has two buffers, the frame needs three: before, the switch polled b's ring for the whole hold.
    const { sw, a, b } = await rig(['--hold-ms', '60000'], 2);
    const frame = etherFrame(MAC[1], MAC[0], 5000);
    a.sendFrame(frame);
    await new Promise((r) => setTimeout(r, 200));
    const share = await sw.cpuShare(() => new Promise((r) => setTimeout(r, 1000)));
    console.log(`switch CPU while a frame waits for receive buffers: ${(100 * share).toFixed(1)}% of a core`);
    expect(share).toBeLessThan(0.15);
    b.postRx(1); // the receiver's kick wakes the held frame
    const [got] = await b.receiveFrames(1);
    expect(got!.frame).toEqual(frame);
  });
});
