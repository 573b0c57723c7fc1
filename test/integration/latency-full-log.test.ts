// The guest side of latency distributions: sockperf in a real guest writes its full log, the log
// comes back through the agent into the run folder, and the run's percentiles are those of the
// stored round trips (and agree with sockperf's own summary). Boots two TCG guests on one tap path.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { buildReportModel } from '../../harness/report/build.ts';
import { buildFigures } from '../../harness/report/figures.ts';
import { loadRun } from '../../harness/report/load.ts';
import { runBench } from '../../harness/run/runner.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { exactPercentiles } from '../../harness/stats/percentiles.ts';
import { FULL_LOG_SOURCE } from '../../harness/workloads/latency.ts';
import { parseSockperf } from '../../harness/workloads/sockperf.ts';
import { parseSockperfFullLog } from '../../harness/workloads/sockperf-log.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('latency full log in real guests', whyNoGuests());

describe('latency distributions from real guests', () => {
  guests.it('stores every round trip beside the repetition and reports the percentiles of those round trips', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-latency-'));
    const profile = join(dir, 'latency.yaml');
    writeFileSync(profile, ['backends: [virtio-net]', 'repetitions: 1', 'warmup: 0', 'accel: tcg', 'scenarios:', '  - { kind: latency, durationSec: 3 }'].join('\n'));
    const outcome = await runBench({ plan: resolvePlan(loadProfile(profile)), argv: ['test'], resultsRoot: join(dir, 'results'), signal: new AbortController().signal, reporter: {} });
    const b = outcome.record.backends[0]!;
    expect(b.status, JSON.stringify(b.reps)).toBe('ok');
    const rep = b.reps.find((r) => r.scenario === 'latency' && !r.warmup)!;
    expect(rep.notes ?? [], 'the log was read and parsed').not.toContainEqual(expect.stringMatching(/full log could not|could not parse sockperf full log/));

    // The log is in the run folder, compressed when large.
    const stored = (rep.raw ?? []).find((f) => /sockperf-full-log\.csv(\.gz)?$/.test(f));
    expect(stored, JSON.stringify(rep.raw)).toBeDefined();
    expect(existsSync(join(outcome.runDir, stored!))).toBe(true);
    const bytes = readFileSync(join(outcome.runDir, stored!));
    const log = parseSockperfFullLog((stored!.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8'));
    const pct = exactPercentiles(log.roundTripsUs)!;
    console.log(`virtio-net: ${pct.n} round trips; ${pct.percentiles.map((p) => `p${p.percent} ${p.value.toFixed(1)} µs`).join(', ')}; max ${pct.max.toFixed(1)} µs`);
    expect(pct.n).toBeGreaterThan(100);

    // The samples are the percentiles of the stored round trips.
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    const sample = (metric: string) => samples.find((s) => s.scenario === 'latency' && !s.warmup && s.metric === metric);
    expect(sample('latencySamples')).toMatchObject({ value: pct.n, source: FULL_LOG_SOURCE });
    expect(sample('latencyMax')!.value).toBeCloseTo(pct.max, 6);
    const metricOf: Record<number, string> = { 50: 'latencyP50', 90: 'latencyP90', 99: 'latencyP99', 99.9: 'latencyP999', 99.99: 'latencyP9999' };
    for (const p of pct.percentiles) {
      const metric = metricOf[p.percent]!;
      expect(sample(metric), metric).toMatchObject({ source: FULL_LOG_SOURCE });
      expect(sample(metric)!.value, metric).toBeCloseTo(p.value, 6);
    }

    // Round trips, as sockperf's summary of the same repetition says (twice its half round trip):
    // the two pick ranks one apart at most, so their medians agree closely.
    const summary = parseSockperf(readFileSync(join(outcome.runDir, (rep.raw ?? []).find((f) => f.endsWith('.sockperf.txt'))!), 'utf8'));
    expect(log.observations).toBe(summary.observations);
    expect(Math.abs(sample('latencyP50')!.value - summary.p50) / summary.p50).toBeLessThan(0.05);

    // The report draws the percentile plot from the stored run.
    const model = buildReportModel([loadRun(outcome.runDir)], { generatedAt: new Date().toISOString() });
    expect(buildFigures(model).map((f) => f.id)).toContain('latency-percentiles-latency');
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 300_000);
});
