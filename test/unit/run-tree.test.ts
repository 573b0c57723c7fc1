// The run as a tree, on fakes: the real runner, scenarios, windows and store, with guests that
// answer from captured tool output and paths with no host side. Every outcome a real run can have
// (complete, skipped, failed set-up or boot, a failed repetition or scenario, a lost guest, a failed
// teardown, an interrupted or failed run) is checked here without QEMU: statuses and reasons at each
// level, what is blocked and why, what reaches run.json and run.log, and that teardown always ran.

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommandError, ExitCode, exitCodeOf, InterruptedError } from '../../harness/errors.ts';
import { loadRun } from '../../harness/report/load.ts';
import { runRecordSchema, type RunRecord } from '../../harness/run/record.ts';
import { markRunInterrupted } from '../../harness/run/recover.ts';
import { RunStore } from '../../harness/run/store.ts';
import { RunTree } from '../../harness/run/tree.ts';
import { FakeCollector, fakeBench, fakeCollectors, FakeLauncher, fakePath, fakePlan } from '../helpers/fake-run.ts';

function onDisk(resultsRoot: string): { dir: string; record: RunRecord } {
  const dir = join(resultsRoot, readdirSync(resultsRoot)[0]!);
  return { dir, record: runRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))) };
}

const statuses = (r: RunRecord, id: string) => {
  const b = r.backends.find((x) => x.id === id)!;
  return { path: b.status, scenarios: Object.fromEntries((b.scenarios ?? []).map((s) => [s.name, s.status])), reps: b.reps.map((x) => `${x.scenario}${x.warmup ? ' w' : ' '}${x.rep}:${x.status}`) };
};

