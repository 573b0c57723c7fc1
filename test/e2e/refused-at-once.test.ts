// Input that is not a profile's content is refused at once with exit 2: a --profile, run folder,
// run record, samples file or image recipe that is not a regular file (a directory, a FIFO, a
// device) or is larger than its cap, and flags beyond the limits of what they set. Each case runs
// the real CLI (a FIFO used to block `bench` forever, past SIGTERM, so a watchdog kills what does
// not end; the time is printed beside the CLI's own start-up), then the same command line through
// the CLI's `main` in this process, where the refusal itself must take under a second.
//
// The real CLI spends most of a case starting up (tsx), so every case's CLI is started before the
// first test, a few at a time, and each test waits for all of them: the in-process refusals are
// then timed with no CLI starting beside them.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../harness/cli.ts';
import { projectRoot } from '../../harness/paths.ts';

const bin = join(projectRoot, 'bin', 'iopath.js');
const WATCHDOG_MS = 30_000;

interface Timed {
  status: number | null;
  stderr: string;
  ms: number;
}

/** Run the CLI; SIGKILL (which a blocked event loop cannot ignore) when it outlives the watchdog. */
function timed(args: string[]): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const watchdog = setTimeout(() => child.kill('SIGKILL'), WATCHDOG_MS);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(watchdog);
      resolve({ status, stderr, ms: performance.now() - started });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'iopath-refused-'));
const path = (...parts: string[]) => join(dir, ...parts);
const fifo = (p: string) => {
  execFileSync('mkfifo', [p]);
  return p;
};
const folder = (p: string) => {
  mkdirSync(p, { recursive: true });
  return p;
};
const sparse = (p: string, bytes: number) => {
  writeFileSync(p, '');
  truncateSync(p, bytes);
  return p;
};
const fixtureRun = join(projectRoot, 'test', 'fixtures', 'runs', 'tcg-dev-a-1');
/** A run folder whose run.json is real and whose samples file is `samples` (made by the caller). */
const runWithSamples = (name: string, makeSamples: (p: string) => unknown) => {
  const d = folder(path(name));
  copyFileSync(join(fixtureRun, 'run.json'), join(d, 'run.json'));
  makeSamples(join(d, 'samples.ndjson'));
  return d;
};
const quick = path('one.yaml');
writeFileSync(quick, 'backends: [e1000]\nrepetitions: 1\nwarmup: 0\naccel: tcg\nscenarios: [{kind: tcp-stream, durationSec: 1, omitSec: 0}]\n');
const recipeFolder = (name: string, recipe: string | ((p: string) => unknown)) => {
  const d = folder(path(name));
  if (typeof recipe === 'string') writeFileSync(join(d, 'recipe.json'), recipe);
  else recipe(join(d, 'recipe.json'));
  return d;
};
const results = path('results-never');

