// The flame collector against a fake perf that speaks perf record's control FIFO protocol and prints
// captured `perf script` output: it samples one window per path (the first measured one), folds and
// draws what perf printed, and reports the window as an intrusion with its files and cost.

import { appendFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FlameCollector, perfRecordArgv } from '../../../harness/collectors/flame.ts';
import { createCollectors } from '../../../harness/collectors/index.ts';
import { CollectorGroup } from '../../../harness/collectors/group.ts';
import type { Window } from '../../../harness/collectors/types.ts';
import { Scope } from '../../../harness/host/scope.ts';
import { runRecordSchema } from '../../../harness/run/record.ts';
import { fakeBench, fakePath, fakePlan } from '../../helpers/fake-run.ts';
import { fixturePath } from './fixtures.ts';

/**
 * perf as the collector drives it: `record ... -- sleep` (the probe) writes its file and exits;
 * `record -D -1 --control fifo:ctl,ack` acknowledges each command on the ack FIFO and, on SIGINT,
 * writes its file and says how many samples it captured; `script` prints a captured output.
 */
const FAKE_PERF = `#!/usr/bin/env node
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_PERF_LOG, JSON.stringify(args) + '\\n');
const arg = (name) => args[args.indexOf(name) + 1];
if (args[0] === 'script') {
  process.stdout.write(fs.readFileSync(process.env.FAKE_PERF_SCRIPT));
} else if (args[0] === 'record' && !args.includes('--control')) {
  fs.writeFileSync(arg('-o'), 'probe');
} else if (args[0] === 'record') {
  const [ctl, ack] = arg('--control').slice('fifo:'.length).split(',');
  const out = arg('-o');
  const ackFd = fs.openSync(ack, 'w');
  let buffered = '';
  // A socket over the FIFO, not a read stream: a thread-pool read blocked on a FIFO would hold exit.
  const ctlFd = fs.openSync(ctl, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const reader = new (require('node:net').Socket)({ fd: ctlFd, readable: true, writable: false });
  reader.setEncoding('utf8');
  reader.on('data', (d) => {
    buffered += d;
    let nl;
    while ((nl = buffered.indexOf('\\n')) >= 0) {
      buffered = buffered.slice(nl + 1);
      fs.writeSync(ackFd, 'ack\\n');
    }
  });
  process.on('SIGINT', () => {
    fs.writeFileSync(out, 'data');
    process.stderr.write('[ perf record: Woken up 1 times to write data ]\\n[ perf record: Captured and wrote 0.004 MB ' + out + ' (20 samples) ]\\n');
    process.exit(0);
  });
  setInterval(() => {}, 1000);
}
`;

let dir: string | undefined;
let scope: Scope | undefined;

afterEach(async () => {
  await scope?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
  scope = undefined;
});

function setUp() {
  dir = mkdtempSync(join(tmpdir(), 'iopath-flame-'));
  const perf = join(dir, 'perf');
  writeFileSync(perf, FAKE_PERF);
  chmodSync(perf, 0o755);
  const log = join(dir, 'perf-calls.ndjson');
  appendFileSync(log, '');
  process.env.FAKE_PERF_LOG = log;
  process.env.FAKE_PERF_SCRIPT = fixturePath('perf-script', 'comm-with-spaces_CPU-0-TCG_cpu-clock_-g.txt');
  scope = new Scope('flame-test');
  // The fixture's shell (32274, named `CPU 0/TCG`) and its `seq` child (32276) stand for two QEMUs.
  const processes = [
    { role: 'qemu a', pid: 32274, qemu: true },
    { role: 'qemu b', pid: 32276, qemu: true },
  ];
  const collector = new FlameCollector({ processes, dir: join(dir, 'out'), scope, perf });
  const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]);
  return { collector, calls, out: join(dir, 'out'), perf };
}

const win = (o: Partial<Window> = {}): Window => ({ kind: 'measure', backend: 'virtio-net', scenario: 'tcp-stream', rep: 0, warmup: false, ...o });

