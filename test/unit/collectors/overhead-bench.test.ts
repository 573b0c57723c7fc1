// The overhead benchmark's gate, schedule and arithmetic, on scripted collectors and sample records
// (the real run needs booted guests; the report gives measured figures).

import { describe, expect, it } from 'vitest';
import { analyseOverhead, collectorsOnIn, formatOverhead, formatOwnCpu, formatResolution, GatedCollector, MAX_PAIRS, OwnCpuMeter, ownCpuKey, throughputSeries } from '../../../harness/collectors/overhead-bench.ts';
import { overheadDefaults, overheadLimits } from '../../../harness/config/flags.ts';
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
    expect(formatOverhead(r)).toMatch(/on\/off 0\.980, 95% interval 0\.980\.\.0\.980 \(±0 %\): resolves a 3 % difference\n  goal >= 0\.97: met/);
  });

  it('says when the interval is too wide to decide', () => {
    // on/off of the four pairs: 1.0, 0.9, 1.05, 0.95
    const records = [1.0, 1.0, 1.0, 0.9, 1.05, 1.0, 1.0, 0.95].map((v, i) => rec(i, v * 1e9));
    const r = analyseOverhead(throughputSeries(records)[0]!, 0.97)!;
    expect(r.verdict).toBe('undecided');
    expect(formatOverhead(r)).toMatch(/too wide to decide/);
  });

  // Throughputs (Gbit/s) of 8 on/off pairs measured in one run on a 2-core host under TCG, pair by pair.
  const measured = {
    e1000: { off: [0.796, 0.824, 1.001, 0.966, 0.999, 1.005, 1.004, 0.921], on: [0.77, 0.803, 0.964, 0.931, 0.967, 0.983, 0.928, 0.839] },
    'virtio-net': { off: [3.836, 3.968, 3.938, 3.79, 3.99, 3.865, 3.585, 2.52], on: [3.777, 3.713, 3.958, 3.675, 3.647, 3.625, 3.457, 2.98] },
  };
  /** The pairs laid out by the gate: pair k is repetitions 2k and 2k+1, on first when k is even. */
  function series(backend: keyof typeof measured) {
    const { on, off } = measured[backend];
    const records = on.flatMap((v, k) => {
      const [first, second] = k % 2 === 0 ? [v, off[k]!] : [off[k]!, v];
      return [rec(2 * k, first * 1e9, { backend }), rec(2 * k + 1, second * 1e9, { backend })];
    });
    return throughputSeries(records)[0]!;
  }

  it('an interval narrower than ±3 % resolves a 3 % difference, even when it holds the goal', () => {
    const r = analyseOverhead(series('e1000'), 0.97)!;
    expect(r.paired.halfWidth).toBeCloseTo(0.0221, 3);
    expect(r.resolved).toBe(true);
    expect(r.verdict).toBe('undecided');
    const text = formatOverhead(r);
    expect(text).toMatch(/on\/off 0\.956, 95% interval 0\.935\.\.0\.977 \(±2\.2 %\): resolves a 3 % difference\n/);
    expect(text).toMatch(/goal >= 0\.97: cannot tell, the goal lies inside the interval \(the collectors cost between 2\.3 % and 6\.5 % of throughput\)/);
    expect(text).not.toMatch(/too wide/);
  });

  it('a wider one says so, and how many pairs its spread needs', () => {
    const r = analyseOverhead(series('virtio-net'), 0.97)!;
    expect(r.paired.halfWidth).toBeCloseTo(0.0694, 3);
    expect(r.resolved).toBe(false);
    expect(r.pairsNeeded).toBe(31);
    expect(formatOverhead(r)).toMatch(/\(±6\.9 %\): does NOT resolve a 3 % difference \(it needs narrower than ±3 %\); the spread of these pairs needs about 31 pairs \(--rounds 31\)\n  goal >= 0\.97: cannot tell, the interval is too wide to decide/);
  });

  it('the closing line names what is not resolved and the --rounds that would resolve it', () => {
    const e1000 = analyseOverhead(series('e1000'), 0.97)!;
    const virtio = analyseOverhead(series('virtio-net'), 0.97)!;
    expect(formatResolution([e1000])).toBe('every interval is narrower than ±3 %: each resolves a 3 % difference');
    expect(formatResolution([e1000, virtio])).toBe('NOT resolved at ±3 % (virtio-net tcp-stream): run again with --rounds 31');
    const one = analyseOverhead(throughputSeries([rec(0, 1e9), rec(1, 1.1e9)])[0]!, 0.97)!;
    expect(formatResolution([one])).toBe('NOT resolved at ±3 % (e1000 tcp-stream): e1000 tcp-stream had one pair, no spread to go by');
  });

  it('the default number of pairs resolves ±3 % at the largest spread measured', () => {
    const virtio = analyseOverhead(series('virtio-net'), overheadDefaults.goal)!;
    expect(virtio.pairsNeeded).not.toBeNull();
    expect(overheadDefaults.rounds).toBeGreaterThanOrEqual(virtio.pairsNeeded!);
    expect(overheadLimits.rounds.safeParse(overheadDefaults.rounds).success).toBe(true);
    expect(overheadLimits.rounds.safeParse(MAX_PAIRS).success).toBe(true);
    expect(overheadLimits.rounds.safeParse(MAX_PAIRS + 1).success).toBe(false);
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

describe('iopath\'s own CPU around the windows', () => {
  // A scripted clock: each reading advances the wall by 1000 ms and iopath's CPU by what the list says.
  function scripted(cpuMsPerWindow: number[]) {
    let cpuUs = 0;
    let atMs = 0;
    let starting = true;
    let i = 0;
    return () => {
      if (!starting) {
        cpuUs += 1000 * cpuMsPerWindow[i++]!;
        atMs += 1000;
      }
      starting = !starting;
      return { cpuUs, atMs };
    };
  }

  it('reads every measured window, on and off alike, and leaves out warm-ups and idle baselines', async () => {
    const meter = new OwnCpuMeter(scripted([7, 50, 20, 10, 12, 30]));
    const windows: Window[] = [{ ...measure(0), kind: 'idle' }, measure(0, true), measure(0), measure(1), measure(2), measure(3)];
    for (const w of windows) {
      await meter.start(w);
      expect(await meter.stop(w)).toEqual([]);
    }
    expect([...meter.windows.keys()]).toEqual([0, 1, 2, 3].map((rep) => ownCpuKey('e1000', 'tcp-stream', rep)));
    expect(meter.windows.get(ownCpuKey('e1000', 'tcp-stream', 0))).toEqual({ cpuMs: 20, wallMs: 1000 });
    // Reps 0 and 3 are on (A B B A), 1 and 2 off: medians 25 and 11 ms per second.
    const line = formatOwnCpu({ backend: 'e1000', scenario: 'tcp-stream' }, [0, 1, 2, 3], meter.windows);
    expect(line).toContain('on 25.0 ms per s, off 11.0 ms per s');
  });

  it('says nothing when one side has no window', () => {
    const windows = new Map([[ownCpuKey('e1000', 'tcp-stream', 0), { cpuMs: 5, wallMs: 1000 }]]);
    expect(formatOwnCpu({ backend: 'e1000', scenario: 'tcp-stream' }, [0, 1], windows)).toBeNull();
  });

  it('goes first in the inner ring and is never gated', async () => {
    const { gatedFactory } = await import('../../../harness/commands/overhead.ts');
    const trace = recorder();
    const meter = new OwnCpuMeter(scripted([3, 4]));
    const f = gatedFactory({ qemuArgs: () => [], create: () => ({ inner: [trace], outer: [] }) }, ['guest-nic'], meter);
    const rings = f.create({} as Parameters<typeof f.create>[0]);
    expect(rings.inner[0]).toBe(meter);
    for (const rep of [0, 1]) {
      for (const c of rings.inner) await c.start(measure(rep));
      for (const c of rings.inner) await c.stop(measure(rep));
    }
    expect(meter.windows.size).toBe(2);
    expect(trace.calls).toEqual([]);
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
