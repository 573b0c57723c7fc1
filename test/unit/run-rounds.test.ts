// The order of a run's repetitions, on fakes: rounds that alternate the paths' order, guests booted
// once per path and kept up, the fall-back to blocks when memory cannot hold every path's guests, a
// busy-polling helper quiet while other paths are measured, an interruption in the middle of a round,
// a path that fails in round 2 while the others go on, and the wall-time account in run.json.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InterruptedError } from '../../harness/errors.ts';
import { runRecordSchema, type RunRecord } from '../../harness/run/record.ts';
import { chooseOrder, pathFootprint, planVisits } from '../../harness/run/schedule.ts';
import { describeWall, wallTime } from '../../harness/run/wall.ts';
import { fakeBench, FakeLauncher, fakePath, fakePlan } from '../helpers/fake-run.ts';

function onDisk(resultsRoot: string): RunRecord {
  const dir = join(resultsRoot, readdirSync(resultsRoot)[0]!);
  return runRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
}

/** The steps as `round path scenario rep`, warm-ups marked `w`. */
const steps = (r: RunRecord) => r.schedule!.steps.map((s) => `${s.round ?? '-'} ${s.backend} ${s.scenario} ${s.warmup ? 'w' : ''}${s.rep}:${s.status}`);
const repsOf = (r: RunRecord, id: string) => r.backends.find((b) => b.id === id)!.reps.map((x) => `${x.scenario}${x.warmup ? ' w' : ' '}${x.rep}:${x.status}`);

describe('planVisits', () => {
  it('rounds alternate the order of the paths (A B C, C B A, A B C) and warm up in round 0 only', () => {
    const visits = planVisits({ paths: ['A', 'B', 'C'], scenarios: ['tcp', 'udp'], repetitions: 3, warmup: 1, mode: 'rounds' });
    expect(visits.map((v) => `${v.round}${v.backend}`)).toEqual(['0A', '0B', '0C', '1C', '1B', '1A', '2A', '2B', '2C']);
    expect(visits[0]!.items).toEqual([
      { scenario: 'tcp', reps: [{ rep: 0, warmup: true }, { rep: 0, warmup: false }] },
      { scenario: 'udp', reps: [{ rep: 0, warmup: true }, { rep: 0, warmup: false }] },
    ]);
    expect(visits[4]!.items[0]!.reps).toEqual([{ rep: 1, warmup: false }]);
    expect(visits.map((v) => v.last)).toEqual([false, false, false, false, false, false, true, true, true]);
    // Every path is first, middle and last in a round equally often over an even number of rounds.
    const two = planVisits({ paths: ['A', 'B'], scenarios: ['s'], repetitions: 4, warmup: 0, mode: 'rounds' });
    expect(two.map((v) => v.backend).join('')).toBe('ABBAABBA');
  });

  it('groups: each group in its own alternating rounds (or in blocks), the next group only after the one before', () => {
    const groups = [{ paths: ['A', 'A~x'], mode: 'rounds' as const }, { paths: ['B', 'B~y'], mode: 'rounds' as const }, { paths: ['C', 'C~z'], mode: 'blocks' as const }];
    const visits = planVisits({ paths: ['A', 'A~x', 'B', 'B~y', 'C', 'C~z'], scenarios: ['tcp'], repetitions: 2, warmup: 1, mode: 'rounds', groups });
    expect(visits.map((v) => `${v.round ?? '-'}${v.backend}`)).toEqual(['0A', '0A~x', '1A~x', '1A', '0B', '0B~y', '1B~y', '1B', '-C', '-C~z']);
    expect(visits.filter((v) => v.round !== undefined && v.items[0]!.reps.some((r) => r.warmup)).map((v) => v.backend)).toEqual(['A', 'A~x', 'B', 'B~y']);
    expect(visits.filter((v) => v.last).map((v) => v.backend)).toEqual(['A~x', 'A', 'B~y', 'B', 'C', 'C~z']);
    expect(visits.at(-1)!.items[0]!.reps).toEqual([{ rep: 0, warmup: true }, { rep: 0, warmup: false }, { rep: 1, warmup: false }]);
  });

  it('blocks: one visit per path with all its warm-ups and repetitions', () => {
    const visits = planVisits({ paths: ['A', 'B'], scenarios: ['tcp'], repetitions: 2, warmup: 1, mode: 'blocks' });
    expect(visits).toEqual([
      { backend: 'A', items: [{ scenario: 'tcp', reps: [{ rep: 0, warmup: true }, { rep: 0, warmup: false }, { rep: 1, warmup: false }] }], last: true },
      { backend: 'B', items: [{ scenario: 'tcp', reps: [{ rep: 0, warmup: true }, { rep: 0, warmup: false }, { rep: 1, warmup: false }] }], last: true },
    ]);
  });
});

