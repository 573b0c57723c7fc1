// CPU placement inside a run, on fakes: the placer is asked once per path after both guests are up,
// with the auto plan of that path (testpmd-like helpers get their cores before set-up); run.json
// carries the placement, the other-load figure taken at teardown, and the host readiness; `none`
// asks for no plan. In rounds every path is planned as if alone on the run's CPUs and pinned once;
// iopath's own affinity follows the placements in force. The readiness record's load item follows
// the worst path.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { NicBackend } from '../../harness/backends/types.ts';
import { readinessRecord, withPathLoad } from '../../harness/run/placement-step.ts';
import { runRecordSchema, type RunRecord } from '../../harness/run/record.ts';
import { fakeBench, FakeLauncher, fakePath, fakePlan, FakePlacer } from '../helpers/fake-run.ts';

function onDisk(resultsRoot: string): RunRecord {
  const dir = join(resultsRoot, readdirSync(resultsRoot)[0]!);
  return runRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
}

/** A path whose helper pins itself, like DPDK: it records the cores set-up was given. */
function selfPinning(given: unknown[]): NicBackend {
  const base = fakePath('poller');
  return {
    ...base,
    helpers: [{ role: 'poller', what: 'a busy-polling switch', cpu: { busyPoll: 'always', pinnedBy: 'itself', lightThreads: true } }],
    async setUp(scope, ctx) {
      given.push(ctx.cores);
      const inst = await base.setUp(scope, ctx);
      return { ...inst, processes: () => [{ role: 'poller', pid: 4242 }] };
    },
  };
}

/** The path, adding `setup <id>` to the placer's events when its set-up starts. */
function noting(placer: FakePlacer, base: NicBackend): NicBackend {
  return {
    ...base,
    async setUp(scope, ctx) {
      placer.events.push(`setup ${base.id}`);
      return base.setUp(scope, ctx);
    },
  };
}

