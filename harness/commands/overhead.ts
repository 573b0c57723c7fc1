// `iopath overhead`: the collectors' cost in throughput. Runs the same profile with the collectors
// on and off, in alternating order over several rounds, and prints the ratio of median throughputs
// with its bootstrap interval (goal: at least 0.97). A benchmark that prints figures, not a test.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatOverhead, measureOverhead } from '../collectors/overhead-bench.ts';
import { loadProfile } from '../config/load.ts';
import { resolvePlan, type PlanOverrides } from '../config/plan.ts';
import { ExitCode, IopathError, type ExitCodeValue } from '../errors.ts';
import { provide } from '../host/install.ts';
import { benchNeeds } from '../host/needs.ts';
import { runBench } from '../run/runner.ts';
import type { SampleRecord } from '../samples.ts';

export interface OverheadCommand {
  /** Install the Debian packages the runs need when they are missing (false: --no-install). */
  install: boolean;
  profile: string;
  rounds: number;
  goal: number;
  overrides: PlanOverrides;
  signal: AbortSignal;
}

export async function overhead(o: OverheadCommand): Promise<ExitCodeValue> {
  const loaded = loadProfile(o.profile);
  const plan = resolvePlan(loaded, o.overrides);
  await provide(benchNeeds(plan, { report: false, kvmPossible: existsSync('/dev/kvm') }), { install: o.install, signal: o.signal, log: (l) => process.stderr.write(`iopath: ${l}\n`) });
  const scratch = mkdtempSync(join(tmpdir(), 'iopath-overhead-'));
  try {
    const runReps = async (collectors: boolean): Promise<number[]> => {
      const plan = resolvePlan(loaded, { ...o.overrides, collectors });
      const outcome = await runBench({ plan, argv: ['iopath', 'overhead'], resultsRoot: scratch, signal: o.signal, reporter: {} });
      if (outcome.record.status !== 'complete') {
        throw new IopathError(`a run with collectors ${collectors ? 'on' : 'off'} did not complete: ${outcome.record.error ?? outcome.record.backends.map((b) => `${b.id}: ${b.reason ?? b.status}`).join('; ')}`);
      }
      return readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as SampleRecord)
        .filter((s) => s.metric === 'throughput' && !s.warmup)
        .map((s) => s.value);
    };
    process.stdout.write(`collector overhead on ${plan.backends.join(', ')}, ${plan.scenarios.map((s) => s.name).join(', ')}: ${o.rounds} rounds of ${plan.repetitions} repetitions each way\n`);
    const result = await measureOverhead({ runReps, rounds: o.rounds, goal: o.goal, log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(formatOverhead(result) + '\n');
    return ExitCode.ok;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