const cases: [string, string[], RegExp][] = [
  // --profile that is not a profile file
  ['--profile a FIFO', ['bench', '--profile', fifo(path('fifo.yaml'))], /the profile \S+fifo\.yaml is a FIFO \(named pipe\), not a regular file/],
  ['--profile a directory', ['bench', '--profile', `${folder(path('profiles-dir'))}/`], /the profile \S+profiles-dir is a directory, not a regular file/],
  ['--profile /dev/zero', ['bench', '--profile', '/dev/zero'], /the profile \/dev\/zero is a character device, not a regular file/],
  ['--profile of 64 MiB', ['bench', '--profile', sparse(path('huge.yaml'), 64 << 20)], /the profile \S+huge\.yaml is 64\.0 MiB, more than the 1\.0 MiB a profile may have/],
  // bench flags, by the limits of the profile fields they override
  ['--reps 99999999999', ['bench', '--reps', '99999999999'], /--reps 99999999999: Too big: expected number to be <=1000 \(the limits of the profile field repetitions\)/],
  ['--reps 1.5', ['bench', '--reps', '1.5'], /--reps 1\.5: Invalid input: expected int/],
  ['--reps abc', ['bench', '--reps', 'abc'], /--reps NaN: Invalid input: expected number, received NaN/],
  ['--warmup 101', ['bench', '--warmup', '101'], /--warmup 101: Too big: expected number to be <=100/],
  ['--duration 3601', ['bench', '--duration', '3601'], /--duration 3601: Too big: expected number to be <=3600 \(the limits of the profile field scenarios\[\]\.durationSec\)/],
  // a bench command line given to the lab is checked on the host, before anything is installed or booted
  ['lab -- bench --reps 99999999999', ['lab', '--', 'bench', '--reps', '99999999999'], /--reps 99999999999: Too big: expected number to be <=1000/],
  ['lab -- bench --profile /dev/zero', ['lab', '--', 'bench', '--profile', '/dev/zero'], /the profile \/dev\/zero is a character device, not a regular file/],
  ['lab -- bench with an unknown flag', ['lab', '--', 'bench', '--repz', '3'], /the command inside the lab: Unknown argument: repz/],
  // --images-dir and its recipe
  ['--images-dir a regular file', ['bench', '--profile', quick, '--images-dir', quick], /the guest image folder \S+one\.yaml is a regular file, not a directory/],
  ['--images-dir with recipe.json a FIFO', ['bench', '--profile', quick, '--images-dir', recipeFolder('images-fifo', (p) => fifo(p))], /the image recipe \S+recipe\.json is a FIFO/],
  ['--images-dir with an option for a package', ['bench', '--profile', quick, '--images-dir', recipeFolder('images-option', JSON.stringify({ kernelPackage: '-oDebug::pkgProblemResolver=1', packages: ['busybox-static'], modules: [], programs: {}, files: {}, cmdline: '' }))], /kernelPackage: not a Debian package name/],
  // run folders given to report and compare
  ['report of a FIFO', ['report', fifo(path('run-fifo'))], /the run folder \S+run-fifo is a FIFO \(named pipe\), not a directory/],
  ['report of /dev/zero', ['report', '/dev/zero'], /the run folder \/dev\/zero is a character device, not a directory/],
  ['report with run.json a FIFO', ['report', (() => { const d = folder(path('record-fifo')); fifo(join(d, 'run.json')); return d; })()], /the run record \S+run\.json is a FIFO/],
  ['report with run.json a directory', ['report', (() => { const d = folder(path('record-dir')); folder(join(d, 'run.json')); return d; })()], /the run record \S+run\.json is a directory/],
  ['report with run.json of 100 MiB', ['report', (() => { const d = folder(path('record-huge')); sparse(join(d, 'run.json'), 100 << 20); return d; })()], /the run record \S+run\.json is 100\.0 MiB, more than the 64\.0 MiB a run record may have/],
  ['report with samples.ndjson a FIFO', ['report', runWithSamples('samples-fifo', fifo)], /the samples file \S+samples\.ndjson is a FIFO/],
  ['compare with samples.ndjson of 1 GiB', ['compare', fixtureRun, runWithSamples('samples-huge', (p) => sparse(p, 1 << 30))], /the samples file \S+samples\.ndjson is 1024\.0 MiB, more than the 256\.0 MiB/],
  // the switch and the overhead benchmark
  ['switch --socket of 120 bytes', ['switch', '--socket', `/tmp/${'s'.repeat(115)}`], /--socket \S+: 120 bytes, more than the 107 a UNIX socket path may have/],
  ['switch --socket a regular file', ['switch', '--socket', quick], /--socket \S+one\.yaml: the path exists and is a regular file, not a socket/],
  ['switch --stats-interval-ms 0', ['switch', '--socket', path('a.sock'), '--stats-interval-ms', '0'], /--stats-interval-ms 0: Too small/],
  ['overhead --rounds 1000000', ['overhead', '--rounds', '1000000'], /--rounds 1000000: Too big: expected number to be <=100/],
  ['overhead --goal 2', ['overhead', '--goal', '2'], /--goal 2: Too big/],
];

let startup = Infinity;
/** Each case's CLI run, by case name; started in beforeAll, a few at a time. */
const cli = new Map<string, Promise<Timed>>();
const argvOf = (args: string[]) => (args[0] === 'bench' ? [...args, '--results-dir', results] : args);

/** Run `jobs` with at most `width` of them at once; each job's outcome is its own promise. */
function limited<T>(jobs: (() => Promise<T>)[], width: number): Promise<T>[] {
  const gates: Promise<void>[] = [];
  return jobs.map((job, i) => {
    const after = i >= width ? gates[i - width]! : Promise.resolve();
    const outcome = after.then(job);
    gates.push(outcome.then(
      () => undefined,
      () => undefined,
    ));
    return outcome;
  });
}

beforeAll(async () => {
  // The CLI's own start-up on this machine now: the best of two runs that only print help, each
  // alone on the machine.
  for (let i = 0; i < 2; i++) startup = Math.min(startup, (await timed(['bench', '--help'])).ms);
  console.log(`CLI start-up (iopath bench --help): ${startup.toFixed(0)} ms`);
  const outcomes = limited(
    cases.map(([, args]) => () => timed(argvOf(args))),
    availableParallelism() + 2,
  );
  cases.forEach(([what], i) => cli.set(what, outcomes[i]!));
  // A case's failure to spawn is its own test's failure, not the hook's.
  await Promise.allSettled(outcomes);
}, 10 * WATCHDOG_MS);

describe('refused at once, exit 2', () => {
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await cli.get(what)!;
      console.log(`${what}: exit ${r.status} after ${r.ms.toFixed(0)} ms (start-up alone ${startup.toFixed(0)} ms; other cases' CLIs ran beside it)`);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(results)).toBe(false);
      // In this process: once to load what the command loads, then timed.
      const argv = argvOf(args);
      expect(await main(argv)).toBe(2);
      const started = performance.now();
      expect(await main(argv)).toBe(2);
      const ms = performance.now() - started;
      console.log(`${what}: refused in ${ms.toFixed(1)} ms once loaded`);
      expect(ms).toBeLessThan(1000);
    }, WATCHDOG_MS + 10_000);
  }
});
