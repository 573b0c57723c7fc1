// `iopath overhead`: the collectors' cost in throughput, per path. One run of the profile in which
// every path's measured repetitions alternate collectors on and off in A B B A pairs (same boot,
// same guests), then per path the on/off ratio with its interval, whether that interval resolves a
// difference of 1 − goal (3 %), and a verdict against the goal (at least 0.97) or "cannot tell".
// A benchmark that prints figures, not a test.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Collector } from '../collectors/index.ts';
import { analyseOverhead, collectorsOnIn, formatOverhead, formatOwnCpu, formatResolution, GatedCollector, OwnCpuMeter, throughputSeries, type OverheadResult } from '../collectors/overhead-bench.ts';
import { loadProfile } from '../config/load.ts';
import { resolvePlan, type PlanOverrides } from '../config/plan.ts';
import { ExitCode, IopathError, type ExitCodeValue } from '../errors.ts';
import { provide } from '../host/install.ts';
import { benchNeeds } from '../host/needs.ts';
import { standardCollectors, type CollectorFactory } from '../run/launcher.ts';
import type { Reporter } from '../run/progress.ts';
import { runBench } from '../run/runner.ts';
import { describeWall } from '../run/wall.ts';
import type { SampleRecord } from '../samples.ts';

export interface OverheadCommand {
  /** Install the Debian packages the runs need when they are missing (false: --no-install). */
  install: boolean;
  profile: string;
  /** On/off pairs of measured repetitions per path and scenario. */
  rounds: number;
  goal: number;
  /** Collectors switched on in the "on" repetitions (default: all); the others stay off throughout. */
  only?: readonly string[];
  overrides: PlanOverrides;
  signal: AbortSignal;
}

/**
 * The standard collectors behind a gate: on in the A windows, off in the B windows; with `meter`,
 * iopath's own CPU is read around every window, first in the inner ring and never gated.
 */
export function gatedFactory(base: CollectorFactory, only?: readonly string[], meter?: OwnCpuMeter): CollectorFactory {
  const gate = (c: Collector) => new GatedCollector(c, collectorsOnIn, only === undefined || only.includes(c.id));
  return {
    qemuArgs: base.qemuArgs,
    create(scene) {
      const rings = base.create(scene);
      return { inner: [...(meter ? [meter] : []), ...rings.inner.map(gate)], outer: rings.outer.map(gate) };
    },
  };
}

/** One line per measured throughput as it comes (the run takes minutes); the run's phases and warnings on stderr. */
export function overheadReporter(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`), note: (line: string) => void = (l) => process.stderr.write(`iopath: ${l}\n`)): Reporter {
  return {
    phase: note,
    warn: note,
    samples(records) {
      for (const r of records) {
        if (r.metric !== 'throughput' || r.warmup) continue;
        write(`  ${r.backend} ${r.scenario} rep ${r.rep} collectors ${collectorsOnIn({ kind: 'measure', backend: r.backend, scenario: r.scenario, rep: r.rep, warmup: false }) ? 'on ' : 'off'}: ${(r.value / 1e9).toFixed(3)} Gbit/s`);
      }
    },
  };
}

export async function overhead(o: OverheadCommand): Promise<ExitCodeValue> {
  const loaded = loadProfile(o.profile);
  // Collectors on for the run (the gate decides per window); 2 x rounds measured repetitions.
  const plan = resolvePlan(loaded, { ...o.overrides, collectors: true, reps: 2 * o.rounds });
  await provide(benchNeeds(plan, { report: false, kvmPossible: existsSync('/dev/kvm') }), { install: o.install, signal: o.signal, log: (l) => process.stderr.write(`iopath: ${l}\n`) });
  const scratch = mkdtempSync(join(tmpdir(), 'iopath-overhead-'));
  const resolution = Math.round(1000 * (1 - o.goal)) / 10;
  let keep = true;
  try {
    process.stdout.write(
      `collector overhead on ${plan.backends.join(', ')}, ${plan.scenarios.map((s) => s.name).join(', ')}: ${o.rounds} on/off pairs of repetitions per path (A B B A), collectors ${o.only ? o.only.join(', ') : 'all'}\n` +
        `  per path a 95 % interval of on/off; narrower than \u00b1${resolution} % it resolves a ${resolution} % difference, and the goal is on/off >= ${o.goal}\n`,
    );
    const meter = new OwnCpuMeter();
    const outcome = await runBench({
      plan,
      argv: ['iopath', 'overhead'],
      resultsRoot: scratch,
      signal: o.signal,
      reporter: overheadReporter(),
      seams: { collectors: gatedFactory(standardCollectors, o.only, meter) },
    });
    const order = outcome.record.schedule;
    if (order) process.stdout.write(`order: ${order.mode}${order.reason ? ` (${order.reason})` : ''}\n`);
    if (outcome.record.wall) process.stdout.write(`${describeWall(outcome.record.wall)}\n`);
    if (outcome.record.status !== 'complete') {
      throw new IopathError(`the overhead run did not complete: ${outcome.record.error ?? outcome.record.backends.map((b) => `${b.id}: ${b.reason ?? b.status}`).join('; ')}`);
    }
    const records = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SampleRecord);
    const results: OverheadResult[] = [];
    for (const series of throughputSeries(records)) {
      const r = analyseOverhead(series, o.goal);
      if (!r) continue;
      process.stdout.write(formatOverhead(r) + '\n');
      const own = formatOwnCpu(r, series.byRep.keys(), meter.windows);
      if (own) process.stdout.write(own + '\n');
      results.push(r);
    }
    if (results.length) process.stdout.write(formatResolution(results) + '\n');
    if (results.length === 0) throw new IopathError(`the overhead run measured no complete on/off pair of TCP throughputs (see ${outcome.runDir} for failed repetitions)`);
    keep = false;
    return ExitCode.ok;
  } finally {
    if (keep) process.stderr.write(`iopath: the overhead run's results are kept in ${scratch}\n`);
    else rmSync(scratch, { recursive: true, force: true });
  }
}