describe('a run on fakes', () => {
  it('complete: every path, scenario and repetition ok, exit 0, teardown ran, run.json and samples readable by the report', async () => {
    const launcher = new FakeLauncher();
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2')], launcher });
    expect(outcome!.exitCode).toBe(ExitCode.ok);
    const { dir, record } = onDisk(resultsRoot);
    expect(record.status).toBe('complete');
    expect(statuses(record, 'p1')).toEqual({
      path: 'ok',
      scenarios: { 'tcp-stream': 'ok', latency: 'ok' },
      // In rounds: round 0 (warm-ups, then repetition 0 of each scenario), then round 1.
      reps: ['tcp-stream w0:ok', 'tcp-stream 0:ok', 'latency w0:ok', 'latency 0:ok', 'tcp-stream 1:ok', 'latency 1:ok'],
    });
    expect(record.backends[0]!.presentation).toEqual({ order: 100, color: '#123456' });
    expect(launcher.shutDown.sort()).toEqual(['p1/a', 'p1/b', 'p2/a', 'p2/b']);
    const loaded = loadRun(dir);
    expect(loaded.problems).toEqual([]);
    expect(loaded.partial).toBe(false);
    expect(loaded.samples.filter((s) => s.metric === 'throughput' && !s.warmup)).toHaveLength(4);
    expect(record.phases.map((p) => p.phase)).toEqual(expect.arrayContaining(['preflight', 'image', 'accel-probe', 'setup', 'boot', 'idle-baseline', 'warmup', 'window', 'teardown']));
    expect(existsSync(join(dir, 'run.log'))).toBe(false);
  });

  it('skipped: a path the host cannot run is skipped with reason and fix, and costs the run nothing', async () => {
    const unmet = { what: 'a device', ok: false, reason: 'there is no /dev/fake', fix: 'modprobe fake' };
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1', { unmet }), fakePath('p2')] });
    expect(outcome!.exitCode).toBe(ExitCode.ok);
    const { record } = onDisk(resultsRoot);
    expect(record.backends[0]).toMatchObject({ status: 'skipped', reason: 'there is no /dev/fake', fix: 'modprobe fake', reps: [] });
    expect(statuses(record, 'p1').scenarios).toEqual({ 'tcp-stream': 'skipped', latency: 'skipped' });
    expect(record.status).toBe('complete');
  });

  it('failed set-up: the path fails with the stage named, everything in it is blocked, the next path runs', async () => {
    const launcher = new FakeLauncher();
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1', { setUpFails: new CommandError(['ip', 'link', 'add'], 2, null, 'RTNETLINK answers: File exists') }), fakePath('p2')], launcher });
    expect(outcome!.exitCode).toBe(ExitCode.partial);
    const { record } = onDisk(resultsRoot);
    const p1 = record.backends[0]!;
    expect(p1).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^set-up failed: ip link add exited with status 2/) });
    expect(statuses(record, 'p1').scenarios).toEqual({ 'tcp-stream': 'blocked', latency: 'blocked' });
    expect(p1.reps).toHaveLength(6);
    expect(p1.reps.every((r) => r.status === 'blocked' && /^not run: set-up failed/.test(r.reason!) && r.startedAt === undefined)).toBe(true);
    expect(launcher.launched.filter((g) => g.startsWith('p1/'))).toEqual([]);
    expect(statuses(record, 'p2').path).toBe('ok');
    expect(record.status).toBe('partial');
  });

  it('guests boot together, except in the nested lab, where each waits for the one before it to be ready', async () => {
    const together = new FakeLauncher();
    await fakeBench({ paths: [fakePath('p1')], launcher: together });
    const boots = (events: string[]) => events.filter((e) => /^(launch|ready) /.test(e));
    expect(boots(together.events)).toEqual(['launch p1/a', 'launch p1/b', 'ready p1/a', 'ready p1/b']);

    const inLab = new FakeLauncher();
    const { resultsRoot } = await fakeBench({ paths: [fakePath('p1')], launcher: inLab, lab: true });
    expect(boots(inLab.events)).toEqual(['launch p1/a', 'ready p1/a', 'launch p1/b', 'ready p1/b']);
    expect(onDisk(resultsRoot).record.backends[0]!.notes).toContain('the guests booted one after the other (nested lab: two booting at once under emulated SVM is unreliable)');
  });

  it('failed boot: the reason says which guest and how long it was given; its logs are listed', async () => {
    const launcher = new FakeLauncher({ neverReady: (path, guest) => path === 'p1' && guest === 'b' });
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1')], launcher });
    expect(outcome!.exitCode).toBe(ExitCode.failed);
    const { record } = onDisk(resultsRoot);
    expect(record.backends[0]).toMatchObject({ status: 'failed', reason: 'boot failed: guest b did not become ready within 5 s' });
    expect(record.backends[0]!.files).toEqual(['p1/serial-a.log', 'p1/qemu-a.log', 'p1/serial-b.log', 'p1/qemu-b.log']);
    expect(launcher.shutDown.sort()).toEqual(['p1/a', 'p1/b']);
    expect(record.status).toBe('failed');
  });

  it('a failed repetition: recorded with its reason and raw output, the path and scenario partial, later repetitions run', async () => {
    const launcher = new FakeLauncher({
      exec: (c) => (c.path === 'p1' && c.argv[0] === 'iperf3' && c.nth === 1 ? { stdout: '', stderr: 'iperf3: error - unable to connect to server', status: 1 } : undefined),
    });
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1')], launcher });
    expect(outcome!.exitCode).toBe(ExitCode.partial);
    const { dir, record } = onDisk(resultsRoot);
    expect(statuses(record, 'p1')).toMatchObject({ path: 'partial', scenarios: { 'tcp-stream': 'partial', latency: 'ok' } });
    const failed = record.backends[0]!.reps.find((r) => r.status === 'failed')!;
    expect(failed).toMatchObject({ scenario: 'tcp-stream', rep: 0, warmup: false, reason: expect.stringMatching(/iperf3 at b exited with status 1: iperf3: error - unable to connect/) });
    expect(readFileSync(join(dir, failed.raw![0]!), 'utf8')).toMatch(/unable to connect/);
    expect(record.backends[0]!.reason).toBe('1 of 4 measured repetitions failed');
    expect(record.backends[0]!.scenarios![0]!.reason).toMatch(/^1 of 2 failed; first: iperf3 at b exited/);
  });

  it('a scenario that cannot be prepared: failed, its repetitions blocked, the next scenario runs', async () => {
    const launcher = new FakeLauncher({ exec: (c) => (c.argv[0] === 'netstat' && c.argv[1] === '-ltn' ? { stdout: 'nothing listens\n', stderr: '', status: 0 } : undefined) });
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1')], launcher });
    expect(outcome!.exitCode).toBe(ExitCode.partial);
    const { record } = onDisk(resultsRoot);
    const b = record.backends[0]!;
    expect(b.scenarios).toEqual([
      { name: 'tcp-stream', status: 'failed', reason: 'scenario could not be prepared: a: no server listening on tcp port 5201 after 10 s' },
      { name: 'latency', status: 'ok' },
    ]);
    expect(b.reps.filter((r) => r.scenario === 'tcp-stream').map((r) => r.status)).toEqual(['blocked', 'blocked', 'blocked']);
    expect(b).toMatchObject({ status: 'partial', reason: '2 of 4 measured repetitions did not succeed (2 blocked)' });
  }, 20_000);

  it('a guest lost mid-scenario: the repetition fails, the rest of the path is blocked, the next path is measured', async () => {
    const launcher = new FakeLauncher({ exec: (c) => (c.path === 'p1' && c.argv[0] === 'iperf3' && c.nth === 1 ? 'lose-guest' : undefined) });
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2')], launcher });
    expect(outcome!.exitCode).toBe(ExitCode.partial);
    const { record } = onDisk(resultsRoot);
    expect(statuses(record, 'p1')).toEqual({
      // No measured repetition succeeded: the path failed, though it ran.
      path: 'failed',
      scenarios: { 'tcp-stream': 'failed', latency: 'blocked' },
      reps: ['tcp-stream w0:ok', 'tcp-stream 0:failed', 'tcp-stream 1:blocked', 'latency w0:blocked', 'latency 0:blocked', 'latency 1:blocked'],
    });
    expect(record.backends[0]!.reason).toMatch(/^a guest stopped answering during tcp-stream-rep0: guest b: control channel closed/);
    expect(record.backends[0]!.reps.find((r) => r.scenario === 'latency')!.reason).toMatch(/^not run: a guest stopped answering/);
    expect(statuses(record, 'p2').path).toBe('ok');
    expect(launcher.shutDown.sort()).toEqual(['p1/a', 'p1/b', 'p2/a', 'p2/b']);
  });

  it('a failed teardown: the path is partial with the reason, though every repetition succeeded', async () => {
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1', { teardownFails: new Error('a process survived SIGKILL') })] });
    expect(outcome!.exitCode).toBe(ExitCode.partial);
    const { record } = onDisk(resultsRoot);
    expect(record.backends[0]).toMatchObject({ status: 'partial', reason: expect.stringMatching(/^teardown failed: cleanup of run \S+\/p1 met 1 error\(s\):\n  - p1 host side: a process survived SIGKILL\n  fix: iopath doctor --clean removes what a run left behind$/) });
    expect(record.backends[0]!.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^teardown: [^]*a process survived SIGKILL/)]));
  });

  it('interrupted in blocks: the run says so, the path in progress keeps what it measured, the next is blocked, teardown ran', async () => {
    const controller = new AbortController();
    const launcher = new FakeLauncher({
      exec: (c) => {
        if (c.path === 'p1' && c.argv[0] === 'sockperf' && c.nth === 1) controller.abort(new InterruptedError('SIGINT'));
        return undefined;
      },
    });
    const paths = [fakePath('p1'), fakePath('p2')];
    const { error, resultsRoot } = await fakeBench({ paths, plan: fakePlan(['p1', 'p2'], { order: 'blocks' }), launcher, signal: controller.signal });
    expect(error).toBeInstanceOf(InterruptedError);
    expect(exitCodeOf(error)).toBe(ExitCode.interrupted);
    const { record } = onDisk(resultsRoot);
    expect(record).toMatchObject({ status: 'interrupted', error: 'interrupted by SIGINT', endedAt: expect.any(String) });
    expect(statuses(record, 'p1')).toEqual({
      path: 'partial',
      scenarios: { 'tcp-stream': 'ok', latency: 'failed' },
      reps: ['tcp-stream w0:ok', 'tcp-stream 0:ok', 'tcp-stream 1:ok', 'latency w0:ok', 'latency 0:blocked', 'latency 1:blocked'],
    });
    expect(record.backends[0]!.reason).toBe('interrupted by SIGINT');
    expect(record.backends[1]).toMatchObject({ status: 'blocked', reason: 'not run: the run stopped first (interrupted by SIGINT)' });
    expect(statuses(record, 'p2').reps.every((r) => r.endsWith(':blocked'))).toBe(true);
    expect(launcher.shutDown.sort()).toEqual(['p1/a', 'p1/b']);
  });

  it('a run that fails before any path (the image): every path blocked, the error in words, its stack only in run.log', async () => {
    const boom = new CommandError(['apt-get', 'download', 'linux-image-amd64'], 100, null, 'E: Unable to locate package');
    const { error, resultsRoot } = await fakeBench({ paths: [fakePath('p1'), fakePath('p2')], seams: { image: async () => Promise.reject(boom) } });
    expect(error).toBe(boom);
    expect(exitCodeOf(error)).toBe(ExitCode.tool);
    const { dir, record } = onDisk(resultsRoot);
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/^apt-get download linux-image-amd64 exited with status 100\n  \| E: Unable to locate package$/);
    expect(record.backends.map((b) => b.status)).toEqual(['blocked', 'blocked']);
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toMatch(/run failed:\nCommandError: apt-get download [^]*?\n\s+at /);
  });

  it('every path failed: the run failed, exit 5', async () => {
    const { outcome } = await fakeBench({ paths: [fakePath('p1', { setUpFails: new Error('no') }), fakePath('p2', { setUpFails: new Error('no') })] });
    expect(outcome!.record.status).toBe('failed');
    expect(outcome!.exitCode).toBe(ExitCode.failed);
  });

  it('a plain error in a repetition reaches run.json as a message, never a stack trace', async () => {
    const launcher = new FakeLauncher({ exec: (c) => (c.argv[0] === 'sockperf' && c.nth === 0 ? new TypeError("Cannot read properties of undefined (reading 'p50')") : undefined) });
    const { resultsRoot } = await fakeBench({ paths: [fakePath('p1')], launcher });
    const { dir, record } = onDisk(resultsRoot);
    const text = readFileSync(join(dir, 'run.json'), 'utf8');
    expect(text).not.toMatch(/\n\s+at |\\n\s+at /);
    expect(record.backends[0]!.reps.find((r) => r.status === 'failed')!.reason).toBe("TypeError: Cannot read properties of undefined (reading 'p50')");
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toMatch(/p1 latency-warmup0:\nTypeError: Cannot read .*\n\s+at /);
  });

  it('collectors: the unavailable ones are recorded with the reason, a failing one costs a note, not the repetition', async () => {
    const collectors = fakeCollectors(() => [new FakeCollector('absent', { unavailable: 'needs KVM' }), new FakeCollector('flaky', { failStop: true }), new FakeCollector('fine')]);
    const own = () => [new FakeCollector('path-own')];
    const { outcome, resultsRoot } = await fakeBench({ paths: [fakePath('p1', { collectors: own })], collectors, plan: fakePlan(['p1'], { warmup: 0, repetitions: 1 }) });
    expect(outcome!.exitCode).toBe(ExitCode.ok);
    const { record } = onDisk(resultsRoot);
    const b = record.backends[0]!;
    expect(b.collectors!.map((c) => [c.id, c.available, c.reason])).toEqual([['absent', false, 'needs KVM'], ['flaky', true, undefined], ['fine', true, undefined], ['path-own', true, undefined]]);
    expect(record.collectors!.map((c) => c.id)).toEqual(['absent', 'flaky', 'fine', 'path-own']);
    expect(b.reps.every((r) => r.status === 'ok')).toBe(true);
    expect(b.reps[0]!.notes).toEqual([expect.stringMatching(/^collector flaky failed to stop: flaky lost its counters/)]);
  });
});

