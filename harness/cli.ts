// The `iopath` command line: yargs commands only. Each command parses its flags, calls one function
// that does the work, and maps the outcome to an exit code (README.md, "Exit status").

import yargs, { type Argv } from 'yargs';
import { loadProfile } from './config/load.ts';
import { resolvePlan } from './config/plan.ts';
import { ExitCode, InterruptedError, UsageError, describeError, exitCodeOf, type ExitCodeValue } from './errors.ts';
import { defaultReportsDir, defaultResultsDir } from './paths.ts';
import { backendIds } from './backends/registry.ts';
import { checkCollectorIds, checkNumber, checkSwitchArgs, NO_INSTALL_ENV, overheadCollectorIds, overheadDefaults, overheadLimits } from './config/flags.ts';
import type { PackageNeed } from './host/needs.ts';
import { ConsoleReporter } from './run/progress.ts';

type Handler = (signal: AbortSignal) => Promise<ExitCodeValue>;

export async function main(args: string[]): Promise<number> {
  let handler: Handler | undefined;
  const set = (h: Handler) => {
    handler = h;
  };
  const cli = buildCli(args, set);
  try {
    await cli.parseAsync();
  } catch (err) {
    process.stderr.write(`iopath: ${describeError(err)}\n`);
    return exitCodeOf(err);
  }
  if (!handler) return ExitCode.ok; // --help or --version was printed
  return runHandler(handler);
}