describe('chooseOrder', () => {
  const paths = ['a', 'b', 'c', 'd'].map((id) => pathFootprint(id, { guests: 2, guestMemoryMiB: 512 }));
  it('keeps rounds when every path fits in three quarters of the available memory', () => {
    expect(paths[0]!.memoryMiB).toBe(2 * (512 + 160));
    const c = chooseOrder('rounds', paths, 20000);
    expect(c.mode).toBe('rounds');
    expect(c.reason).toMatch(/4 path\(s\) need about 5376 MiB .* 15000 MiB/);
  });
  it('falls back to blocks and says why when they do not', () => {
    const c = chooseOrder('rounds', [...paths, pathFootprint('testpmd', { guests: 2, guestMemoryMiB: 512, helperMemoryMiB: 1024 })], 8000);
    expect(c).toEqual({ mode: 'blocks', reason: expect.stringMatching(/^fell back to blocks .*5 path\(s\) need about 7744 MiB.*6000 MiB.*cannot all stay up/) });
  });
  it('runs each path with its variants in rounds, one group after the other, when only the groups fit', () => {
    const group = (base: string, helperMemoryMiB = 0) => [
      pathFootprint(base, { guests: 2, guestMemoryMiB: 512, helperMemoryMiB }),
      ...['x', 'y'].map((n) => pathFootprint(`${base}~${n}`, { guests: 2, guestMemoryMiB: 512, helperMemoryMiB, variantOf: base })),
    ];
    // 6 series of 1344 MiB = 8064 MiB; each group 4032 MiB; 75 % of 6000 MiB is 4500 MiB.
    const c = chooseOrder('rounds', [...group('v'), ...group('u')], 6000);
    expect(c).toEqual({
      mode: 'rounds',
      reason: expect.stringMatching(/^each path with its variants in rounds, one path after the other \(6 path\(s\) need about 8064 MiB.*4500 MiB\)$/),
      groups: [{ paths: ['v', 'v~x', 'v~y'], mode: 'rounds' }, { paths: ['u', 'u~x', 'u~y'], mode: 'rounds' }],
    });
    // A group too large on its own (a helper of 1 GiB per series) runs in blocks; the others in rounds.
    const mixed = chooseOrder('rounds', [...group('v'), ...group('t', 1024)], 6000);
    expect(mixed.groups).toEqual([{ paths: ['v', 'v~x', 'v~y'], mode: 'rounds' }, { paths: ['t', 't~x', 't~y'], mode: 'blocks' }]);
    expect(mixed.reason).toMatch(/; in blocks, as the group does not fit: t with its variants \(about 7104 MiB\)$/);
    // No group fits on its own: blocks.
    expect(chooseOrder('rounds', [...group('v'), ...group('u')], 5000).mode).toBe('blocks');
    // Paths without variants gain nothing from groups: blocks.
    expect(chooseOrder('rounds', ['a', 'b', 'c'].map((id) => pathFootprint(id, { guests: 2, guestMemoryMiB: 512 })), 4000)).toMatchObject({ mode: 'blocks' });
  });
  it('blocks when the profile asks for them', () => {
    expect(chooseOrder('blocks', paths, 1e6).mode).toBe('blocks');
  });
});