describe('a run killed with SIGKILL, as the next run or doctor --clean finds it', () => {
  it('is marked interrupted: the path in progress settled from what it measured, the rest blocked, unknown fields kept', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'iopath-killed-')), 'r');
    const shown = [fakePath('p1'), fakePath('p2')];
    const tree = new RunTree({ run: 'r', argv: [], profile: { name: 'p', path: '/p', hash: 'h', plan: {} }, paths: shown, scenarios: ['tcp-stream', 'latency'], repetitions: 2, warmup: 0 });
    const store = new RunStore(dir, 'r', 'h');
    tree.attach({ save: (r) => store.save({ ...r, addedByANewerWriter: 1 } as typeof r), log: () => undefined });
    const p1 = tree.path('p1');
    p1.start();
    p1.scenario('tcp-stream').start();
    p1.scenario('tcp-stream').rep({ scenario: 'tcp-stream', rep: 0, warmup: false, status: 'ok', startedAt: 't', durationMs: 1 });
    store.close();
    // The harness dies here: nothing else is written.
    expect(markRunInterrupted(dir, 'the harness process died')).toBe(true);
    const raw = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'));
    const record = runRecordSchema.parse(raw);
    expect(raw.addedByANewerWriter).toBe(1);
    expect(record).toMatchObject({ status: 'interrupted', error: 'the harness process died', endedAt: expect.any(String) });
    expect(record.backends.map((b) => [b.id, b.status])).toEqual([['p1', 'partial'], ['p2', 'blocked']]);
    expect(record.backends[0]!.scenarios!.map((x) => x.status)).toEqual(['partial', 'blocked']);
    expect(markRunInterrupted(dir, 'again')).toBe(false);
  });
});