describe('placement in a run', () => {
  it('auto: one placement per path after its guests are ready, recorded with other load and readiness', async () => {
    const placer = new FakePlacer();
    const launcher = new FakeLauncher();
    const given: unknown[] = [];
    const paths = [fakePath('p1'), selfPinning(given)];
    const { resultsRoot } = await fakeBench({ paths, launcher, plan: fakePlan(['p1', 'poller'], { placement: 'auto' }), seams: { placer } });
    expect(placer.requests.map((r) => r.guests.map((g) => g.name))).toEqual([['a', 'b'], ['a', 'b']]);
    expect(placer.finished).toEqual([1, 2]);
    // set-up of the self-pinning helper got its cores: main lcore on the housekeeping CPU, the poller on guest a's.
    expect(given).toEqual([{ poller: { light: 0, busy: [1] } }]);
    expect(placer.requests[1]!.helpers).toEqual([{ role: 'poller', unit: 'poller', pid: 4242, pinnedBy: 'itself' }]);
    expect(placer.requests[1]!.plan!.shared.find((s) => s.cpu === 1)!.units).toContain('poller (busy-polling)');

    const record = onDisk(resultsRoot);
    const p1 = record.backends.find((b) => b.id === 'p1')!.placement!;
    expect(p1).toMatchObject({ policy: 'auto', cpus: '0-1', housekeeping: 0, otherLoad: { status: 'ok', busyCpus: 0.01 } });
    expect(p1.threads.map((t) => `${t.role}:${t.pinned}:${t.allowed}`)).toEqual(['qemu a:1:1', 'qemu b:0:0']);
    expect(record.readiness!.items.map((i) => i.id)).toEqual(['governor', 'load']);
    expect(record.readiness!.items.find((i) => i.id === 'load')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^p1: processes outside the run .*; poller: processes outside/) });
    expect(record.readiness!.ready).toBe(true);
  });

  it('none: the placer plans nothing and set-up gets no cores', async () => {
    const placer = new FakePlacer();
    const given: unknown[] = [];
    const { resultsRoot } = await fakeBench({ paths: [selfPinning(given)], plan: fakePlan(['poller'], { placement: 'none' }), seams: { placer } });
    expect(placer.requests).toHaveLength(1);
    expect(placer.requests[0]!.plan).toBeUndefined();
    expect(given).toEqual([undefined]);
    const p = onDisk(resultsRoot).backends[0]!.placement!;
    expect(p.policy).toBe('none');
    expect(p.threads.every((t) => t.pinned === undefined && t.allowed === '0-1')).toBe(true);
  });

  it('rounds: every path is planned as if alone on the run\'s CPUs, pinned once at its bring-up, with the other paths up recorded', async () => {
    const placer = new FakePlacer();
    const paths = ['p1', 'p2'].map((id) => noting(placer, fakePath(id)));
    const { resultsRoot } = await fakeBench({ paths, plan: fakePlan(['p1', 'p2'], { placement: 'auto', repetitions: 3 }), seams: { placer } });
    // The run's CPUs are read once, before anything is pinned; both plans are the same.
    expect(placer.cpusAsked).toBe(1);
    expect(placer.requests.map((r) => r.cpus)).toEqual([[0, 1], [0, 1]]);
    expect(placer.requests[1]!.plan).toEqual(placer.requests[0]!.plan);
    // One placement per path for the three rounds. While p2 starts, iopath (held on the housekeeping
    // core by p1's placement) has the run's CPUs, and is back on core 0 once p2's guests are up; the
    // last undo gives them back.
    expect(placer.events).toEqual(['setup p1', 'apply 1', 'self 0-1', 'setup p2', 'self 0', 'apply 2', 'finish 1', 'finish 2', 'self 0-1']);
    const record = onDisk(resultsRoot);
    expect(record.schedule!.mode).toBe('rounds');
    const placement = (id: string) => record.backends.find((b) => b.id === id)!.placement!;
    expect(placement('p1')).toMatchObject({ cpus: '0-1', housekeeping: 0, alongside: ['p2'] });
    expect(placement('p2')).toMatchObject({ cpus: '0-1', housekeeping: 0, alongside: ['p1'] });
    expect(placement('p2').units).toEqual(placement('p1').units);
  });

  it('rounds: a path that fails to boot while another is placed puts iopath back on the housekeeping core', async () => {
    const placer = new FakePlacer();
    const launcher = new FakeLauncher({ neverReady: (p, g) => p === 'p2' && g === 'b' });
    const paths = ['p1', 'p2'].map((id) => noting(placer, fakePath(id)));
    const { resultsRoot } = await fakeBench({ paths, launcher, plan: fakePlan(['p1', 'p2'], { placement: 'auto' }), seams: { placer } });
    expect(placer.events).toEqual(['setup p1', 'apply 1', 'self 0-1', 'setup p2', 'self 0', 'finish 1', 'self 0-1']);
    const record = onDisk(resultsRoot);
    expect(record.backends.find((b) => b.id === 'p2')!.placement).toBeUndefined();
    expect(record.backends.find((b) => b.id === 'p1')!.placement!.alongside).toBeUndefined();
  });

  it('blocks: the next path starts with iopath on the run\'s CPUs though the previous one\'s teardown overlaps it, and the run ends with them', async () => {
    const placer = new FakePlacer();
    const paths = ['p1', 'p2'].map((id) => noting(placer, fakePath(id)));
    const { resultsRoot } = await fakeBench({ paths, plan: fakePlan(['p1', 'p2'], { placement: 'auto', order: 'blocks' }), seams: { placer } });
    expect(onDisk(resultsRoot).schedule!.mode).toBe('blocks');
    const e = placer.events;
    expect(e.filter((x) => !x.startsWith('self'))).toEqual(expect.arrayContaining(['setup p1', 'apply 1', 'setup p2', 'apply 2', 'finish 1', 'finish 2']));
    // Between p1's placement and p2's set-up iopath was given the run's CPUs; it is there at the end.
    expect(e.slice(e.indexOf('apply 1'), e.indexOf('setup p2'))).toContain('self 0-1');
    expect(e.at(-1)).toBe('self 0-1');
    expect(e.indexOf('apply 2')).toBeGreaterThan(e.indexOf('setup p2'));
  });

  it('none: iopath\'s own affinity is never touched, in rounds either', async () => {
    const placer = new FakePlacer();
    await fakeBench({ paths: [fakePath('p1'), fakePath('p2')], plan: fakePlan(['p1', 'p2'], { placement: 'none' }), seams: { placer } });
    expect(placer.events.filter((e) => e.startsWith('self'))).toEqual([]);
    expect(placer.requests.map((r) => r.plan)).toEqual([undefined, undefined]);
  });

  it('a path whose boot failed is never placed', async () => {
    const placer = new FakePlacer();
    const launcher = new FakeLauncher({ neverReady: (_p, g) => g === 'b' });
    await fakeBench({ paths: [fakePath('p1')], launcher, plan: fakePlan(['p1'], { placement: 'auto' }), seams: { placer } });
    expect(placer.requests).toEqual([]);
  });
});

describe('the run readiness record', () => {
  const items = [
    { id: 'governor', title: 'g', status: 'unknown' as const, detail: 'unknown (no cpufreq on this host)' },
    { id: 'load', title: 'l', status: 'not-ready' as const, detail: 'load average 3.00' },
    { id: 'hugepages', title: 'h', status: 'ok' as const, detail: 'reserved' },
  ];
  const quiet = { seconds: 30, busyCpus: 0.02, top: [], status: 'ok' as const, detail: 'quiet' };
  const busy = { seconds: 30, busyCpus: 0.6, top: [], status: 'not-ready' as const, detail: 'busy' };

  it('leaves the load average out (it counts the run\'s own guests) and fills the load item path by path', () => {
    const r = readinessRecord(items, new Date('2026-01-01T00:00:00Z'));
    expect(r.items.map((i) => `${i.id}:${i.status}`)).toEqual(['governor:unknown', 'hugepages:ok', 'load:unknown']);
    expect(r.ready).toBe(true);
    const once = withPathLoad(r, 'p1', quiet);
    expect(once.items.at(-1)).toMatchObject({ status: 'ok', detail: 'p1: quiet' });
    const twice = withPathLoad(once, 'p2', busy);
    expect(twice.items.at(-1)).toMatchObject({ status: 'not-ready', detail: 'p1: quiet; p2: busy', fix: expect.stringMatching(/stop other work/) });
    expect(twice.ready).toBe(false);
    expect(withPathLoad(twice, 'p3', quiet).items.at(-1)!.status).toBe('not-ready');
  });
});
