// Two TCG guests through DPDK testpmd (vhost-user) with TCP and UDP traffic; vhost-net skipped with
// its reason where the host lacks /dev/vhost-net; nothing of testpmd left behind.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { onPath } from '../../harness/host/facts.ts';
import { runBench } from '../../harness/run/runner.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const testpmd = needs('testpmd integration', whyNoGuests() ?? (onPath('dpdk-testpmd') ? undefined : 'needs dpdk-testpmd (apt-get install -y dpdk-dev)'));

describe('vhost-user through testpmd', () => {
  testpmd.it('carries TCP and UDP between two guests, counts its ports, and leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-tp-'));
    const profile = join(dir, 'tp.yaml');
    writeFileSync(
      profile,
      [
        'backends: [vhost-net, vhost-user-testpmd]',
        'repetitions: 1',
        'warmup: 0',
        'accel: tcg',
        'scenarios:',
        '  - { kind: tcp-stream, durationSec: 2, omitSec: 0 }',
        '  - { kind: udp-small, durationSec: 2, omitSec: 0, payloads: [64] }',
        '  - { kind: tcp-stream, name: tcp-to-host, topology: guest-to-host, durationSec: 2, omitSec: 0 }',
      ].join('\n'),
    );
    const plan = resolvePlan(loadProfile(profile));
    const outcome = await runBench({ plan, argv: ['test'], resultsRoot: join(dir, 'results'), signal: new AbortController().signal, reporter: {} });
    const byId = Object.fromEntries(outcome.record.backends.map((b) => [b.id, b]));

    const vhostNet = byId['vhost-net']!;
    if (existsSync('/dev/vhost-net')) console.log('this host has /dev/vhost-net: the skip path is not exercised here');
    else expect(vhostNet).toMatchObject({ status: 'skipped', reason: expect.stringContaining('/dev/vhost-net'), fix: 'modprobe vhost_net' });

    const tp = byId['vhost-user-testpmd']!;
    expect(tp.status, JSON.stringify(tp, null, 1).slice(0, 2000)).toBe('ok');
    expect(tp.notes.join('\n')).toMatch(/vectors=0/);
    expect(tp.notes.join('\n')).toMatch(/scenario tcp-to-host not run: guest-to-host needs a path with a host end/);
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    const of = (metric: string) => samples.filter((s) => s.backend === 'vhost-user-testpmd' && s.metric === metric && !s.warmup);
    expect(of('throughput')[0]!.value).toBeGreaterThan(1e6);
    expect(of('packetRate')[0]).toMatchObject({ dims: { payloadBytes: 64 } });
    expect(of('packetRate')[0]!.value).toBeGreaterThan(100);
    const forwarded = of('switchPackets').filter((s) => s.scenario === 'tcp-stream' && s.dims?.direction === 'rx').reduce((a, s) => a + s.value, 0);
    expect(forwarded).toBeGreaterThan(1000);
    console.log(`testpmd: ${(of('throughput')[0]!.value / 1e9).toFixed(2)} Gbit/s, ${Math.round(of('packetRate')[0]!.value)} pkt/s of 64 B, ${forwarded} packets forwarded in the TCP window`);
    expect(tp.features?.a).toEqual(expect.arrayContaining(['virtio:VERSION_1', 'virtio:MRG_RXBUF']));

    // Nothing of testpmd survives: no process, no socket, no DPDK runtime or hugepage file of the run.
    const tag = outcome.record.run.slice(-6);
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
    expect(existsSync(`/var/run/dpdk/iopath-${tag}`)).toBe(false);
    for (const huge of ['/dev/hugepages', '/mnt/huge']) {
      if (existsSync(huge)) expect(readdirSync(huge).filter((f) => f.includes(tag))).toEqual([]);
    }
    const testpmdAlive = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`iopath-${tag}`);
      } catch {
        return false;
      }
    });
    expect(testpmdAlive).toBe(false);
  }, 400_000);
});
