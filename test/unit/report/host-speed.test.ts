import { describe, expect, it } from 'vitest';
import { buildReportModel } from '../../../harness/report/build.ts';
import { hostSpeedWarnings, probeRange, probeSentence } from '../../../harness/report/host-speed.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { copyRun } from './helpers.ts';

// e1000 tcp-stream in this fixture: repetitions 0..4 read 1.404, 1.394, 1.388, 1.401, 1.360 Gbit/s.
const FASTEST_FIRST = [0, 3, 1, 2, 4];

/** The fixture with a probe reading on every measured repetition; `ns(backend, scenario, rep)` gives it. */
function withProbe(ns: (backend: string, scenario: string, rep: number) => number | undefined): string {
  return copyRun('tcg-dev-a-1', {
    record: (r) => ({
      ...r,
      backends: r.backends.map((b) => ({
        ...b,
        reps: b.reps.map((rep) => {
          const v = rep.warmup ? undefined : ns(b.id, rep.scenario, rep.rep);
          return v === undefined ? rep : { ...rep, hostProbe: { before: { memNs: 90, spinNs: v, cpu: 0 }, after: { memNs: 140, spinNs: v + 20 } } };
        }),
      })),
    }),
  });
}

describe('the host-speed probe in the report', () => {
  it('warns when a series followed the probe, naming the correlation and the probe range', () => {
    // e1000 tcp-stream: the slower the repetition, the slower the host read.
    const dir = withProbe((b, s, rep) => (b === 'e1000' && s === 'tcp-stream' ? 1700 + 300 * FASTEST_FIRST.indexOf(rep) : 1700));
    const ws = hostSpeedWarnings(loadRun(dir));
    expect(ws).toHaveLength(1);
    expect(ws[0]).toMatchObject({ code: 'host-speed', severity: 'warning', subject: { backend: 'e1000', scenario: 'tcp-stream', metric: 'throughput' } });
    expect(ws[0]!.message).toMatch(/rank correlation with the core-speed probe -1\.00 over 5 repetitions/);
    expect(ws[0]!.message).toMatch(/factor of 1\.70 \(1\.71-2\.91 us per 1,000 iterations\)/);
  });

  it('says nothing when the probe barely moved, or the series did not follow it', () => {
    // Perfectly correlated, but the core loop moved by 4 %: within what a steady host does.
    expect(hostSpeedWarnings(loadRun(withProbe((_b, _s, rep) => 1700 + 15 * FASTEST_FIRST.indexOf(rep))))).toEqual([]);
    // The host moved a lot, in an order unrelated to throughput (ranks 3 1 5 2 4 against 1 3 4 2 5).
    const unrelated = [2200, 1700, 2900, 1900, 2600];
    const ws = hostSpeedWarnings(loadRun(withProbe((b, s, rep) => (b === 'e1000' && s === 'tcp-stream' ? unrelated[rep] : 100))));
    expect(ws).toEqual([]);
  });

  it('puts the probe range in the run view, and stored runs without it render as before', () => {
    const probed = loadRun(withProbe((_b, _s, rep) => 1700 + 10 * rep));
    const range = probeRange(probed)!;
    expect(range.memNs).toEqual({ min: 90, median: expect.any(Number), max: 140 });
    expect(range.spinNs).toEqual({ min: 1700, median: expect.any(Number), max: 1760 });
    expect(probeSentence(range)).toMatch(/memory latency 90-140 ns per step .* core loop 1\.70-1\.76 us per 1,000 iterations/);
    expect(buildReportModel([probed], { generatedAt: '2026-01-01T00:00:00.000Z' }).runs[0]!.hostSpeed).toMatch(/^Host speed, probed before and after each of \d+ measured repetitions/);
    const plain = loadRun(copyRun('tcg-dev-a-1'));
    expect(probeRange(plain)).toBeUndefined();
    expect(buildReportModel([plain], { generatedAt: '2026-01-01T00:00:00.000Z' }).runs[0]!.hostSpeed).toBeUndefined();
  });
});
