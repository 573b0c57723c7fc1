// Overhead benchmark: runs the same repetitions with the collectors on and off and prints the
// throughput ratio (goal: at least 0.97, i.e. collectors cost at most 3% of throughput).
//
// The repetitions come from a driver: any function `runReps(collectorsOn)` that runs the configured
// measured repetitions (guests already booted, same workload each time), with the collectors
// started and stopped around every repetition when `collectorsOn` is true, and returns one
// throughput per repetition in bit/s. The runner provides one; so can a hand-written module:
//
//   npx tsx harness/collectors/overhead-bench.ts --driver ./driver.ts [--rounds 3] [--goal 0.97]
//
// where driver.ts exports `runReps(collectorsOn: boolean): Promise<number[]>` and optionally
// `setup(): Promise<void>` and `teardown(): Promise<void>`.
//
// Method: rounds alternate the order (off,on / on,off / ...) so slow drift of the host hits both
// sides alike; the ratio is median(on) / median(off), with a 95% percentile bootstrap interval
// (resampling each side with replacement, seeded, so the output is reproducible). On a shared,
// noisy host the paired ratio is more telling: the median over rounds of each round's
// median(on) / median(off), which cancels drift slower than a round.

import { InternalError } from '../errors.ts';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { resampleWithReplacement, seededRandom } from '../stats/resample.ts';

export type RunReps = (collectorsOn: boolean) => Promise<number[]>;

export interface OverheadOptions {
  runReps: RunReps;
  /** Number of on/off pairs of calls to runReps (default 2). */
  rounds?: number;
  /** Ratio to reach (default 0.97). */
  goal?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export interface OverheadResult {
  on: number[];
  off: number[];
  medianOn: number;
  medianOff: number;
  /** median(on) / median(off). */
  ratio: number;
  /** 95% bootstrap interval of the ratio of medians. */
  interval: [number, number];
  /** Median over rounds of median(on) / median(off) within the round (absent with one round). */
  pairedRatio?: number;
  goal: number;
  /** Whether the ratio reaches the goal. */
  pass: boolean;
}

/** Run the rounds and compare. */
export async function measureOverhead(o: OverheadOptions): Promise<OverheadResult> {
  const rounds = o.rounds ?? 2;
  const on: number[] = [];
  const off: number[] = [];
  const roundRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [false, true] : [true, false];
    const medians: Record<string, number> = {};
    for (const collectorsOn of order) {
      const values = await o.runReps(collectorsOn);
      if (values.length === 0 || values.some((v) => !(v > 0))) {
        throw new InternalError(`runReps(${collectorsOn}) returned ${JSON.stringify(values)}: expected positive throughputs`);
      }
      (collectorsOn ? on : off).push(...values);
      medians[String(collectorsOn)] = median(values);
      o.log?.(`round ${round + 1}/${rounds} collectors ${collectorsOn ? 'on ' : 'off'}: ${values.map(gbps).join(', ')} Gbit/s`);
    }
    roundRatios.push(medians.true! / medians.false!);
  }
  const result = compareThroughput(on, off, o.goal ?? 0.97);
  if (roundRatios.length > 1) result.pairedRatio = median(roundRatios);
  return result;
}

/** The ratio of medians with its bootstrap interval (pure). */
export function compareThroughput(on: readonly number[], off: readonly number[], goal = 0.97, resamples = 2000): OverheadResult {
  if (on.length === 0 || off.length === 0) throw new InternalError('compareThroughput: both sides need at least one repetition');
  const medianOn = median(on);
  const medianOff = median(off);
  const random = seededRandom(0x10_9a_7);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) ratios.push(median(resampleWithReplacement(on, random)) / median(resampleWithReplacement(off, random)));
  ratios.sort((a, b) => a - b);
  const ratio = medianOn / medianOff;
  return {
    on: [...on],
    off: [...off],
    medianOn,
    medianOff,
    ratio,
    interval: [ratios[Math.floor(0.025 * (resamples - 1))]!, ratios[Math.ceil(0.975 * (resamples - 1))]!],
    goal,
    pass: ratio >= goal,
  };
}

export function formatOverhead(r: OverheadResult): string {
  return [
    `collectors off: median ${gbps(r.medianOff)} Gbit/s over ${r.off.length} repetitions (${r.off.map(gbps).join(', ')})`,
    `collectors on:  median ${gbps(r.medianOn)} Gbit/s over ${r.on.length} repetitions (${r.on.map(gbps).join(', ')})`,
    `throughput ratio on/off: ${r.ratio.toFixed(3)} (95% bootstrap interval ${r.interval[0].toFixed(3)}..${r.interval[1].toFixed(3)}); goal >= ${r.goal}: ${r.pass ? 'met' : 'NOT met'}`,
    ...(r.pairedRatio === undefined ? [] : [`paired ratio (median over rounds of on/off within a round): ${r.pairedRatio.toFixed(3)}`]),
  ].join('\n');
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function gbps(bitsPerSecond: number): string {
  return (bitsPerSecond / 1e9).toFixed(3);
}

interface DriverModule {
  runReps: RunReps;
  setup?: () => Promise<void>;
  teardown?: () => Promise<void>;
}

async function main(argv: string[]): Promise<number> {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const driverPath = flag('driver');
  if (!driverPath) {
    console.error('usage: tsx harness/collectors/overhead-bench.ts --driver <module exporting runReps> [--rounds N] [--goal 0.97]');
    return 2;
  }
  const driver = (await import(pathToFileURL(resolve(driverPath)).href)) as DriverModule;
  if (typeof driver.runReps !== 'function') {
    console.error(`${driverPath} does not export runReps(collectorsOn: boolean): Promise<number[]>`);
    return 2;
  }
  await driver.setup?.();
  try {
    const result = await measureOverhead({
      runReps: driver.runReps,
      rounds: Number(flag('rounds') ?? 2),
      goal: Number(flag('goal') ?? 0.97),
      log: (line) => console.log(line),
    });
    console.log(formatOverhead(result));
    return result.pass ? 0 : 1;
  } finally {
    await driver.teardown?.();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.stack : err);
      process.exit(1);
    },
  );
}