describe('FlameCollector', () => {
  it('samples the first measured window only, and reports it as an intrusion with its flame graph', async () => {
    const { collector, calls, out } = setUp();
    expect(await collector.availability()).toEqual({ available: true });
    // The probe: a short real recording of one of the processes.
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toEqual(expect.arrayContaining(['record', '-e', 'cpu-clock', '-p', '32274', '--', 'sleep']));
    expect(existsSync(join(out, 'probe.perf.data'))).toBe(false);

    // Neither the idle baseline nor a warm-up is sampled.
    for (const w of [win({ kind: 'idle', scenario: 'idle' }), win({ warmup: true })]) {
      await collector.start(w);
      expect(await collector.stop(w)).toEqual([]);
      expect(collector.intrusion(w)).toBeUndefined();
    }
    expect(calls()).toHaveLength(1);

    const first = win();
    await collector.start(first);
    const record = calls()[1]!;
    expect(record.slice(0, 9)).toEqual(['record', '-e', 'cpu-clock', '-F', String(record[4]), '-g', '--no-buildid-cache', '-D', '-1']);
    expect(Number(record[4])).toBeLessThanOrEqual(499);
    expect(record.slice(-2)).toEqual(['-p', '32274,32276']);
    expect(await collector.stop(first)).toEqual([]);
    expect(calls()[2]).toEqual(expect.arrayContaining(['script', '-F', 'comm,pid,tid,time,period,event,ip,sym,symoff,dso']));

    const intrusion = collector.intrusion(first)!;
    expect(intrusion).toMatchObject({ collector: 'flame', samples: 20 });
    expect(intrusion.what).toMatch(/perf record at \d+ Hz \(cpu-clock\) during this repetition: 20 samples/);
    expect(intrusion.files.map((f) => f.slice(out.length + 1))).toEqual(['virtio-net-tcp-stream-measure-0.svg', 'virtio-net-tcp-stream-measure-0.folded']);
    // Asked once: the runner records it with the repetition.
    expect(collector.intrusion(first)).toBeUndefined();
    // perf.data goes once folded; the folded stacks keep each sample under its process's role.
    expect(existsSync(join(out, 'virtio-net-tcp-stream-measure-0.perf.data'))).toBe(false);
    const folded = readFileSync(intrusion.files[1]!, 'utf8');
    expect(folded).toContain('qemu a;CPU 0/TCG;');
    expect(folded).toContain('qemu b;seq;');
    const svg = readFileSync(intrusion.files[0]!, 'utf8');
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).toContain('virtio-net: host threads during tcp-stream repetition 0');
    expect(svg).toContain('data-samples="20"');

    // Later measured windows run as any other.
    const second = win({ rep: 1 });
    await collector.start(second);
    expect(await collector.stop(second)).toEqual([]);
    expect(collector.intrusion(second)).toBeUndefined();
    expect(calls()).toHaveLength(3);
    await collector.close();
  });

  it('is unavailable, with the reason, when perf cannot record', async () => {
    const { perf } = setUp();
    writeFileSync(perf, '#!/bin/sh\necho "perf_event_paranoid setting is 4" >&2\nexit 255\n');
    const c = new FlameCollector({ processes: [{ role: 'qemu a', pid: 1 }], dir: join(dir!, 'out2'), scope: scope!, perf });
    const a = await c.availability();
    expect(a.available).toBe(false);
    expect(a.available === false && a.reason).toMatch(/perf_event_paranoid/);
    await expect(c.start(win())).rejects.toThrow(/flame is not available/);
  });

  it('hands its intrusion to the group that stops it', async () => {
    const { collector } = setUp();
    const group = new CollectorGroup([collector]);
    await group.prepare();
    await group.start(win());
    const r = await group.stop(win());
    expect(r.failures).toEqual([]);
    expect(r.intrusions.map((i) => i.collector)).toEqual(['flame']);
    await group.close();
  });
});

describe('flame in a run measured in rounds', () => {
  it("samples each path's first measured visit (round 0, its first scenario's first repetition) and no later one", async () => {
    const { perf } = setUp();
    const { outcome, resultsRoot } = await fakeBench({
      paths: [fakePath('p1'), fakePath('p2')],
      plan: fakePlan(['p1', 'p2'], { repetitions: 3, flame: true }),
      collectors: {
        qemuArgs: () => [],
        // One collector per path, living across its visits, as the real factory makes them.
        create: (scene) => ({ inner: [new FlameCollector({ processes: [{ role: 'qemu a', pid: process.pid }], dir: join(scene.dir, 'flame'), fifoDir: scene.runtimeDir, scope: scene.scope, perf })], outer: [] }),
      },
    });
    expect(outcome!.record.status).toBe('complete');
    const runDir = join(resultsRoot, readdirSync(resultsRoot)[0]!);
    const record = runRecordSchema.parse(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')));
    expect(record.schedule!.mode).toBe('rounds');
    // The paths took turns: p2's first visit came after p1's, before p1's second.
    expect(record.schedule!.steps.filter((x) => !x.warmup && x.scenario === 'tcp-stream').map((x) => `${x.round} ${x.backend}`)).toEqual(['0 p1', '0 p2', '1 p2', '1 p1', '2 p1', '2 p2']);
    for (const id of ['p1', 'p2']) {
      const reps = record.backends.find((b) => b.id === id)!.reps.filter((r) => !r.warmup);
      expect(reps.filter((r) => r.intrusions).map((r) => `${r.scenario} ${r.rep}`)).toEqual(['tcp-stream 0']);
      const files = reps.find((r) => r.intrusions)!.intrusions![0]!.files;
      expect(files[0]).toMatch(new RegExp(`^${id}/.*${id}-tcp-stream-measure-0\\.svg$`));
      expect(existsSync(join(runDir, files[0]!))).toBe(true);
    }
  });
});

describe('perfRecordArgv', () => {
  it('follows whole processes, or listed threads when a process is counted by some only', () => {
    expect(perfRecordArgv('perf', 499, { pids: [1, 2] }, 'c', 'a', 'o')).toEqual(['perf', 'record', '-e', 'cpu-clock', '-F', '499', '-g', '--no-buildid-cache', '-D', '-1', '--control', 'fifo:c,a', '-o', 'o', '-p', '1,2']);
    expect(perfRecordArgv('perf', 99, { tids: [3, 4] }, 'c', 'a', 'o').slice(-2)).toEqual(['-t', '3,4']);
  });
});

describe('createCollectors', () => {
  const ctx = { accel: 'tcg' as const, targets: [], hostProcesses: [{ role: 'switch', pid: 1 }], dir: '/nonexistent' };
  it('leaves flame out unless asked for', () => {
    expect(createCollectors(ctx).map((c) => c.id)).not.toContain('flame');
    expect(createCollectors({ ...ctx, options: { flame: true } }).map((c) => c.id)).toContain('flame');
  });
});
