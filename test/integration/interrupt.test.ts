// Ctrl-C (SIGINT) and SIGTERM in the middle of a run: teardown runs, the repetitions measured before
// the signal stay in samples.ndjson, the exit status says interrupted, and nothing is left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { projectRoot } from '../../harness/paths.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('interrupt tests', whyNoGuests());

async function interruptAfterFirstSample(signal: NodeJS.Signals): Promise<{ code: number | null; runDir: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'iopath-int-'));
  const profile = join(dir, 'long.yaml');
  writeFileSync(profile, 'backends: [virtio-net, e1000]\nrepetitions: 20\nwarmup: 0\naccel: tcg\nscenarios:\n  - kind: tcp-stream\n    durationSec: 2\n    omitSec: 0\n');
  const results = join(dir, 'results');
  const child = spawn(process.execPath, [join(projectRoot, 'bin/iopath.js'), 'bench', '--profile', profile, '--results-dir', results, '--no-report'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Wait for the first measured sample to be on disk, then signal.
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const runs = existsSync(results) ? readdirSync(results) : [];
    const samples = runs[0] ? join(results, runs[0], 'samples.ndjson') : '';
    if (samples && existsSync(samples) && readFileSync(samples, 'utf8').includes('"throughput"')) break;
    if (child.exitCode !== null) throw new Error(`bench ended before any sample: ${stderr}`);
  }
  child.kill(signal);
  const code = await exited;
  return { code, runDir: join(results, readdirSync(results)[0]!), stderr };
}

describe('interrupting a run', () => {
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    guests.it(`${signal}: tears down, keeps measured repetitions, exits ${status}`, async () => {
      const { code, runDir, stderr } = await interruptAfterFirstSample(signal);
      expect(code, stderr).toBe(status);
      const record = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
      expect(record.status).toBe('interrupted');
      expect(record.endedAt).toBeDefined();
      const okReps = record.backends.flatMap((b: { reps: { status: string }[] }) => b.reps).filter((r: { status: string }) => r.status === 'ok').length;
      const samples = readFileSync(join(runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const measured = samples.filter((s) => s.metric === 'throughput').length;
      console.log(`${signal}: ${okReps} repetition(s) finished before the signal, ${measured} throughput sample(s) kept`);
      expect(okReps).toBeGreaterThanOrEqual(1);
      expect(measured).toBe(okReps);
      expect(leftovers(record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
    }, 240_000);
  }
});
