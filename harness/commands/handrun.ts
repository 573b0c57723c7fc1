// `iopath handrun` (npm run bench:handrun): does iopath agree with a plain hand run? In one session,
// per path and round, a bare QEMU pair started by hand (harness/handrun/bare-pair.ts: typed argv,
// the same kernel and initramfs, no agent, no collectors) runs `iperf3 -t N` at its console, and
// iopath runs the same path with a profile (default `handrun`); the two alternate which goes first
// from round to round. Prints per path both medians and the ratio iopath/hand with a paired t
// interval over rounds, and whether they agree within the tolerance (or that the interval is too
// wide to decide). Everything the hand pair starts is torn down by its scope after each session; the
// command holds the host lock throughout and is registered as a run, so recovery (the next bench,
// `iopath doctor --clean`) removes what a killed hand run left.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { loadProfile } from '../config/load.ts';
import { resolvePlan, type PlanOverrides } from '../config/plan.ts';
import { describeError, ExitCode, IopathError, UsageError, type ExitCodeValue } from '../errors.ts';
import { backends } from '../backends/registry.ts';
import { BarePair, handNic, type HandNic } from '../handrun/bare-pair.ts';
import { claimHost } from '../handrun/host.ts';
import { ownCpus } from '../host/affinity.ts';
import { provide } from '../host/install.ts';
import { benchNeeds } from '../host/needs.ts';
import { Scope } from '../host/scope.ts';
import { ensureImage } from '../image/build.ts';
import { realSeams, runBench } from '../run/runner.ts';
import type { SampleRecord } from '../samples.ts';
import { pairedLogRatio, within, type Pair } from '../stats/paired.ts';

export interface HandrunCommand {
  install: boolean;
  profile: string;
  backends?: readonly string[];
  rounds: number;
  /** Agreement band: iopath/hand within ±tolerance. */
  tolerance: number;
  /** Guest memory of the hand pair (default: the profile's). */
  memoryMiB?: number;
  /** Extra options for the hand pair's QEMU. */
  qemuArgs: readonly string[];
  /** Extra iperf3 client options at the hand pair's console (e.g. -O 2). */
  iperf3Args: readonly string[];
  /**
   * Pin the hand pair's guests one per core (guest a on the last CPU, b on the first, as iopath's
   * auto placement puts them on two cores), so that both sides are placed alike. Default: pinned
   * when iopath's placement is auto.
   */
  pinHand?: boolean;
  overrides: PlanOverrides;
  signal: AbortSignal;
}

interface PathFigures {
  hand: number[][];
  iopath: number[][];
}

export async function handrun(o: HandrunCommand): Promise<ExitCodeValue> {
  const loaded = loadProfile(o.profile);
  const base = resolvePlan(loaded, { ...o.overrides, ...(o.backends ? { backends: [...o.backends] } : {}) });
  const tcp = base.scenarios.find((s) => s.kind === 'tcp-stream');
  if (!tcp || base.scenarios.length !== 1) throw new UsageError(`profile ${o.profile} must have exactly one scenario, a tcp-stream (it has ${base.scenarios.map((s) => s.kind).join(', ')})`);
  // A hand-typed pair has the paths' own NICs: a profile's variants have no hand-run counterpart.
  if (base.variants.length) throw new UsageError(`profile ${o.profile} has variants (${base.variants.map((v) => v.id).join(', ')}); the hand-run comparison measures paths with their own NICs only`, 'use a profile without variants');
  const nics = new Map(base.backends.map((id) => [id, handNic(backends[id as keyof typeof backends])]));
  await provide(benchNeeds(base, { report: false, kvmPossible: existsSync('/dev/kvm') }), { install: o.install, signal: o.signal, log: (l) => process.stderr.write(`iopath: ${l}\n`) });
  const image = await ensureImage({ log: (l) => process.stderr.write(`iopath: ${l}\n`), signal: o.signal });
  const scratch = mkdtempSync(join(tmpdir(), 'iopath-handrun-'));
  const memoryMiB = o.memoryMiB ?? base.guest.memoryMiB;
  const reps = base.repetitions;
  // Both sides measure the same seconds: the hand iperf3 leaves out the profile's first seconds too.
  const omit = 'omitSec' in tcp && tcp.omitSec > 0 && !o.iperf3Args.includes('-O') ? ['-O', String(tcp.omitSec)] : [];
  o = { ...o, iperf3Args: [...omit, ...o.iperf3Args] };
  const cpus = ownCpus();
  const pin = (o.pinHand ?? base.placement === 'auto') && cpus.length >= 2 ? ([cpus[cpus.length - 1]!, cpus[0]!] as const) : undefined;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`hand run against iopath on ${base.backends.join(', ')}: ${o.rounds} rounds, ${reps} iperf3 runs each side per round`);
  out(`  hand: iperf3 -c <a> -t ${tcp.durationSec}${o.iperf3Args.length ? ' ' + o.iperf3Args.join(' ') : ''} at the console of a bare pair (${memoryMiB} MiB, no agent, no collectors${o.qemuArgs.length ? `, plus ${o.qemuArgs.join(' ')}` : ''})`);
  out(`  hand pair ${pin ? `pinned by hand: taskset -c ${pin[0]} for guest a, taskset -c ${pin[1]} for guest b` : 'not pinned (the scheduler places it)'}`);
  out(`  iopath: profile ${base.profile.name} (${tcp.durationSec} s, omit ${tcp.omitSec} s, ${base.warmup} warm-up, collectors ${base.collectors ? 'on' : 'off'}, placement ${base.placement})`);
  const figures = new Map<string, PathFigures>(base.backends.map((b) => [b, { hand: [], iopath: [] }]));
  const root = new Scope('hand run');
  let keep = true;
  try {
    // One bench per host: the hand run holds the lock for the whole command and registers itself
    // as a run, so that recovery finds what a killed hand run leaves (host.ts).
    const host = await claimHost(root, { resultsDir: scratch });
    const { runs, netns } = host.recovered;
    if (runs.length || netns.length) process.stderr.write(`iopath: removed what ${runs.length + netns.length} dead run(s) left behind: ${[...runs, ...netns].join(', ')}\n`);
    for (let round = 0; round < o.rounds; round++) {
      for (const [pi, path] of base.backends.entries()) {
        const handFirst = (round + pi) % 2 === 0;
        for (const side of handFirst ? (['hand', 'iopath'] as const) : (['iopath', 'hand'] as const)) {
          o.signal.throwIfAborted();
          const values =
            side === 'hand'
              ? await host.recording(() => handSession(nics.get(path)!, image, memoryMiB, reps, tcp.durationSec, o, host.tag, join(scratch, `hand-${path}-${round}`), pin))
              : await iopathSession(loaded, o, path, scratch);
          figures.get(path)![side].push(values);
          out(`round ${round + 1}/${o.rounds} ${path} ${side.padEnd(6)}: ${values.map(gbps).join(' ')} Gbit/s`);
        }
      }
    }
    for (const [path, f] of figures) out(formatAgreement(path, f, o.tolerance));
    keep = false;
    return ExitCode.ok;
  } finally {
    // Lock and runtime directory go after everything the sessions started (their own scopes).
    const closeError = await root.close().then(() => undefined, (err: unknown) => err);
    if (keep && readdirSync(scratch).length) process.stderr.write(`iopath: the runs' results and console logs are kept in ${scratch}\n`);
    else rmSync(scratch, { recursive: true, force: true });
    if (closeError !== undefined) {
      // After a success it is the command's error; after a failure it is said beside that one.
      if (!keep) throw closeError;
      process.stderr.write(`iopath: ${describeError(closeError)}\n`);
    }
  }
}

