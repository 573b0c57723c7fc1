// DPDK testpmd (virtio-user) as a standard front-end on the real switch: frames in both directions
// between testpmd and a test front-end, and testpmd looping frames through the switch on two ports.
// Skips, saying why, where testpmd is not installed.

import { afterEach, expect, it } from 'vitest';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { Testpmd, testpmdUnavailableReason } from '../../../harness/vhost-user/testpmd.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend } from '../../fixtures/vhost-user/frontend.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { needs } from '../../helpers/host.ts';

const switchAndTestpmd = needs('testpmd front-end tests', nativeUnavailableReason() ?? testpmdUnavailableReason());

const TP_MAC = '02:00:00:00:77:01';
const FE_MAC = '02:00:00:00:77:02';

switchAndTestpmd.describe('testpmd virtio-user through the switch', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  function testpmd(sockets: string[], args: string[]): Testpmd {
    const t = new Testpmd({
      prefix: `vut-${process.pid}-${Date.now()}`,
      lcores: [0, 1],
      vdevs: sockets.map((s, i) => `net_virtio_user${i},path=${s},queue_size=256,mac=02:00:00:00:77:0${i === 0 ? 1 : 3}`),
      args: ['-i', '--total-num-mbufs=8192', ...args],
      memoryMb: 512,
    });
    cleanup.push(() => t.stop());
    return t;
  }

  it('exchanges frames with a test front-end in both directions', async () => {
    const sw = await SwitchProcess.start(2);
    cleanup.push(() => sw.stop());
    const fe = FakeFrontend.connect(sw.sockets[1]!);
    cleanup.push(() => fe.close());
    await fe.setup({ rxBuffers: 200 });
    const tp = testpmd([sw.sockets[0]!], ['--forward-mode=txonly', `--eth-peer=0,${FE_MAC}`]);
    await tp.waitFor('testpmd>', 30000);
    const s0 = await sw.waitPortState(0, 'connected');
    expect(s0.ports[0]!.featureNames).toContain('VERSION_1');
    tp.send('start');
    const frames = await fe.receiveFrames(10, 10000);
    tp.send('stop');
    // testpmd's txonly frames: 64 bytes, from its port MAC, IPv4/UDP.
    expect(frames[0]!.frame.length).toBe(64);
    expect([...frames[0]!.frame.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':')).toBe(TP_MAC);
    expect(frames[0]!.frame[12]).toBe(0x08);
    tp.send('set fwd rxonly');
    tp.send('start');
    const before = (await tp.portStats()).rxPackets[0]!;
    for (let i = 0; i < 20; i++) fe.sendFrame(etherFrame(TP_MAC, FE_MAC, 100, i));
    const deadline = Date.now() + 10000;
    for (;;) {
      const st = await tp.portStats();
      if (st.rxPackets[0]! - before >= 20) break;
      if (Date.now() > deadline) throw new Error(`testpmd received ${st.rxPackets[0]! - before} of 20`);
    }
  });

  it('loops frames between two testpmd ports through the switch (io forwarding)', async () => {
    const sw = await SwitchProcess.start(2);
    cleanup.push(() => sw.stop());
    const tp = testpmd(sw.sockets, ['--forward-mode=io']);
    await tp.waitFor('testpmd>', 30000);
    await sw.waitPortState(1, 'connected');
    tp.send('start tx_first 4');
    await new Promise((r) => setTimeout(r, 1500));
    const st = await tp.portStats();
    tp.send('stop');
    expect(st.rxPackets[0]).toBeGreaterThan(0);
    expect(st.rxPackets[1]).toBeGreaterThan(0);
    const s = await sw.stats();
    expect(s.ports[0]!.counters.rxPackets).toBeGreaterThan(0);
    expect(s.ports[1]!.counters.rxPackets).toBeGreaterThan(0);
  });

  it('killing the switch mid-traffic leaves testpmd responsive and able to quit', async () => {
    const sw = await SwitchProcess.start(2);
    cleanup.push(() => sw.stop());
    const tp = testpmd(sw.sockets, ['--forward-mode=io']);
    await tp.waitFor('testpmd>', 30000);
    await sw.waitPortState(1, 'connected');
    tp.send('start tx_first 4');
    await new Promise((r) => setTimeout(r, 500));
    await sw.kill();
    await new Promise((r) => setTimeout(r, 500));
    const st = await tp.portStats(); // answers: not hung
    expect(st.rxPackets.length).toBe(2);
    tp.send('stop');
    await tp.stop(); // quits (a hang would fail the test by its timeout)
    expect(tp.running).toBe(false);
  });
});
