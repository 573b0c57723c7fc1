// The overhead benchmark's gate, schedule and arithmetic, on scripted collectors and sample records
// (the real run needs booted guests; the report gives measured figures).

import { describe, expect, it } from 'vitest';
import { analyseOverhead, collectorsOnIn, formatOverhead, GatedCollector, throughputSeries } from '../../../harness/collectors/overhead-bench.ts';
import type { Collector, Window } from '../../../harness/collectors/types.ts';
import type { SampleRecord } from '../../../harness/samples.ts';

const measure = (rep: number, warmup = false): Window => ({ kind: 'measure', backend: 'e1000', scenario: 'tcp-stream', rep, warmup });

function recorder(): Collector & { calls: string[] } {
  const calls: string[] = [];
  return {
    id: 'tcg-trace',
    source: 'TCG trace',
    calls,
    availability: async () => ({ available: true }),
    start: async (w) => void calls.push(`start ${w.kind} ${w.rep}`),
    stop: async (w) => {
      calls.push(`stop ${w.kind} ${w.rep}`);
      return [{ metric: 'deviceAccesses', value: 1, unit: 'count', source: 'tcg-trace' }];
    },
  };
}

describe('the gate', () => {
  it('runs the collector in idle windows and in the A repetitions of A B B A, never in warm-ups', () => {
    expect(collectorsOnIn({ ...measure(0), kind: 'idle' })).toBe(true);
    expect([0, 1, 2, 3, 4, 5].map((r) => collectorsOnIn(measure(r)))).toEqual([true, false, false, true, true, false]);
    expect(collectorsOnIn(measure(0, true))).toBe(false);
  });

  it('passes start and stop through only where on, and returns nothing where off', async () => {
    const inner = recorder();
    const gated = new GatedCollector(inner, collectorsOnIn);
    await gated.start(measure(0));
    expect(await gated.stop(measure(0))).toHaveLength(1);
    await gated.start(measure(1));
    expect(await gated.stop(measure(1))).toEqual([]);
    expect(inner.calls).toEqual(['start measure 0', 'stop measure 0']);
    expect(gated.id).toBe('tcg-trace');
  });

  it('a collector not chosen stays off in every window', async () => {
    const inner = recorder();
    const gated = new GatedCollector(inner, collectorsOnIn, false);
    await gated.start({ ...measure(0), kind: 'idle' });
    expect(await gated.stop({ ...measure(0), kind: 'idle' })).toEqual([]);
    expect(inner.calls).toEqual([]);
  });
});

function rec(rep: number, value: number, extra: Partial<SampleRecord> = {}): SampleRecord {
  return { backend: 'e1000', scenario: 'tcp-stream', rep, warmup: false, metric: 'throughput', value, unit: 'bit/s', source: 'iperf3', ...extra } as SampleRecord;
}

describe('analysis', () => {
  it('pairs on with off by the schedule and gives the geometric mean ratio', () => {
    // on: reps 0, 3, 4, 7; off: reps 1, 2, 5, 6. Every pair has on/off = 0.98.
    const off = new Map([[1, 1], [2, 1.02], [5, 0.9], [6, 0.95]]);
    const on = new Map([[0, 0.98], [3, 0.98 * 1.02], [4, 0.98 * 0.9], [7, 0.98 * 0.95]]);
    const records = [...on, ...off].map(([rep, v]) => rec(rep, v * 1e9));
    records.push(rec(0, 5e9, { warmup: true }), rec(0, 7, { metric: 'retransmits', unit: 'count' } as Partial<SampleRecord>));
    const [series] = throughputSeries(records);
    const r = analyseOverhead(series!, 0.97)!;
    expect(r.paired.n).toBe(4);
    expect(r.on).toHaveLength(4);
    expect(r.off).toHaveLength(4);
    expect(r.paired.ratio).toBeCloseTo(0.98, 10);
    expect(r.paired.ci!.low).toBeCloseTo(0.98, 10);
    expect(r.verdict).toBe('yes');
    expect(formatOverhead(r)).toMatch(/on\/off 0\.980, 95% interval 0\.980\.\.0\.980 .*goal >= 0\.97: met/);
  });

  it('says when the interval is too wide to decide', () => {
    // on/off of the four pairs: 1.0, 0.9, 1.05, 0.95
    const records = [1.0, 1.0, 1.0, 0.9, 1.05, 1.0, 1.0, 0.95].map((v, i) => rec(i, v * 1e9));
    const r = analyseOverhead(throughputSeries(records)[0]!, 0.97)!;
    expect(r.verdict).toBe('undecided');
    expect(formatOverhead(r)).toMatch(/too wide to decide/);
  });

  it('no complete pair, no result', () => {
    expect(analyseOverhead(throughputSeries([rec(0, 1e9)])[0]!)).toBeNull();
  });
});

describe('the overhead run\'s collector factory', () => {
  it('gates both rings of the standard factory, and --collectors leaves the others off', async () => {
    const { gatedFactory } = await import('../../../harness/commands/overhead.ts');
    const trace = recorder();
    const nic = { ...recorder(), id: 'guest-nic' };
    const base = { qemuArgs: () => ['-D', 'x'], create: () => ({ inner: [trace], outer: [nic] }) };
    const f = gatedFactory(base, ['guest-nic']);
    expect(f.qemuArgs('tcg', { traceFile: 'x' })).toEqual(['-D', 'x']);
    const rings = f.create({} as Parameters<typeof f.create>[0]);
    for (const c of [...rings.inner, ...rings.outer]) {
      await c.start(measure(0));
      await c.stop(measure(0));
    }
    expect(trace.calls).toEqual([]);
    expect(nic.calls).toEqual(['start measure 0', 'stop measure 0']);
  });
});

describe('the overhead run\'s progress', () => {
  it('prints each measured throughput with the side the gate put it on, and nothing for warm-ups or other metrics', async () => {
    const { overheadReporter } = await import('../../../harness/commands/overhead.ts');
    const lines: string[] = [];
    const notes: string[] = [];
    const reporter = overheadReporter((l) => lines.push(l), (l) => notes.push(l));
    reporter.samples!([rec(0, 1.5e9), rec(1, 1.25e9), rec(0, 9e9, { warmup: true }), rec(2, 7, { metric: 'retransmits', unit: 'count' } as Partial<SampleRecord>)]);
    reporter.phase!('order: rounds');
    expect(lines).toEqual(['  e1000 tcp-stream rep 0 collectors on : 1.500 Gbit/s', '  e1000 tcp-stream rep 1 collectors off: 1.250 Gbit/s']);
    expect(notes).toEqual(['order: rounds']);
  });
});