const shownArgv = new Set<string>();

async function handSession(nic: HandNic, image: { kernel: string; initrd: string }, memoryMiB: number, reps: number, seconds: number, o: HandrunCommand, tag: string, logDir: string, pin?: readonly [number, number]): Promise<number[]> {
  mkdirSync(logDir, { recursive: true });
  const path = nic.path;
  const scope = new Scope(`hand run ${path}`);
  try {
    const pair = await BarePair.start(scope, { nic, image, memoryMiB, extraQemuArgs: o.qemuArgs, tag, logDir, ...(pin ? { pin } : {}), signal: o.signal });
    if (!shownArgv.has(path)) {
      shownArgv.add(path);
      process.stdout.write(`  hand ${path}, guest a: ${pair.argv[0]!.join(' ')}\n`);
    }
    const values: number[] = [];
    for (let i = 0; i < reps; i++) values.push((await pair.iperf3(seconds, o.iperf3Args)).receiverBitsPerSec);
    return values;
  } finally {
    await scope.close();
  }
}

async function iopathSession(loaded: ReturnType<typeof loadProfile>, o: HandrunCommand, path: string, resultsRoot: string): Promise<number[]> {
  const plan = resolvePlan(loaded, { ...o.overrides, backends: [path] });
  // The hand run holds the host lock already; the run still cleans up after dead runs (ours is alive).
  const outcome = await runBench({ plan, argv: ['iopath', 'handrun'], resultsRoot, signal: o.signal, reporter: {}, seams: { hostGuard: { ...realSeams.hostGuard, lock: () => () => undefined } } });
  const values = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SampleRecord)
    .filter((s) => s.metric === 'throughput' && !s.warmup && s.backend === path)
    .map((s) => s.value);
  if (values.length === 0) throw new IopathError(`iopath measured no TCP throughput on ${path} (see ${outcome.runDir})`);
  return values;
}

/** Both medians, and iopath/hand paired by round (each round's medians) with its t interval. */
export function formatAgreement(path: string, f: PathFigures, tolerance: number): string {
  const hand = f.hand.flat();
  const iopath = f.iopath.flat();
  const pairs: Pair[] = f.hand.map((h, i) => ({ a: median(f.iopath[i]!), b: median(h) }));
  const r = pairedLogRatio(pairs);
  const verdict = within(r, tolerance);
  const band = `\u00b1${(100 * tolerance).toFixed(0)} %`;
  const interval = r.ci ? `95% interval ${r.ci.low.toFixed(3)}..${r.ci.high.toFixed(3)}` : 'no interval (one round)';
  const says =
    verdict === 'yes' ? `agree within ${band}` : verdict === 'no' ? `DISAGREE by more than ${band}` : `cannot tell whether they agree within ${band}: the interval is too wide to decide (run more --rounds)`;
  return [
    `${path}: hand median ${gbps(median(hand))} Gbit/s (n=${hand.length}), iopath median ${gbps(median(iopath))} Gbit/s (n=${iopath.length})`,
    `  iopath/hand ${r.ratio.toFixed(3)} over ${r.n} rounds (paired round medians), ${interval}; ${says}`,
  ].join('\n');
}

function gbps(bitsPerSecond: number): string {
  return (bitsPerSecond / 1e9).toFixed(3);
}
