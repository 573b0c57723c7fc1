// Hangs and crashes, each bounded and recorded: a guest that never boots, an agent that never
// answers, a workload that never ends, a QEMU and a testpmd killed mid-run. The run goes on, its
// exit status says partial or failed, and nothing is left behind.
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { onPath } from '../../harness/host/facts.ts';
import { projectRoot } from '../../harness/paths.ts';
import type { Reporter } from '../../harness/run/progress.ts';
import { runBench } from '../../harness/run/runner.ts';
import { leftovers, needs, runProcess, whyNoGuests } from '../helpers/host.ts';

const guests = needs('hang and crash tests', whyNoGuests());

function profile(dir: string, lines: string[]): string {
  const path = join(dir, 'p.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** A copy of the image recipe whose agent script is replaced. */
function brokenImage(dir: string, agent: string): string {
  const images = join(dir, 'images');
  cpSync(join(projectRoot, 'images'), images, { recursive: true, filter: (src) => !src.includes('/cache') });
  writeFileSync(join(images, 'guest', 'agent.sh'), agent);
  return images;
}

/**
 * PID of a run's QEMU for a guest, or of its testpmd. With `path`, only that path's QEMU: in rounds
 * every path's guests are up together (its runtime folder is in the QEMU command line).
 */
function pidOf(run: string, what: 'qemu a' | 'qemu b' | 'testpmd', path?: string): number | undefined {
  return runProcess(
    run,
    (argv) =>
      what === 'testpmd'
        ? argv[0] === 'dpdk-testpmd'
        : argv[0]!.startsWith('qemu-system') && argv.includes(`guest=${what.slice(-1)},debug-threads=on`) && (!path || argv.some((a) => a.includes(`/${path}/`))),
  );
}

async function bench(profilePath: string, dir: string, reporter: Reporter = {}, imagesDir?: string) {
  const plan = resolvePlan(loadProfile(profilePath));
  const outcome = await runBench({ plan, argv: ['test'], resultsRoot: join(dir, 'results'), signal: new AbortController().signal, reporter, ...(imagesDir ? { imagesDir } : {}) });
  const summary = outcome.record.backends.map((b) => `${b.id}: ${b.status}${b.reason ? ` (${b.reason.split('\n')[0]})` : ''}`).join('; ');
  console.log(`run ${outcome.record.status}, exit ${outcome.exitCode}: ${summary}`);
  expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  return outcome;
}

describe('bounded failures', () => {
  guests.it('a guest that never boots fails its path after the boot budget, and the run goes on to the next path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-hang-'));
    const images = brokenImage(dir, '#!/bin/sh\n# never serves: the guest never reports ready\nexec sleep 100000\n');
    const p = profile(dir, ['backends: [e1000, virtio-net]', 'repetitions: 1', 'warmup: 0', 'accel: tcg', 'timeouts: { bootSec: 5 }', 'scenarios: [{ kind: tcp-stream, durationSec: 1, omitSec: 0 }]']);
    const outcome = await bench(p, dir, {}, images);
    expect(outcome.record.status).toBe('failed');
    expect(outcome.exitCode).toBe(5);
    for (const b of outcome.record.backends) {
      expect(b.status).toBe('failed');
      expect(b.reason).toMatch(/did not become ready within 5 s/);
      expect(b.files.some((f) => f.includes('serial-a.log'))).toBe(true);
    }
  }, 300_000);

  guests.it('an agent that never answers fails its path within the request budget', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-hang-'));
    const images = brokenImage(dir, '#!/bin/sh\nstty -F "$1" raw -echo 2>/dev/null\nexec 3<>"$1"\necho "@@iopath ready $(uname -r)" >&3\nwhile read -r line <&3; do :; done\n');
    // The first request after boot is the interface set-up, with its own budget (timeouts.netupSec).
    const p = profile(dir, ['backends: [e1000]', 'repetitions: 1', 'warmup: 0', 'accel: tcg', 'timeouts: { netupSec: 6 }', 'scenarios: [{ kind: tcp-stream, durationSec: 1, omitSec: 0 }]']);
    const outcome = await bench(p, dir, {}, images);
    expect(outcome.record.backends[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/netup .* did not finish within 6\.0 s/) });
    expect(outcome.exitCode).toBe(5);
  }, 300_000);

  guests.it('a workload that never ends is killed at its time limit and recorded, and later repetitions run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-hang-'));
    const p = profile(dir, ['backends: [e1000]', 'repetitions: 2', 'warmup: 0', 'accel: tcg', 'scenarios: [{ kind: tcp-stream, durationSec: 4, omitSec: 0 }]']);
    let run = '';
    let frozen: number | undefined;
    const reporter: Reporter = {
      runStarted: (i) => void (run = i.run),
      repStarted: (r) => {
        if (r.rep !== 0 || frozen) return;
        // Freeze the server guest mid-transfer: the client blocks waiting for the server's results.
        setTimeout(() => {
          frozen = pidOf(run, 'qemu a');
          if (frozen) process.kill(frozen, 'SIGSTOP');
          setTimeout(() => frozen && process.kill(frozen, 'SIGCONT'), 25_000);
        }, 2500);
      },
    };
    const outcome = await bench(p, dir, reporter);
    expect(frozen).toBeDefined();
    const reps = outcome.record.backends[0]!.reps;
    console.log(reps.map((r) => `rep ${r.rep}: ${r.status}${r.reason ? ` (${r.reason})` : ''} in ${r.durationMs} ms`).join('\n'));
    expect(reps[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/killed at its time limit|budget/) });
    expect(reps).toHaveLength(2);
    expect(['partial', 'failed']).toContain(outcome.record.status);
  }, 300_000);

  guests.it('a QEMU killed mid-run fails its path with the reason, and the next path is measured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-hang-'));
    const p = profile(dir, ['backends: [e1000, virtio-net]', 'repetitions: 2', 'warmup: 0', 'accel: tcg', 'scenarios: [{ kind: tcp-stream, durationSec: 2, omitSec: 0 }]']);
    let run = '';
    let killed = false;
    const reporter: Reporter = {
      runStarted: (i) => void (run = i.run),
      repStarted: (r) => {
        if (r.backend !== 'e1000' || r.rep !== 1 || killed) return;
        killed = true;
        setTimeout(() => {
          const pid = pidOf(run, 'qemu b', 'e1000');
          if (pid) process.kill(pid, 'SIGKILL');
        }, 500);
      },
    };
    const outcome = await bench(p, dir, reporter);
    const [e1000, virtio] = outcome.record.backends;
    expect(e1000).toMatchObject({ status: 'partial', reason: expect.stringMatching(/stopped answering|control channel closed/) });
    expect(e1000!.reps[1]).toMatchObject({ status: 'failed' });
    expect(virtio!.status).toBe('ok');
    expect(outcome.record.status).toBe('partial');
    expect(outcome.exitCode).toBe(4);
  }, 300_000);

  const noTestpmd = onPath('dpdk-testpmd') ? undefined : 'needs dpdk-testpmd (apt-get install -y dpdk-dev)';
  needs('testpmd crash test', guests.reason ?? noTestpmd).it('a testpmd that dies mid-run costs the repetitions after it, bounded, and is cleaned up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-hang-'));
    const p = profile(dir, ['backends: [vhost-user-testpmd]', 'repetitions: 3', 'warmup: 0', 'accel: tcg', 'scenarios: [{ kind: tcp-stream, durationSec: 2, omitSec: 0 }]']);
    let run = '';
    let killed = false;
    const reporter: Reporter = {
      runStarted: (i) => void (run = i.run),
      repStarted: (r) => {
        if (r.rep !== 1 || killed) return;
        killed = true;
        const pid = pidOf(run, 'testpmd');
        if (pid) process.kill(pid, 'SIGKILL');
      },
    };
    const outcome = await bench(p, dir, reporter);
    const b = outcome.record.backends[0]!;
    expect(killed).toBe(true);
    expect(b.reps[0]!.status).toBe('ok');
    expect(b.reps.slice(1).every((r) => r.status === 'failed')).toBe(true);
    expect(b.status).toBe('partial');
    expect(outcome.exitCode).toBe(4);
  }, 300_000);
});
