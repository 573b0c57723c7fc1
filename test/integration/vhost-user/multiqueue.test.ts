// Multi-queue through the switch with real front-ends. Two TCG guests (QEMU, virtio-net-pci with
// two queue pairs, the profile's `guest.queues: 2`) negotiate MQ, enable both pairs, and two iperf3
// streams cross the switch on both receive queues of both ports. DPDK testpmd's virtio-user ports
// with two queue pairs each do the same with frames of many flows, both ways. Each skips, saying
// why, where the machine lacks QEMU guests, the native addon or testpmd.

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Testpmd, testpmdUnavailableReason } from '../../../harness/backends/testpmd.ts';
import { loadProfile } from '../../../harness/config/load.ts';
import { resolvePlan } from '../../../harness/config/plan.ts';
import { Scope } from '../../../harness/host/scope.ts';
import { projectRoot } from '../../../harness/paths.ts';
import { runBench } from '../../../harness/run/runner.ts';
import type { SampleRecord } from '../../../harness/samples.ts';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { firstReason, leftovers, needs, skipWhy, whyNoGuests } from '../../helpers/host.ts';

const addon = join(projectRoot, 'harness/vhost-user/native/build/Release/vhost_user_native.node');
const skipGuests = skipWhy('multi-queue with QEMU guests', whyNoGuests() ?? (existsSync(addon) ? undefined : 'needs the native addon (npm run build:native)'));

describe('multi-queue through the switch with QEMU guests', () => {
  const profile = (lines: string[]) => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-vumq-'));
    writeFileSync(join(dir, 'p.yaml'), lines.join('\n') + '\n');
    return join(dir, 'p.yaml');
  };

  it.skipIf(skipGuests)('two guests with two queue pairs each carry TCP on both queues of both ports', async () => {
    const p = profile(['backends: [vhost-user-ts]', 'repetitions: 1', 'warmup: 0', 'accel: tcg', 'guest: { queues: 2 }', 'scenarios: [{ kind: tcp-stream, durationSec: 4, omitSec: 0 }]']);
    const outcome = await runBench({ plan: resolvePlan(loadProfile(p)), argv: ['test'], resultsRoot: join(tmpdir(), 'iopath-vuts-results'), signal: new AbortController().signal, reporter: {} });
    const b = outcome.record.backends[0]!;
    expect([b.id, b.status]).toEqual(['vhost-user-ts', 'ok']);
    // Negotiated and enabled in both guests (run.json), MQ among the virtio features.
    expect(b.queues).toEqual({ requested: 2, guests: { a: 2, b: 2 } });
    expect(b.features?.a).toContain('virtio:MQ');
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    const perQueue = samples.filter((s) => s.scenario === 'tcp-stream' && s.metric === 'switchQueuePackets');
    const sum = (port: string, direction: string, queue: string) =>
      perQueue.filter((s) => s.dims?.port === port && s.dims?.direction === direction && s.dims?.queue === queue).reduce((a, s) => a + s.value, 0);
    const table = ['0', '1'].flatMap((port) => ['0', '1'].map((queue) => `port ${port} queue ${queue}: from guest ${sum(port, 'rx', queue)}, to guest ${sum(port, 'tx', queue)}`));
    console.log(table.join('\n'));
    // Two iperf3 streams: the switch gives the two flows the two receive queues of each guest.
    for (const port of ['0', '1']) for (const queue of ['0', '1']) expect(sum(port, 'tx', queue), `port ${port} receive queue ${queue}`).toBeGreaterThan(10);
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 400_000);
});

const frontEnds = needs('multi-queue with DPDK virtio-user front-ends', firstReason(nativeUnavailableReason(), testpmdUnavailableReason()));

frontEnds.describe('multi-queue through the switch with DPDK virtio-user', () => {
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