/** Run a command with Ctrl-C and SIGTERM turned into an orderly abort (teardown still runs). */
async function runHandler(handler: Handler): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\niopath: ${signal} received: stopping and cleaning up (what was measured is kept; press Ctrl-C again to exit at once)\n`);
      controller.abort(new InterruptedError(signal));
    } else {
      process.stderr.write(`iopath: exiting without cleanup; run \`iopath doctor --clean\` to remove what is left\n`);
      process.exit(signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await handler(controller.signal);
  } catch (err) {
    process.stderr.write(`iopath: ${describeError(err)}\n`);
    return exitCodeOf(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const installOption = {
  type: 'boolean',
  default: true,
  describe: `Install missing Debian packages the command needs (as root, with apt); --no-install (or ${NO_INSTALL_ENV}=1) only prints the command that would`,
} as const;

/** The flags of `bench`, also read by `lab` to prepare the host for a bench run inside it. */
function benchOptions(y: Argv) {
  return y
    .option('profile', { type: 'string', default: 'default', describe: 'Profile name in profiles/ or path to a .yaml/.json file' })
    .option('backends', { type: 'string', describe: `Comma-separated paths to measure (${backendIds.join(', ')}, or all)` })
    .option('reps', { type: 'number', describe: 'Measured repetitions per backend and scenario' })
    .option('warmup', { type: 'number', describe: 'Warm-up repetitions thrown away before measuring' })
    .option('duration', { type: 'number', describe: 'Measured seconds of traffic per repetition' })
    .option('accel', { type: 'string', choices: ['auto', 'kvm', 'tcg'], describe: 'Accelerator (auto probes KVM with a guest boot)' })
    .option('collectors', { type: 'boolean', describe: 'Count exits, device accesses and host CPU (--no-collectors to measure without them)' })
    .option('placement', { type: 'string', choices: ['auto', 'none'], describe: 'CPU placement: auto pins guests, helpers and host tools to chosen cores; none leaves them to the scheduler' })
    .option('results-dir', { type: 'string', default: defaultResultsDir, describe: 'Where run folders are written' })
    .option('reports-dir', { type: 'string', default: defaultReportsDir, describe: 'Where reports are written' })
    .option('report', { type: 'boolean', default: true, describe: 'Render the report after the run (--no-report to skip)' })
    .option('images-dir', { type: 'string', describe: 'Guest image recipe folder (default: images/ of the project)' })
    .option('install', installOption);
}

type BenchArgs = ReturnType<ReturnType<typeof benchOptions>['parseSync']>;

/** The plan of a bench command line: the profile, with its flags checked by the profile's schema. */
function benchPlan(a: BenchArgs) {
  return resolvePlan(loadProfile(a.profile), {
    ...(a.backends !== undefined ? { backends: a.backends } : {}),
    ...(a.reps !== undefined ? { reps: a.reps } : {}),
    ...(a.warmup !== undefined ? { warmup: a.warmup } : {}),
    ...(a.duration !== undefined ? { duration: a.duration } : {}),
    ...(a.accel !== undefined ? { accel: a.accel } : {}),
    ...(a.collectors !== undefined ? { collectors: a.collectors } : {}),
    ...(a.placement !== undefined ? { placement: a.placement } : {}),
  });
}

/**
 * What the command run inside the lab needs from the host's Debian packages: L1 has no network and
 * sees the host's root read-only, so it is all installed on the host before L1 boots. A bench
 * command line is parsed here, so that its bad flags are refused before the lab starts.
 */
async function labNeeds(inner: readonly string[]): Promise<PackageNeed[]> {
  const { benchNeeds, basicNeeds, reportNeeds } = await import('./host/needs.ts');
  if (inner[0] === 'bench') {
    const a = benchOptions(yargs(inner.slice(1))).strict().exitProcess(false).fail((msg, err) => {
      throw err ?? new UsageError(`the command inside the lab: ${msg}`);
    }).parseSync();
    return benchNeeds(benchPlan(a), { report: a.report, kvmPossible: true });
  }
  if (inner[0] === 'report' || inner[0] === 'compare') return [...basicNeeds(), ...reportNeeds({ pdf: true })];
  return basicNeeds();
}

/** Get the host ready for a command: the Debian packages of `needs`, and the npm parts with native code. */
async function prepare(signal: AbortSignal, install: boolean, needs: () => Promise<PackageNeed[]>): Promise<void> {
  const { provide } = await import('./host/install.ts');
  await provide(await needs(), { install, signal, log: (l) => process.stderr.write(`iopath: ${l}\n`) });
}

/** Read the run folders given, so that a bad one is refused (exit 2) before anything is installed. */
async function checkRuns(runs: readonly string[]): Promise<void> {
  const { loadRun } = await import('./report/load.ts');
  for (const r of runs) loadRun(r);
}

function buildCli(args: string[], set: (h: Handler) => void): Argv {
  return yargs(args)
    .scriptName('iopath')
    .usage('$0 <command> [options]\n\nMeasure how a VM\'s network I/O path shapes throughput, CPU cost and VM exits.')
    .command(
      'bench',
      'Boot guests on every requested path, measure, and write results and a report',
      benchOptions,
      (a) =>
        set(async (signal) => {
          const plan = benchPlan(a);
          // A bad recipe folder is refused now, not after the run has started.
          if (a['images-dir'] !== undefined) (await import('./image/recipe.ts')).loadRecipe(a['images-dir']);
          const { bench } = await import('./commands/bench.ts');
          return bench({ plan, argv: ['iopath', ...args], resultsRoot: a['results-dir'], reportsRoot: a['reports-dir'], ...(a['images-dir'] ? { imagesDir: a['images-dir'] } : {}), report: a.report, install: a.install, signal, reporter: new ConsoleReporter() });
        }),
    )
    .command(
      'doctor',
      'Say what this host can run and why not, with the command that fixes each missing piece',
      (y) =>
        y
          .option('probe-kvm', { type: 'boolean', default: true, describe: 'Boot a probe guest to see whether KVM runs Linux guests here' })
          .option('json', { type: 'boolean', default: false, describe: 'Print the findings as JSON' })
          .option('clean', { type: 'boolean', default: false, describe: 'Only remove what dead iopath runs left behind (processes, namespaces, sockets), then exit' }),
      (a) =>
        set(async (signal) => {
          const { doctor, clean } = await import('./commands/doctor.ts');
          return a.clean ? clean() : doctor({ probeKvm: a['probe-kvm'], json: a.json, signal });
        }),
    )
    .command(
      'report <runs..>',
      'Render the report (HTML, PDF, Markdown, CSV, JSON) of one or more stored runs, with no VM',
      (y) =>
        y
          .positional('runs', { type: 'string', array: true, demandOption: true, describe: 'Run folders (results/<run-id>); several runs give a trend and, from several hosts, a merged report' })
          .option('out', { type: 'string', describe: 'Output folder (default: reports/<run-id of the last run>)' })
          .option('pdf', { type: 'boolean', default: true, describe: 'Print report.pdf with headless Chromium (--no-pdf to skip)' })
          .option('title', { type: 'string', describe: 'Report title' })
          .option('install', installOption),
      (a) =>
        set(async (signal) => {
          await checkRuns(a.runs);
          await prepare(signal, a.install, async () => (await import('./host/needs.ts')).reportNeeds({ pdf: a.pdf }));
          const { report } = await import('./commands/report.ts');
          return report({ runs: a.runs, out: a.out, pdf: a.pdf, title: a.title, reportsRoot: defaultReportsDir });
        }),
    )
    .command(
      'compare <baseline> <run>',
      'Compare a run with a baseline run: change per metric with its CI and a verdict; exit 6 on a significant regression',
      (y) =>
        y
          .positional('baseline', { type: 'string', demandOption: true, describe: 'Baseline run folder' })
          .positional('run', { type: 'string', demandOption: true, describe: 'Run folder to judge' })
          .option('noise-floor', { type: 'number', default: 5, describe: 'Relative change in percent below which nothing is flagged' })
          .option('alpha', { type: 'number', default: 0.05, describe: 'Significance level of the test' })
          .option('test', { type: 'string', choices: ['permutation', 'welch'], default: 'permutation', describe: 'Two-sample test' })
          .option('out', { type: 'string', describe: 'Also write compare.html, compare.md and compare.json here' })
          .option('install', installOption)
          .check((a) => {
            if (!(a.alpha > 0 && a.alpha < 1)) throw new UsageError(`--alpha ${a.alpha}: must be between 0 and 1`);
            if (!(a['noise-floor'] >= 0)) throw new UsageError(`--noise-floor ${a['noise-floor']}: must be 0 or more`);
            return true;
          }),
      (a) =>
        set(async (signal) => {
          await checkRuns([a.baseline, a.run]);
          await prepare(signal, a.install, async () => []);
          const { compare } = await import('./commands/compare.ts');
          return compare({ baseline: a.baseline, run: a.run, noiseFloorPercent: a['noise-floor'], alpha: a.alpha, test: a.test as 'permutation' | 'welch', out: a.out });
        }),
    )
    .command(
      'switch',
      'Run iopath\'s vhost-user switch on its own: one listening vhost-user socket per port (QEMU and other front-ends connect as clients)',
      (y) =>
        y
          .option('socket', { type: 'string', array: true, demandOption: true, describe: 'A port\'s socket path (repeat for each port)' })
          .option('stats', { type: 'string', describe: 'Rewrite per-port counters to this JSON file (every second, and on SIGUSR2)' })
          .option('stats-interval-ms', { type: 'number', describe: 'How often the counters file is rewritten' })
          .option('queues', { type: 'number', describe: 'Queue pairs each port serves (GET_QUEUE_NUM), 1 to 16; default 4' })
          .option('busy-poll', { type: 'boolean', default: false, describe: 'Poll the rings without ever sleeping (a core of its own, as testpmd)' })
          .option('verbose', { type: 'boolean', default: false, describe: 'Log every protocol message' })
          .check((a) => {
            checkSwitchArgs(a.socket, a.stats, a['stats-interval-ms']);
            if (a.queues !== undefined && !(Number.isInteger(a.queues) && a.queues >= 1 && a.queues <= 16)) throw new UsageError(`--queues ${a.queues}: must be a whole number from 1 to 16`);
            return true;
          }),
      (a) =>
        set(async (signal) => {
          const { runSwitch } = await import('./vhost-user/switch-main.ts');
          await runSwitch({
            sockets: a.socket,
            ...(a.stats ? { statsFile: a.stats } : {}),
            ...(a['stats-interval-ms'] !== undefined ? { statsIntervalMs: a['stats-interval-ms'] } : {}),
            ...(a.queues !== undefined ? { queuePairs: a.queues } : {}),
            ...(a['busy-poll'] ? { busyPoll: true } : {}),
            verbose: a.verbose,
            signal,
          });
          return ExitCode.ok;
        }),
    )
    .command(
      'overhead',
      'Benchmark: throughput with the collectors on against off, as a ratio (goal at least 0.97)',
      (y) =>
        y
          .option('profile', { type: 'string', default: 'overhead', describe: 'Profile to run each way' })
          .option('backends', { type: 'string', describe: 'Comma-separated paths (overrides the profile)' })
          .option('rounds', { type: 'number', default: overheadDefaults.rounds as number, describe: 'On/off pairs per path: the run measures twice as many repetitions of each path, collectors on and off A B B A (the default resolves a 3 % difference at the spread measured on a 2-core TCG host)' })
          .option('collectors', { type: 'string', describe: `Comma-separated collectors to switch on in the "on" repetitions (default: all): ${overheadCollectorIds.join(', ')}` })
          .option('goal', { type: 'number', default: overheadDefaults.goal as number, describe: 'Ratio the collectors should keep' })
          .option('accel', { type: 'string', choices: ['auto', 'kvm', 'tcg'], describe: 'Accelerator' })
          .option('install', installOption)
          .check((a) => {
            checkNumber('rounds', a.rounds, overheadLimits.rounds);
            checkNumber('goal', a.goal, overheadLimits.goal);
            if (a.collectors !== undefined) checkCollectorIds(a.collectors, overheadCollectorIds);
            return true;
          }),
      (a) =>
        set(async (signal) => {
          const { overhead } = await import('./commands/overhead.ts');
          return overhead({
            install: a.install,
            profile: a.profile,
            rounds: a.rounds,
            goal: a.goal,
            ...(a.collectors !== undefined ? { only: checkCollectorIds(a.collectors, overheadCollectorIds) } : {}),
            overrides: { ...(a.backends !== undefined ? { backends: a.backends } : {}), ...(a.accel !== undefined ? { accel: a.accel } : {}) },
            signal,
          });
        }),
    )
    .command(
      'handrun',
      'Benchmark: iopath against a bare QEMU pair started by hand (no agent, no collectors), interleaved, as a ratio with its interval',
      (y) =>
        y
          .option('profile', { type: 'string', default: 'handrun', describe: 'Profile iopath runs (one tcp-stream scenario; its duration is the hand run\'s iperf3 -t)' })
          .option('backends', { type: 'string', describe: 'Comma-separated tap paths whose guests have one QEMU NIC (overrides the profile)' })
          .option('rounds', { type: 'number', default: 4, describe: 'Rounds; each runs the hand pair and iopath once per path, alternating which goes first' })
          .option('reps', { type: 'number', describe: 'iperf3 runs per side and round (default: the profile\'s repetitions)' })
          .option('tolerance', { type: 'number', default: 0.05, describe: 'Agreement band of iopath/hand (0.05: within 5 %)' })
          .option('memory-mib', { type: 'number', describe: "The hand pair's guest memory (default: the profile's)" })
          .option('qemu-arg', { type: 'string', array: true, default: [] as string[], describe: "An option for the hand pair's QEMU, repeatable (e.g. --qemu-arg=-cpu --qemu-arg=max)" })
          .option('iperf3-arg', { type: 'string', array: true, default: [] as string[], describe: 'An option for the hand run\'s iperf3 client, repeatable (e.g. --iperf3-arg=-O --iperf3-arg=2)' })
          .option('collectors', { type: 'boolean', describe: 'iopath with its collectors as the profile says (--no-collectors: off)' })
          .option('placement', { type: 'string', choices: ['auto', 'none'], describe: "iopath's CPU placement (default: the profile's)" })
          .option('pin-hand', { type: 'boolean', describe: 'Pin the hand pair one guest per core with taskset (default: when iopath\'s placement is auto)' })
          .option('install', installOption)
          .check((a) => {
            checkNumber('rounds', a.rounds, overheadLimits.rounds);
            checkNumber('tolerance', a.tolerance, overheadLimits.tolerance);
            if (a['memory-mib'] !== undefined) checkNumber('memory-mib', a['memory-mib'], overheadLimits.memoryMiB);
            return true;
          }),
      (a) =>
        set(async (signal) => {
          const { handrun } = await import('./commands/handrun.ts');
          return handrun({
            install: a.install,
            profile: a.profile,
            ...(a.backends !== undefined ? { backends: a.backends.split(',') } : {}),
            rounds: a.rounds,
            tolerance: a.tolerance,
            ...(a['memory-mib'] !== undefined ? { memoryMiB: a['memory-mib'] } : {}),
            qemuArgs: a['qemu-arg'].map(String),
            iperf3Args: a['iperf3-arg'].map(String),
            ...(a['pin-hand'] !== undefined ? { pinHand: a['pin-hand'] } : {}),
            overrides: { ...(a.reps !== undefined ? { reps: a.reps } : {}), ...(a.collectors === false ? { collectors: false } : {}), ...(a.placement !== undefined ? { placement: a.placement } : {}) },
            signal,
          });
        }),
    )
    .command(
      'lab [command..]',
      'Run an iopath command inside a nested KVM lab: a VM under software emulation whose emulated AMD SVM gives its guests a real KVM (exits are real, speeds are not)',
      (y) =>
        y
          .usage('$0 lab [options] -- <iopath command and flags>\n\ne.g. $0 lab -- bench --profile lab')
          .positional('command', { type: 'string', array: true, describe: 'The iopath command to run inside, after --' })
          .option('cpus', { type: 'number', describe: 'vCPUs of the lab VM (default 1: with more, L1 has hung in soft lockups)' })
          .option('memory-mib', { type: 'number', describe: 'Memory of the lab VM in MiB (default 3072)' })
          .option('keep-console', { type: 'boolean', default: false, describe: "Keep the lab VM's console log in results/ even when the command succeeds" })
          .option('timeout-min', { type: 'number', default: 240, describe: 'Time budget of the command inside, in minutes' })
          .option('install', installOption),
      (a) =>
        set(async (signal) => {
          // Everything after `--` is the command inside, flags included; yargs leaves it in `_`.
          const inner = [...(a.command ?? []), ...a._.slice(1).map(String)];
          if (!(a['timeout-min'] > 0)) throw new UsageError(`--timeout-min ${a['timeout-min']}: must be a positive number of minutes`);
          const { lab } = await import('./commands/lab.ts');
          return lab({
            args: inner,
            prepare: () => prepare(signal, a.install, () => labNeeds(inner)),
            ...(a.cpus !== undefined ? { cpus: a.cpus } : {}),
            ...(a['memory-mib'] !== undefined ? { memoryMiB: a['memory-mib'] } : {}),
            keepConsole: a['keep-console'],
            timeoutMin: a['timeout-min'],
            signal,
          });
        }),
    )
    .command(
      'setup',
      'Install the Debian packages every part of iopath and its tests use (as root with apt), build the npm parts with native code and the guest image',
      (y) => y.option('install', installOption),
      (a) =>
        set(async (signal) => {
          const { setup } = await import('./commands/setup.ts');
          return setup({ install: a.install, signal });
        }),
    )
    .command('image', 'Guest image commands', (y) =>
      y
        .command(
          'build',
          'Build (or find in the cache) the guest kernel and initramfs',
          (yy) =>
            yy
              .option('force', { type: 'boolean', default: false, describe: 'Rebuild even when cached' })
              .option('images-dir', { type: 'string', describe: 'Guest image recipe folder (default: images/ of the project)' }),
          (a) =>
            set(async (signal) => {
              const { imageBuild } = await import('./commands/image.ts');
              return imageBuild({ force: a.force, signal, ...(a['images-dir'] ? { imagesDir: a['images-dir'] } : {}) });
            }),
        )
        .demandCommand(1, 'say which image command: build'),
    )
    .demandCommand(1, 'say which command to run (see --help)')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 100))
    .exitProcess(false)
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg ?? 'invalid command line', 'see iopath --help');
    });
}
