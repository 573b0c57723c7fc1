// The real switch process driven by front-ends written in the tests, over real sockets and shared
// memory: set-up in both real-world message orders, forwarding with learning and flooding, MRG and
// indirect chains, counters as another process sees them, clean stop on SIGTERM.

import { existsSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { BROADCAST, etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend, until } from '../../fixtures/vhost-user/frontend.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('vhost-user switch process tests', nativeUnavailableReason());

const MAC = ['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03'];

addon.describe('switch process with test front-ends', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  async function rig(ports: number, order: 'virtio-user' | 'qemu' = 'virtio-user') {
    const sw = await SwitchProcess.start(ports);
    cleanup.push(() => sw.stop());
    const fes: FakeFrontend[] = [];
    for (let i = 0; i < ports; i++) {
      const fe = FakeFrontend.connect(sw.sockets[i]!);
      cleanup.push(() => fe.close());
      await fe.setup({ order });
      fes.push(fe);
    }
    return { sw, fes };
  }

  it.each(['virtio-user', 'qemu'] as const)('forwards between two ports after a %s-order set-up', async (order) => {
    const { sw, fes } = await rig(2, order);
    const [a, b] = fes as [FakeFrontend, FakeFrontend];
    const frame = etherFrame(MAC[1]!, MAC[0]!, 100);
    a.sendFrame(frame);
    const [got] = await b.receiveFrames(1);
    expect(got!.frame).toEqual(frame);
    await until(() => a.txCompleted() === 1, 3000, 'TX buffer returned');
    const s = await sw.stats();
    expect(s.ports[0]!.counters.rxPackets).toBe(1);
    expect(s.ports[1]!.counters.txPackets).toBe(1);
    expect(s.ports[0]!.featureNames).toContain('MRG_RXBUF');
  });

  it('learns source MACs: unknown and broadcast destinations flood, learned ones do not', async () => {
    const { sw, fes } = await rig(3);
    const [a, b, c] = fes as [FakeFrontend, FakeFrontend, FakeFrontend];
    a.sendFrame(etherFrame(BROADCAST, MAC[0]!, 60));
    await b.receiveFrames(1);
    await c.receiveFrames(1);
    b.sendFrame(etherFrame(MAC[0]!, MAC[1]!, 60)); // a is known now: only a gets it
    await a.receiveFrames(1);
    a.sendFrame(etherFrame(MAC[1]!, MAC[0]!, 60)); // b is known now
    await b.receiveFrames(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.receive()).toHaveLength(0);
    const s = await sw.stats();
    expect(s.ports.map((p) => p.counters.txPackets)).toEqual([1, 2, 1]);
  });

  it('carries frames through indirect tables, split headers and merged receive buffers', async () => {
    const { fes } = await rig(2);
    const [a, b] = fes as [FakeFrontend, FakeFrontend];
    const frames = [etherFrame(MAC[1]!, MAC[0]!, 200, 1), etherFrame(MAC[1]!, MAC[0]!, 1500, 2), etherFrame(MAC[1]!, MAC[0]!, 5000, 3)];
    a.sendFrame(frames[0]!, { indirect: true, pieces: [12, 2, 12, 186] });
    await b.receiveFrames(1);
    a.sendFrame(frames[1]!, { pieces: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1500] });
    const [f2] = await b.receiveFrames(1);
    expect(f2!.frame).toEqual(frames[1]);
    a.sendFrame(frames[2]!); // 5012 bytes: three 2 KiB receive buffers, num_buffers = 3
    const [f3] = await b.receiveFrames(1);
    expect(f3!.frame).toEqual(frames[2]);
    expect(f3!.vnet[10]).toBe(3);
  });

  it('removes its sockets and exits 0 on SIGTERM, and on SIGINT', async () => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const sw = await SwitchProcess.start(2);
      const fe = FakeFrontend.connect(sw.sockets[0]!);
      await fe.setup();
      sw.child.kill(sig);
      const exit = await sw.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(sw.sockets.some((s) => existsSync(s))).toBe(false);
      await until(() => fe.closedByPeer(), 3000, 'EOF at the front-end');
      fe.close();
      await sw.stop();
    }
  });

  it('serves one front-end per socket and accepts a new one after a disconnect', async () => {
    const { sw, fes } = await rig(2);
    const extra = FakeFrontend.connect(sw.sockets[0]!);
    await until(() => extra.closedByPeer(), 3000, 'second client refused');
    extra.close();
    fes[0]!.close();
    await sw.waitPortState(0, 'listening');
    const again = FakeFrontend.connect(sw.sockets[0]!);
    cleanup.push(() => again.close());
    await again.setup();
    again.sendFrame(etherFrame(MAC[1]!, MAC[0]!, 64));
    await fes[1]!.receiveFrames(1);
  });
});
