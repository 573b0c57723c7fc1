// Switch benchmark without VMs (`npm run bench:switch`):
//   node --import tsx harness/vhost-user/bench.ts [--seconds 5] [--sizes 64,1518] [--reps 3]
//     [--modes paired,loopback] [--queues 1,2] [--only ts|testpmd] [--queue-size 1024]
//     [--profile DIR] [--perf DIR] [--switch-args='--burst 64']
//
// Each measurement (bench-rig.ts) puts one switch under test between the two virtio-user ports of a
// DPDK testpmd front-end: ours (busy polling, pinned to CPU 0) or testpmd's vhost PMD (forwarding
// on CPU 0), the front-end forwarding on CPU 1. Both switches are measured the same way in the same
// run, alternating rep by rep so a drifting host load hits both alike: frames per second the
// front-end received, and the same per CPU-second of the switch process (a figure other work on the
// host can lower but not inflate). The summary is the median of the reps, then the best.

import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, type Kind, type Measurement, type Mode } from './bench-rig.ts';
import { formatTable, perCpu, summarise } from './bench-table.ts';
import { testpmdUnavailableReason } from '../backends/testpmd.ts';
import { ExitCode, IopathError, UsageError } from '../errors.ts';
import { nativeUnavailableReason } from './native.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      sizes: { type: 'string', default: '64,1518' },
      reps: { type: 'string', default: '3' },
      modes: { type: 'string', default: 'paired,loopback' },
      queues: { type: 'string', default: '1,2' },
      only: { type: 'string' },
      profile: { type: 'string' },
      perf: { type: 'string' },
      'queue-size': { type: 'string', default: '1024' },
      'switch-args': { type: 'string', default: '' },
    },
  });
  const why = testpmdUnavailableReason() ?? nativeUnavailableReason();
  if (why !== undefined) {
    console.error(`bench:switch cannot run: ${why}`);
    process.exitCode = 3;
    return;
  }
  const list = (name: string, v: string, ok: (x: string) => boolean) => {
    const xs = v.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = xs.find((x) => !ok(x));
    if (bad !== undefined || xs.length === 0) throw new UsageError(`--${name} ${v}: ${bad ?? 'empty'} is not allowed`);
    return xs;
  };
  const positive = (x: string) => Number.isInteger(Number(x)) && Number(x) > 0;
  const seconds = Number(values.seconds);
  const reps = Number(values.reps);
  if (!(seconds > 0) || !positive(values.reps!)) throw new UsageError('--seconds and --reps must be positive numbers');
  const sizes = list('sizes', values.sizes!, (x) => positive(x) && Number(x) >= 60 && Number(x) <= 9000).map(Number);
  const modes = list('modes', values.modes!, (x) => x === 'paired' || x === 'loopback') as Mode[];
  const queues = list('queues', values.queues!, (x) => positive(x) && Number(x) <= 8).map(Number);
  const kinds: Kind[] = values.only === 'ts' ? ['ts'] : values.only === 'testpmd' ? ['testpmd'] : ['ts', 'testpmd'];
  for (const d of [values.profile, values.perf]) if (d !== undefined) mkdirSync(d, { recursive: true });
  const load = loadavg()[0]!;
  if (load > 1.5) {
    console.warn(`warning: load average is ${load.toFixed(1)}: other work shares the 2 cores; the Mpps per CPU figures stay comparable, raw Mpps will be low`);
  }
  const results: Measurement[] = [];
  for (const mode of modes) {
    for (const size of sizes) {
      for (const q of queues) {
        for (let r = 0; r < reps; r++) {
          for (const kind of kinds) {
            const m = await measure({
              kind, mode, size, queues: q, seconds,
              queueSize: Number(values['queue-size']),
              switchArgs: values['switch-args']!.split(' ').filter(Boolean),
              ...(values.profile ? { profileDir: values.profile } : {}),
              ...(values.perf ? { perfDir: values.perf } : {}),
            });
            results.push(m);
            const pc = perCpu(m);
            console.log(`  ${kind.padEnd(8)} ${mode.padEnd(8)} ${String(size).padStart(5)} B  q${q}  ${(m.pps / 1e6).toFixed(3)} Mpps  CPU ${(100 * m.cpu).toFixed(0)}%  ${(pc / 1e6).toFixed(3)} Mpps/CPU  ${m.note}`);
          }
        }
      }
    }
  }
  console.log('');
  console.log(formatTable(summarise(results), `median of ${reps} run(s) of ${seconds} s each`));
  console.log('');
  console.log(formatTable(summarise(results, (xs) => Math.max(...xs.filter(Number.isFinite))), `best of ${reps} run(s) (other work on the host only ever lowers a figure)`));
  console.log('\nGoal: ratio/CPU >= 1.0 (iopath\'s switch at least as many frames per switch CPU-second as testpmd\'s vhost PMD), both modes, both sizes.');
  console.log('The switch under test forwards on CPU 0, the front-end on CPU 1; queue pairs > 1 still use one switch core.');
  if (values.profile) console.log(`\nhot functions of the switch (self time):\n${summariseProfile(values.profile)}`);
  if (values.perf) console.log(`\nperf profiles (cpu-clock, with V8's JIT map) in ${values.perf}: ${perfTop(values.perf)}`);
}

/** Print the functions with the most self time in the busiest .cpuprofile of `dir` (idle excluded). */
export function summariseProfile(dir: string, top = 15): string {
  type Prof = { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] };
  let best: { prof: Prof; busy: number } | undefined;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Prof;
    const idle = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const busy = prof.samples.filter((s) => !idle.has(s)).length;
    if (!best || busy > best.busy) best = { prof, busy };
  }
  if (!best) return `no .cpuprofile in ${dir}`;
  const byId = new Map(best.prof.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  best.prof.samples.forEach((id, i) => {
    const n = byId.get(id);
    const dt = best.prof.timeDeltas[i] ?? 0;
    total += dt;
    if (!n) return;
    const key = `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-1)[0]}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
}

/** The top symbols of each perf.data in `dir` (perf report --stdio), or why not. */
function perfTop(dir: string): string {
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.data'))) {
    try {
      const text = execFileSync('perf', ['report', '--stdio', '--no-children', '--sort', 'symbol', '-i', join(dir, f)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 << 20 });
      const lines = text.split('\n').filter((l) => /^\s+\d+\.\d+%/.test(l)).slice(0, 12);
      out.push(`\n${f}:\n${lines.join('\n')}`);
    } catch (err) {
      out.push(`\n${f}: perf report failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  return out.join('\n') || 'none recorded';
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await main();
  } catch (err) {
    console.error(`bench:switch: ${(err as Error).message}`);
    process.exitCode = err instanceof IopathError ? err.exitCode : ExitCode.internal;
  }
}