describe('a run in rounds, on fakes', () => {
  it('boots every path once, keeps the guests up, and runs the repetitions in alternating rounds; run.json has the order', async () => {
    const launcher = new FakeLauncher();
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2'), fakePath('p3')], launcher, plan: fakePlan(['p1', 'p2', 'p3'], { repetitions: 3 }) });
    expect(outcome!.record.status).toBe('complete');
    const r = onDisk(resultsRoot);
    expect(r.schedule).toMatchObject({ requested: 'rounds', mode: 'rounds', reason: expect.stringMatching(/stay booted/) });
    // Guests launched once per path, all before the first repetition, torn down at the end.
    expect(launcher.launched).toEqual(['p1/a', 'p1/b', 'p2/a', 'p2/b', 'p3/a', 'p3/b']);
    const firstClient = launcher.calls.findIndex((c) => c.argv[0] === 'iperf3' && c.argv.includes('--client'));
    expect(firstClient).toBeGreaterThan(-1);
    expect(launcher.events.filter((e) => e.startsWith('launch'))).toHaveLength(6);
    expect(steps(r)).toEqual([
      '0 p1 tcp-stream w0:ok', '0 p1 tcp-stream 0:ok', '0 p1 latency w0:ok', '0 p1 latency 0:ok',
      '0 p2 tcp-stream w0:ok', '0 p2 tcp-stream 0:ok', '0 p2 latency w0:ok', '0 p2 latency 0:ok',
      '0 p3 tcp-stream w0:ok', '0 p3 tcp-stream 0:ok', '0 p3 latency w0:ok', '0 p3 latency 0:ok',
      '1 p3 tcp-stream 1:ok', '1 p3 latency 1:ok', '1 p2 tcp-stream 1:ok', '1 p2 latency 1:ok', '1 p1 tcp-stream 1:ok', '1 p1 latency 1:ok',
      '2 p1 tcp-stream 2:ok', '2 p1 latency 2:ok', '2 p2 tcp-stream 2:ok', '2 p2 latency 2:ok', '2 p3 tcp-stream 2:ok', '2 p3 latency 2:ok',
    ]);
    // The steps' times follow the order.
    const starts = r.schedule!.steps.map((s) => Date.parse(s.startedAt));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(r.schedule!.steps.every((s) => s.endedAt >= s.startedAt)).toBe(true);
    // The clients ran in the same alternating order.
    const clientPaths = launcher.calls.filter((c) => c.argv[0] === 'sockperf' && c.argv.includes('ping-pong')).map((c) => c.path);
    expect(clientPaths).toEqual(['p1', 'p1', 'p2', 'p2', 'p3', 'p3', 'p3', 'p2', 'p1', 'p1', 'p2', 'p3']);
    expect(launcher.shutDown.sort()).toEqual(['p1/a', 'p1/b', 'p2/a', 'p2/b', 'p3/a', 'p3/b']);
    for (const b of r.backends) expect(b.scenarios!.map((s) => s.status)).toEqual(['ok', 'ok']);
    // The host's speed is probed around every measured repetition, never around a warm-up.
    for (const rep of r.backends.flatMap((b) => b.reps)) {
      if (rep.warmup) expect(rep.hostProbe).toBeUndefined();
      else expect(rep.hostProbe).toMatchObject({ before: { memNs: expect.any(Number), spinNs: expect.any(Number) }, after: { memNs: expect.any(Number) } });
    }
    // Parked between turns: each guest stopped after the shared idle baseline, continued for each run
    // of visits in a row (p1: round 0, then rounds 1-2 back to back) and stopped when another path
    // is measured next. The fake
    // guest refuses to run a program while stopped, so nothing was asked of a parked guest.
    const parking = (g: string) => launcher.events.filter((e) => e.endsWith(` ${g}`) && /^(stop|cont) /.test(e)).map((e) => e.split(' ')[0]);
    expect(parking('p1/a')).toEqual(['stop', 'cont', 'stop', 'cont', 'stop']);
    expect(parking('p2/b')).toEqual(['stop', 'cont', 'stop', 'cont', 'stop', 'cont', 'stop']);
    // p3 is visited last: no parking before the teardown.
    expect(parking('p3/a')).toEqual(['stop', 'cont', 'stop', 'cont']);
  });

  it('falls back to blocks when memory cannot hold every path\'s guests: one path torn down before the next boots, said in run.json', async () => {
    const launcher = new FakeLauncher();
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2')], launcher, seams: { availableMemoryMiB: () => 600 } });
    expect(outcome!.record.status).toBe('complete');
    const r = onDisk(resultsRoot);
    expect(r.schedule).toMatchObject({ requested: 'rounds', mode: 'blocks', reason: expect.stringMatching(/^fell back to blocks/) });
    expect(steps(r).map((s) => s.split(' ').slice(0, 2).join(' '))).toEqual([...Array(6).fill('- p1'), ...Array(6).fill('- p2')]);
    expect(launcher.events.indexOf('launch p2/a')).toBeGreaterThan(launcher.events.indexOf('ready p1/b'));
    expect(repsOf(r, 'p2')).toEqual(['tcp-stream w0:ok', 'tcp-stream 0:ok', 'tcp-stream 1:ok', 'latency w0:ok', 'latency 0:ok', 'latency 1:ok']);
  });

  it('in groups when only a path with its variants fits: each group booted, measured in rounds and torn down before the next boots', async () => {
    const launcher = new FakeLauncher();
    const variant = (base: string, name: string) => {
      const p = fakePath(`${base}~${name}`);
      return { ...p, presentation: { ...p.presentation, variantOf: base, variant: name } };
    };
    const paths = [fakePath('p1'), variant('p1', 'x'), fakePath('p2'), variant('p2', 'y')];
    // Each series needs 2 * (64 + 160) MiB in fakePlan; 75 % of 1200 MiB holds two, not four.
    const { outcome, resultsRoot } = await fakeBench({ paths, launcher, plan: fakePlan(paths.map((p) => p.id)), seams: { availableMemoryMiB: () => 1200 } });
    expect(outcome!.record.status).toBe('complete');
    const r = onDisk(resultsRoot);
    expect(r.schedule).toMatchObject({ requested: 'rounds', mode: 'rounds', groups: [{ paths: ['p1', 'p1~x'], mode: 'rounds' }, { paths: ['p2', 'p2~y'], mode: 'rounds' }], reason: expect.stringMatching(/^each path with its variants in rounds/) });
    expect([...new Set(steps(r).map((s) => s.split(' ').slice(0, 2).join(' ')))]).toEqual(['0 p1', '0 p1~x', '1 p1~x', '1 p1', '0 p2', '0 p2~y', '1 p2~y', '1 p2']);
    // The second group boots only after the first is down.
    const lastDownOfFirst = Math.max(...['p1/a', 'p1/b', 'p1~x/a', 'p1~x/b'].map((g) => launcher.events.indexOf(`down ${g}`)));
    expect(lastDownOfFirst).toBeGreaterThan(-1);
    expect(launcher.events.indexOf('launch p2/a')).toBeGreaterThan(lastDownOfFirst);
    for (const b of r.backends) expect(b.scenarios!.map((s) => s.status)).toEqual(['ok', 'ok']);
  });

  it('a busy-polling helper is quiet while the other paths boot and are measured, and polls for its own turns', async () => {
    const poller: string[] = [];
    const launcher = new FakeLauncher({
      exec: (c) => {
        if (c.argv[0] === 'iperf3' && c.argv.includes('--client')) poller.push(`measure ${c.path}`);
        return undefined;
      },
    });
    await fakeBench({ paths: [fakePath('p1', { poller }), fakePath('p2')], launcher, plan: fakePlan(['p1', 'p2'], { warmup: 0, repetitions: 3 }) });
    // Quiet while the guests boot, polling for the shared idle baseline, quiet again until its turn.
    expect(poller).toEqual(['quiet p1', 'poll p1', 'quiet p1', 'poll p1', 'measure p1', 'quiet p1', 'measure p2', 'measure p2', 'poll p1', 'measure p1', 'measure p1', 'quiet p1', 'measure p2']);
  });

  it('interrupted in the middle of round 1: both paths keep what they measured, the rest is blocked, the cut repetition is in the order, all torn down', async () => {
    const controller = new AbortController();
    const launcher = new FakeLauncher({
      exec: (c) => {
        // p2's second sockperf client: round 1, where p2 comes first.
        if (c.path === 'p2' && c.argv[0] === 'sockperf' && c.argv.includes('ping-pong') && c.nth === 2) controller.abort(new InterruptedError('SIGINT'));
        return undefined;
      },
    });
    const { error, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2')], launcher, signal: controller.signal, plan: fakePlan(['p1', 'p2'], { repetitions: 3 }) });
    expect(error).toBeInstanceOf(InterruptedError);
    const r = onDisk(resultsRoot);
    expect(r.status).toBe('interrupted');
    expect(steps(r).slice(-3)).toEqual(['0 p2 latency 0:ok', '1 p2 tcp-stream 1:ok', '1 p2 latency 1:blocked']);
    expect(repsOf(r, 'p2')).toEqual(['tcp-stream w0:ok', 'tcp-stream 0:ok', 'latency w0:ok', 'latency 0:ok', 'tcp-stream 1:ok', 'tcp-stream 2:blocked', 'latency 1:blocked', 'latency 2:blocked']);
    expect(repsOf(r, 'p1')).toEqual(['tcp-stream w0:ok', 'tcp-stream 0:ok', 'latency w0:ok', 'latency 0:ok', 'tcp-stream 1:blocked', 'tcp-stream 2:blocked', 'latency 1:blocked', 'latency 2:blocked']);
    for (const id of ['p1', 'p2']) {
      const b = r.backends.find((x) => x.id === id)!;
      expect(b).toMatchObject({ status: 'partial', reason: 'interrupted by SIGINT' });
      expect(b.scenarios!.map((s) => s.status)).toEqual(['partial', 'partial']);
      expect(b.reps.filter((x) => x.status === 'blocked').every((x) => /^not run: interrupted by SIGINT/.test(x.reason!))).toBe(true);
    }
    expect(launcher.shutDown.sort()).toEqual(['p1/a', 'p1/b', 'p2/a', 'p2/b']);
  });

  it('a path whose guest is lost in round 2 is settled and torn down at once; the others run every round', async () => {
    const launcher = new FakeLauncher({
      exec: (c) => (c.path === 'p1' && c.argv[0] === 'iperf3' && c.argv.includes('--client') && c.nth === 2 ? 'lose-guest' : undefined),
    });
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2'), fakePath('p3')], launcher, plan: fakePlan(['p1', 'p2', 'p3'], { repetitions: 3 }) });
    expect(outcome!.record.status).toBe('partial');
    const r = onDisk(resultsRoot);
    const p1 = r.backends.find((b) => b.id === 'p1')!;
    expect(p1).toMatchObject({ status: 'partial', reason: expect.stringMatching(/a guest stopped answering during tcp-stream-rep1/) });
    expect(repsOf(r, 'p1')).toEqual(['tcp-stream w0:ok', 'tcp-stream 0:ok', 'latency w0:ok', 'latency 0:ok', 'tcp-stream 1:failed', 'tcp-stream 2:blocked', 'latency 1:blocked', 'latency 2:blocked']);
    for (const id of ['p2', 'p3']) expect(r.backends.find((b) => b.id === id)!.status).toBe('ok');
    // p1 went down right after its failure (round 1 ends with it), before round 2 of the others.
    expect(launcher.shutDown.slice(0, 2).sort()).toEqual(['p1/a', 'p1/b']);
    expect(steps(r).filter((s) => s.startsWith('2 ')).map((s) => s.split(' ')[1])).toEqual(['p2', 'p2', 'p3', 'p3']);
  });

  it('accounts for the wall time: every phase with its start, windows as the measured part, the fraction outside them', async () => {
    const { resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2')] });
    const r = onDisk(resultsRoot);
    expect(r.phases.every((p) => typeof p.startedAt === 'string' && p.ms >= 0)).toBe(true);
    // One window per measured repetition and variant: 2 paths x 2 scenarios x 2 repetitions.
    expect(r.phases.filter((p) => p.phase === 'window')).toHaveLength(8);
    expect(r.phases.filter((p) => p.phase === 'warmup')).toHaveLength(4);
    expect(r.phases.filter((p) => p.phase === 'collectors-start')).toHaveLength(8 + 2);
    const w = r.wall!;
    expect(w).toEqual(wallTime(r));
    expect(w.totalMs).toBe(Date.parse(r.endedAt!) - Date.parse(r.startedAt));
    expect(w.measuredMs).toBe(r.phases.filter((p) => p.phase === 'window').reduce((a, p) => a + p.ms, 0));
    expect(w.measuredMs).toBeGreaterThan(0);
    expect(w.outsideFraction).toBeCloseTo(1 - w.measuredMs / w.totalMs, 10);
    expect(Object.values(w.byPhase).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(w.totalMs);
    expect(describeWall(w)).toMatch(/^wall time [\d.]+ s, of which [\d.]+ s in measured windows: [\d.]+ % outside them \(.*idle baseline/);
  });
});

describe('the wall-time account', () => {
  it('counts overlapping phases of several paths once, by the wall time they covered', () => {
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const w = wallTime({
      startedAt: at(0),
      endedAt: at(20),
      phases: [
        { phase: 'idle-baseline', backend: 'p1', ms: 4000, startedAt: at(2) },
        { phase: 'idle-baseline', backend: 'p2', ms: 4000, startedAt: at(2) },
        { phase: 'idle-baseline', backend: 'p3', ms: 3000, startedAt: at(5) },
        { phase: 'window', backend: 'p1', ms: 10_000, startedAt: at(9) },
      ],
    } as Parameters<typeof wallTime>[0])!;
    expect(w.byPhase['idle-baseline']).toBe(6000);
    expect(w.byPhase.other).toBe(4000);
    expect(w.outsideFraction).toBeCloseTo(0.5, 10);
  });
});

describe('warm-ups', () => {
  it('run the scenario with at most warmupSec of traffic and nothing omitted; measured repetitions keep the profile\'s', async () => {
    const { warmupPlan } = await import('../../harness/run/scenario-run.ts');
    const tcp = { kind: 'tcp-stream', topology: 'guest-to-guest', durationSec: 10, omitSec: 2, parallel: 1, name: 'tcp-stream' } as const;
    expect(warmupPlan(tcp, 2)).toEqual({ ...tcp, durationSec: 2, omitSec: 0 });
    expect(warmupPlan({ ...tcp, durationSec: 1 }, 2)).toMatchObject({ durationSec: 1, omitSec: 0 });
    const latency = { kind: 'latency', topology: 'guest-to-guest', durationSec: 5, name: 'latency' } as const;
    expect(warmupPlan(latency, 2)).toEqual({ ...latency, durationSec: 2 });
    const launcher = new FakeLauncher();
    await fakeBench({ paths: [fakePath('p1')], launcher, plan: { ...fakePlan(['p1'], { scenarios: [{ ...tcp, durationSec: 3 }] }), warmupSec: 1 } });
    const clients = launcher.calls.filter((c) => c.argv[0] === 'iperf3' && c.argv.includes('--client')).map((c) => c.argv.join(' '));
    expect(clients[0]).toMatch(/--time 1 --omit 0 /);
    expect(clients.slice(1).every((c) => / --time 3 --omit 2 /.test(c))).toBe(true);
  });
});
