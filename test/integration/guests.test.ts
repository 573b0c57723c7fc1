// Real QEMU guests under the host's accelerator choice (TCG here) in a real network namespace: both
// tap paths carry iperf3 traffic between two guests, and nothing of the run is left afterwards.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { runBench } from '../../harness/run/runner.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { leftovers, skipWhy, whyNoGuests } from '../helpers/host.ts';

const skip = skipWhy('two-guest integration', whyNoGuests());

describe('two guests per tap path', () => {
  it.skipIf(skip)('exchange iperf3 traffic on e1000 and virtio-net and leave nothing behind', async () => {
    const plan = resolvePlan(loadProfile('quick'), { accel: 'tcg', reps: 1, warmup: 0, duration: 2, backends: 'e1000,virtio-net' });
    const resultsRoot = mkdtempSync(join(tmpdir(), 'iopath-it-'));
    const outcome = await runBench({ plan, argv: ['test'], resultsRoot, signal: new AbortController().signal, reporter: {} });
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
