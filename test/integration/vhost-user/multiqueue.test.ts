// Multi-queue with a real front-end: DPDK testpmd's virtio-user ports with two queue pairs each
// negotiate MQ with the switch, enable both pairs, and frames of many flows go through both
// transmit and both receive queues of both ports, both ways. Skips, saying why, where testpmd is
// not installed.

import { afterEach, describe, expect, it } from 'vitest';
import { Testpmd, testpmdUnavailableReason } from '../../../harness/backends/testpmd.ts';
import { Scope } from '../../../harness/host/scope.ts';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';

const skip = nativeUnavailableReason() ?? testpmdUnavailableReason();
if (skip) console.log(`skipping multi-queue front-end tests: ${skip}`);

describe.skipIf(skip !== undefined)('multi-queue through the switch with DPDK virtio-user', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.reverse()) await f();
    cleanup.length = 0;
  });

  it('negotiates two queue pairs per port and carries frames on every queue', async () => {
    const sw = await SwitchProcess.start(2, ['--queues', '2']);
    cleanup.push(() => sw.stop());
    const macs = ['02:00:00:00:88:01', '02:00:00:00:88:02'];
    const scope = new Scope('testpmd front-end');
    cleanup.push(() => scope.close());
    const tp = await Testpmd.start(
      scope,
      {
        filePrefix: `vumq-${process.pid}-${Date.now()}`,
        lcores: [0, 1],
        vdevs: sw.sockets.map((s, i) => `net_virtio_user${i},path=${s},queue_size=256,queues=2,mac=${macs[i]}`),
        app: ['--total-num-mbufs=8192', '--forward-mode=io', '--rxq=2', '--txq=2', '--txonly-multi-flow', `--eth-peer=0,${macs[1]}`, `--eth-peer=1,${macs[0]}`],
        memoryMiB: 512,
      },
      { promptTimeoutMs: 30000 },
    );
    await sw.waitPortState(1, 'connected');
    // Many flows (the first burst is txonly's, which then varies the source address per frame), so
    // the flow hash uses both queues.
    await tp.command('start tx_first 8');
    await new Promise((r) => setTimeout(r, 1500));
    const st = await tp.portStats();
    await tp.command('stop');
    expect(st[0]!.rxPackets).toBeGreaterThan(1000);
    expect(st[1]!.rxPackets).toBeGreaterThan(1000);
    const s = await sw.stats();
    for (const p of s.ports) {
      expect(p.featureNames).toContain('MQ');
      expect([p.queuePairs, p.activeQueuePairs]).toEqual([2, 2]);
      // Every queue of every port carried frames: both transmit queues (testpmd sends on both) and
      // both receive queues (the switch spread the flows).
      expect(p.queueFrames.tx.every((n) => n > 100), `port ${p.id} transmit queues ${p.queueFrames.tx}`).toBe(true);
      expect(p.queueFrames.rx.every((n) => n > 100), `port ${p.id} receive queues ${p.queueFrames.rx}`).toBe(true);
    }
  });
});
