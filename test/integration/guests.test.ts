// Real QEMU guests under the host's accelerator choice (TCG here) in a real network namespace: both
// tap paths carry iperf3 traffic between two guests, and nothing of the run is left afterwards.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { onPath } from '../../harness/host/facts.ts';
import { runtimeRoot } from '../../harness/paths.ts';
import type { Reporter } from '../../harness/run/progress.ts';
import { runBench } from '../../harness/run/runner.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('two-guest integration', whyNoGuests());

describe('two guests per tap path', () => {
  guests.it('exchange iperf3 traffic on e1000 and virtio-net and leave nothing behind', async () => {
    // TCP only: the other traffic shapes run in the next test and in bench-quick.
    const resultsRoot = mkdtempSync(join(tmpdir(), 'iopath-it-'));
    const profile = join(resultsRoot, 'tcp.yaml');
    writeFileSync(profile, 'backends: [e1000, virtio-net]\nrepetitions: 1\nwarmup: 0\naccel: tcg\nguest: { memoryMiB: 512, vcpus: 1 }\nscenarios: [{ kind: tcp-stream, durationSec: 2, omitSec: 0 }]\n');
    const plan = resolvePlan(loadProfile(profile));
    // While the guests run: the runtime directories are private and no socket is open to others.
    const exposure: string[] = [];
    let run = '';
    const reporter: Reporter = {
      runStarted: (i) => void (run = i.run),
      repStarted: () => {
        if (exposure.length) return;
        const dir = join(runtimeRoot, run);
        exposure.push(`root ${(statSync(runtimeRoot).mode & 0o777).toString(8)}`, `run ${(statSync(dir).mode & 0o777).toString(8)}`);
        const walk = (d: string): void => {
          for (const e of readdirSync(d, { withFileTypes: true })) {
            const p = join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isSocket()) exposure.push(`socket ${e.name} ${(statSync(p).mode & 0o777).toString(8)}`);
          }
        };
        walk(dir);
      },
    };
    const outcome = await runBench({ plan, argv: ['test'], resultsRoot, signal: new AbortController().signal, reporter });
    console.log(`runtime modes: ${exposure.join(', ')}`);
    expect(exposure).toContain('root 700');
    expect(exposure).toContain('run 700');
    const sockets = exposure.filter((e) => e.startsWith('socket'));
    expect(sockets.length).toBeGreaterThan(0);
    // Connecting to a UNIX socket needs write permission on it: nobody but root may.
    expect(sockets.filter((e) => parseInt(e.split(' ').pop()!, 8) & 0o022)).toEqual([]);
    expect(outcome.record.status, outcome.record.error).toBe('complete');
    expect(outcome.exitCode).toBe(0);
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    for (const backend of ['e1000', 'virtio-net']) {
      const tput = samples.filter((s) => s.backend === backend && s.metric === 'throughput' && !s.warmup);
      expect(tput, backend).toHaveLength(1);
      expect(tput[0]!.value).toBeGreaterThan(1e6);
      console.log(`${backend}: ${(tput[0]!.value / 1e9).toFixed(2)} Gbit/s`);
      const b = outcome.record.backends.find((x) => x.id === backend)!;
      expect(b.status).toBe('ok');
      for (const f of b.files) expect(existsSync(join(outcome.runDir, f)), f).toBe(true);
      expect(readFileSync(join(outcome.runDir, backend, 'serial-a.log'), 'utf8')).not.toMatch(/Kernel panic/);
    }
    expect(outcome.record.provenance).toMatchObject({ accel: { kind: 'tcg' }, guestKernel: expect.stringMatching(/amd64$/) });
    const phases = new Set(outcome.record.phases.map((p) => p.phase));
    for (const p of ['preflight', 'image', 'setup', 'boot', 'teardown']) expect(phases).toContain(p);
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 300_000);
});

const hostTools = ['iperf3', 'sockperf'].filter((t) => !onPath(t));
const toHost = needs('guest-to-host topology', whyNoGuests() ?? (hostTools.length ? `needs ${hostTools.join(' and ')} on the host (apt-get install -y ${hostTools.join(' ')})` : undefined));

describe('every traffic shape on one tap path', () => {
  toHost.it('runs no-offload TCP, then guest-to-host TCP, UDP and latency against the host end in the namespace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-g2h-'));
    const profile = join(dir, 'shapes.yaml');
    writeFileSync(
      profile,
      [
        'backends: [virtio-net]',
        'repetitions: 1',
        'warmup: 0',
        'accel: tcg',
        'scenarios:',
        '  - { kind: tcp-stream-no-offload, durationSec: 2, omitSec: 0 }',
        '  - { kind: tcp-stream, name: tcp-to-host, topology: guest-to-host, durationSec: 2, omitSec: 0 }',
        '  - { kind: udp-small, name: udp-to-host, topology: guest-to-host, durationSec: 2, omitSec: 0, payloads: [64] }',
        '  - { kind: latency, name: latency-to-host, topology: guest-to-host, durationSec: 2 }',
      ].join('\n'),
    );
    const plan = resolvePlan(loadProfile(profile));
    const outcome = await runBench({ plan, argv: ['test'], resultsRoot: join(dir, 'results'), signal: new AbortController().signal, reporter: {} });
    const b = outcome.record.backends[0]!;
    expect(b.status, JSON.stringify(b.reps)).toBe('ok');
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    const value = (scenario: string, metric: string) => samples.find((s) => s.scenario === scenario && s.metric === metric)?.value;
    for (const [scenario, metric] of [['tcp-stream-no-offload', 'throughput'], ['tcp-to-host', 'throughput'], ['udp-to-host', 'packetRate'], ['latency-to-host', 'latencyP99']] as const) {
      expect(value(scenario, metric), `${scenario} ${metric}`).toBeGreaterThan(0);
      console.log(`${scenario}: ${metric} ${value(scenario, metric)}`);
    }
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 400_000);
});
