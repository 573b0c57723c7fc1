// DPDK testpmd (virtio-user) as a standard front-end on the real switch: frames in both directions
// between testpmd and a test front-end, and testpmd looping frames through the switch on two ports.
// Skips, saying why, where testpmd is not installed.

import { afterEach, describe, expect, it } from 'vitest';
import { Testpmd, testpmdUnavailableReason } from '../../../harness/backends/testpmd.ts';
import { Scope } from '../../../harness/host/scope.ts';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend } from '../../fixtures/vhost-user/frontend.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';

const skip = nativeUnavailableReason() ?? testpmdUnavailableReason();
if (skip) console.log(`skipping testpmd front-end tests: ${skip}`);

const TP_MAC = '02:00:00:00:77:01';
const FE_MAC = '02:00:00:00:77:02';

describe.skipIf(skip !== undefined)('testpmd virtio-user through the switch', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  /** testpmd at its prompt, with virtio-user ports on `sockets`; quit and cleaned up after the test. */
  async function testpmd(sockets: string[], args: string[]): Promise<Testpmd> {
    const scope = new Scope('testpmd front-end');
    cleanup.push(() => scope.close());
    return Testpmd.start(
      scope,
      {
        filePrefix: `vut-${process.pid}-${Date.now()}`,
        lcores: [0, 1],
        vdevs: sockets.map((s, i) => `net_virtio_user${i},path=${s},queue_size=256,mac=02:00:00:00:77:0${i === 0 ? 1 : 3}`),
        app: ['--total-num-mbufs=8192', ...args],
        memoryMiB: 512,
      },
      { promptTimeoutMs: 30000 },
    );
  }
  const rxOf = async (t: Testpmd) => (await t.portStats()).map((p) => p.rxPackets);

  it('exchanges frames with a test front-end in both directions', async () => {
    const sw = await SwitchProcess.start(2);
    cleanup.push(() => sw.stop());
    const fe = FakeFrontend.connect(sw.sockets[1]!);
    cleanup.push(() => fe.close());
    await fe.setup({ rxBuffers: 200 });
    const tp = await testpmd([sw.sockets[0]!], ['--forward-mode=txonly', `--eth-peer=0,${FE_MAC}`]);
    const s0 = await sw.waitPortState(0, 'connected');
    expect(s0.ports[0]!.featureNames).toContain('VERSION_1');
    await tp.command('start');
    const frames = await fe.receiveFrames(10, 10000);
    await tp.command('stop');
    // testpmd's txonly frames: 64 bytes, from its port MAC, IPv4/UDP.
    expect(frames[0]!.frame.length).toBe(64);
    expect([...frames[0]!.frame.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':')).toBe(TP_MAC);
    expect(frames[0]!.frame[12]).toBe(0x08);
    await tp.command('set fwd rxonly');
    await tp.command('start');
    const before = (await rxOf(tp))[0]!;
    for (let i = 0; i < 20; i++) fe.sendFrame(etherFrame(TP_MAC, FE_MAC, 100, i));
    const deadline = Date.now() + 10000;
    for (;;) {
      const rx = (await rxOf(tp))[0]!;
      if (rx - before >= 20) break;
      if (Date.now() > deadline) throw new Error(`testpmd received ${rx - before} of 20`);
    }
  });

  it('loops frames between two testpmd ports through the switch (io forwarding)', async () => {
    const sw = await SwitchProcess.start(2);
    cleanup.push(() => sw.stop());
    const tp = await testpmd(sw.sockets, ['--forward-mode=io']);
    await sw.waitPortState(1, 'connected');
    await tp.command('start tx_first 4');
    await new Promise((r) => setTimeout(r, 1500));
    const rx = await rxOf(tp);
    await tp.command('stop');
    expect(rx[0]).toBeGreaterThan(0);
    expect(rx[1]).toBeGreaterThan(0);
    const s = await sw.stats();
    expect(s.ports[0]!.counters.rxPackets).toBeGreaterThan(0);
    expect(s.ports[1]!.counters.rxPackets).toBeGreaterThan(0);
  });

  it('killing the switch mid-traffic leaves testpmd responsive and able to quit', async () => {
    const sw = await SwitchProcess.start(2);
    cleanup.push(() => sw.stop());
    const tp = await testpmd(sw.sockets, ['--forward-mode=io']);
    await sw.waitPortState(1, 'connected');
    await tp.command('start tx_first 4');
    await new Promise((r) => setTimeout(r, 500));
    await sw.kill();
    await new Promise((r) => setTimeout(r, 500));
    expect(await rxOf(tp)).toHaveLength(2); // answers: not hung
    await tp.command('stop');
    await tp.quit(); // quits (a hang would fail the test by its timeout)
    expect(tp.running).toBe(false);
  });
});
