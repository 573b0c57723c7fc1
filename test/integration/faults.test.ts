// Fault injection: the harness is killed with SIGINT or SIGKILL at different points of a short run
// (SIGINT and SIGTERM mid-measurement are in interrupt.test.ts). After SIGINT it must have torn down
// by itself; after SIGKILL, `iopath doctor --clean` (what the next bench does first) must remove
// everything. Then nothing of the run may be left, and every repetition that finished before the
// kill must still be in samples.ndjson. And a disk that fills up mid-run: exit 3, a valid run.json,
// every finished sample kept, the host clean.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { projectRoot } from '../../harness/paths.ts';
import { iopath } from '../helpers/cli.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('fault injection', whyNoGuests());

type Point = 'image' | 'setup' | 'boot' | 'measure' | 'teardown';

/** How to tell, from the harness's stderr and the host, that a run has reached a point. */
function reached(point: Point, stderr: string, run: string | undefined): boolean {
  const qemuUp = () => run !== undefined && readdirSync('/proc').some((p) => /^\d+$/.test(p) && cmdline(p).includes(`qemu-system`) && cmdline(p).includes(run));
  switch (point) {
    case 'image':
      return stderr.includes('guest image');
    case 'setup':
      return /^- e1000 /m.test(stderr);
    case 'boot':
      return qemuUp();
    case 'measure':
      return /rep 1\/2: /.test(stderr);
    case 'teardown':
      return stderr.includes('e1000: tearing down');
  }
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

async function killAt(point: Point, signal: NodeJS.Signals) {
  const dir = mkdtempSync(join(tmpdir(), 'iopath-fault-'));
  const profile = join(dir, 'fault.yaml');
  writeFileSync(profile, 'backends: [e1000]\nrepetitions: 2\nwarmup: 0\naccel: tcg\nscenarios:\n  - { kind: tcp-stream, durationSec: 2, omitSec: 0 }\n');
  const results = join(dir, 'results');
  const child = spawn(process.execPath, [join(projectRoot, 'bin/iopath.js'), 'bench', '--profile', profile, '--results-dir', results, '--no-report'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const runOf = () => /iopath run (\S+):/.exec(stderr)?.[1];
  for (let waited = 0; !reached(point, stderr, runOf()); waited += 50) {
    if (child.exitCode !== null) throw new Error(`the run ended before reaching ${point}:\n${stderr}`);
    if (waited > 240_000) throw new Error(`the run did not reach ${point} within 240 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill(signal);
  const code = await exited;
  if (signal === 'SIGKILL') {
    const cleaned = await iopath(['doctor', '--clean']);
    expect(cleaned.status, cleaned.stderr).toBe(0);
  }
  return { code, stderr, run: runOf(), results };
}

describe('killing the harness', () => {
  const points: Point[] = ['image', 'setup', 'boot', 'measure', 'teardown'];
  // SIGINT and SIGTERM mid-measurement are interrupt.test.ts's (two paths in rounds, the exact exit
  // status); SIGTERM takes the same orderly abort as SIGINT (one handler, harness/cli.ts). Here
  // SIGINT at every other point, SIGKILL at every point.
  const matrix: [NodeJS.Signals, Point[]][] = [
    ['SIGINT', points.filter((p) => p !== 'measure')],
    ['SIGKILL', points],
  ];
  const status: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130 };
  for (const [signal, at] of matrix) {
    for (const point of at) {
      guests.it(`${signal} during ${point}: nothing left, finished repetitions kept`, async () => {
        const { code, stderr, run, results } = await killAt(point, signal);
        // A run that finished its last repetition before the signal arrived may exit 0.
        if (status[signal] !== undefined) expect([status[signal], 0]).toContain(code);
        const left = run ? leftovers(run) : leftovers();
        const runDir = run && existsSync(join(results, run)) ? join(results, run) : undefined;
        let okReps = 0;
        let kept = 0;
        if (runDir) {
          const record = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
          expect(['interrupted', 'complete']).toContain(record.status);
          const ok = record.backends.flatMap((b: { reps: { status: string; warmup: boolean; rep: number; scenario: string }[] }) => b.reps).filter((r: { status: string; warmup: boolean }) => r.status === 'ok' && !r.warmup);
          const samples = readFileSync(join(runDir, 'samples.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
          okReps = ok.length;
          for (const r of ok) expect(samples.some((s) => s.metric === 'throughput' && s.rep === r.rep && !s.warmup && s.scenario === r.scenario), `rep ${r.rep}`).toBe(true);
          kept = samples.filter((s) => s.metric === 'throughput').length;
        }
        console.log(`${signal} at ${point}: exit ${code}; left behind: ${left.processes.length} processes, ${left.netns.length} namespaces, ${left.runtimeEntries.length} runtime entries; ${okReps} finished repetition(s), ${kept} throughput sample(s) kept`);
        expect(left, stderr.slice(-1500)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
      }, 300_000);
    }
  }
});

describe('a disk that fills up during the run', () => {
  const asRoot = process.getuid?.() === 0 ? undefined : 'needs root to mount a small tmpfs';
  const mounted: string[] = [];
  afterAll(() => {
    for (const m of mounted) execFileSync('umount', [m]);
  });

  needs('full disk', asRoot ?? whyNoGuests()).it('stops with exit 3, keeps a valid run.json and every finished sample, and cleans the host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-full-'));
    const profile = join(dir, 'one.yaml');
    writeFileSync(profile, 'backends: [e1000]\nrepetitions: 8\nwarmup: 0\naccel: tcg\nscenarios: [{kind: tcp-stream, durationSec: 1, omitSec: 0}]\n');
    const full = join(dir, 'tiny');
    mkdirSync(full);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', full]);
    mounted.push(full);
    const r = await iopath(['bench', '--profile', profile, '--results-dir', full, '--no-report']);
    console.log(r.stderr.split('\n').filter((l) => /rep|disk|run /.test(l)).join('\n'));
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/the disk is full \(ENOSPC\)\n\s+fix: free disk space \(the results written so far are intact\)/);
    const runDir = join(full, readdirSync(full)[0]!);
    const record = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    const lines = readFileSync(join(runDir, 'samples.ndjson'), 'utf8').split('\n').filter(Boolean);
    // Every complete line is a sample; at most the last one can be cut short by the full disk.
    lines.slice(0, -1).forEach((l) => expect(() => JSON.parse(l)).not.toThrow());
    const okReps = record.backends[0].reps.filter((x: { status: string }) => x.status === 'ok').length;
    console.log(`run.json status ${record.status}, ${okReps} repetition(s) recorded ok, ${lines.length} sample line(s) on disk`);
    expect(leftovers(record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 300_000);
});
