// Every mistake a user can make explains itself in one message, with the documented exit status,
// and leaves nothing half-written: broken profiles and flags (2), a host that lacks a tool, the
// rights or a writable results folder (3). None of it boots a guest; a disk that fills up during a
// run is in faults.test.ts, with the other faults of a running bench.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../harness/paths.ts';
import { iopath, run } from '../helpers/cli.ts';
import { asUserWithoutRoot, needs, withProjectReachable } from '../helpers/host.ts';

const dir = mkdtempSync(join(tmpdir(), 'iopath-bad-'));
// Readable by the unprivileged user of the no-root test.
chmodSync(dir, 0o755);
const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted) execFileSync('umount', [m]);
});
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

const profiles: [string, string, RegExp][] = [
  ['yaml-syntax.yaml', 'backends: [e1000\nscenarios: []\n', /not valid YAML \(line \d+, column \d+\)/],
  ['json-syntax.json', '{"backends": ["e1000"],, }', /not valid JSON/],
  ['wrong-type.yaml', 'repetitions: many\nscenarios: [{kind: tcp-stream}]\n', /repetitions: Invalid input: expected number, received string/],
  ['unknown-key.yaml', 'repetitons: 3\nscenarios: [{kind: tcp-stream}]\n', /unknown key "repetitons"; allowed: /],
  ['nested-unknown-key.yaml', 'scenarios: [{kind: tcp-stream, duration: 5}]\n', /scenarios\[0\]: unknown key "duration"; allowed: .*durationSec/],
  ['zero-reps.yaml', 'repetitions: 0\nscenarios: [{kind: tcp-stream}]\n', /repetitions: Too small: expected number to be >=1/],
  ['tiny-guest.yaml', 'guest: {memoryMiB: 64}\nscenarios: [{kind: tcp-stream}]\n', /guest\.memoryMiB: Too small/],
  ['unknown-backend.yaml', 'backends: [e1000, e100]\nscenarios: [{kind: tcp-stream}]\n', /backends\[1\]: unknown backend "e100"; known: e1000/],
  ['unknown-kind.yaml', 'scenarios: [{kind: tcp}]\n', /scenarios\[0\]\.kind: unknown scenario kind "tcp"; known: tcp-stream/],
  ['duplicate-key.yaml', 'warmup: 1\nwarmup: 2\nscenarios: [{kind: tcp-stream}]\n', /not valid YAML.*[Mm]ap keys must be unique/],
  ['not-a-mapping.yaml', '- e1000\n- virtio-net\n', /a profile must be a mapping/],
];

const flags: [string[], RegExp][] = [
  [['bench', '--profle', 'quick'], /Unknown argument: profle/],
  [['bench', '--profile', 'no-such-profile'], /no profile named "no-such-profile" in .*; available: .*quick/],
  [['bench', '--reps', '0'], /--reps 0: Too small: expected number to be >=1 \(the limits of the profile field repetitions\)/],
  [['bench', '--duration', '-3'], /--duration -3: Too small: expected number to be >=1 \(the limits of the profile field scenarios\[\]\.durationSec\)/],
  [['bench', '--backends', 'e1000,vhost-nett'], /--backends: unknown backend "vhost-nett"; known: /],
  [['bench', '--accel', 'xen'], /Invalid values:\s+Argument: accel, Given: "xen", Choices: "auto", "kvm", "tcg"/],
  [['frobnicate'], /Unknown arguments?: .*frobnicate/],
  [['report'], /Not enough non-option arguments/],
  [['compare', 'only-one'], /Not enough non-option arguments/],
  [['compare', 'a', 'b', '--alpha', '2'], /--alpha 2: must be between 0 and 1/],
];

// The refusals boot nothing and each is a CLI start-up (tsx) and little else: they run side by side.
describe.concurrent('broken profiles', () => {
  for (const [name, text, message] of profiles) {
    it(`${name}: exit 2, the field named, nothing written`, async ({ expect }) => {
      const results = join(dir, `results-${name}`);
      const r = await iopath(['bench', '--profile', write(name, text), '--results-dir', results]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(4);
      expect(existsSync(results)).toBe(false);
    });
  }
});

describe.concurrent('bad flags and arguments', () => {
  for (const [args, message] of flags) {
    it(`iopath ${args.join(' ')}: exit 2 with a message`, async ({ expect }) => {
      const r = await iopath(args[0] === 'bench' ? [...args, '--results-dir', join(dir, 'never')] : args);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(join(dir, 'never'))).toBe(false);
    });
  }
});

const asRoot = process.getuid?.() === 0 ? undefined : 'needs root to play a user without root, and to mount a small tmpfs';
const host = needs('host-side bad input', asRoot);
const quickProfile = write('one.yaml', 'backends: [e1000]\nrepetitions: 8\nwarmup: 0\naccel: tcg\nscenarios: [{kind: tcp-stream, durationSec: 1, omitSec: 0}]\n');

describe('a host that cannot do it', () => {
  host.it('a missing QEMU: exit 3, the package named, no results folder', async () => {
    const bin = join(dir, 'bin-without-qemu');
    mkdirSync(bin, { recursive: true });
    const results = join(dir, 'results-noqemu');
    const r = await run('/usr/bin/env', [`PATH=${bin}`, process.execPath, join(projectRoot, 'bin/iopath.js'), 'bench', '--profile', quickProfile, '--results-dir', results]);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/qemu-system-x86_64 is not installed\n\s+fix: apt-get update && apt-get install -y --no-install-recommends qemu-system-x86/);
    expect(existsSync(results)).toBe(false);
  });

  host.it('no root: exit 3, why each path cannot run and how to get the right', async () => {
    const results = join(dir, 'results-nobody');
    mkdirSync(results, { mode: 0o777 });
    // Without root, iopath's runtime folder would be /tmp/iopath (no XDG_RUNTIME_DIR here): keep it
    // in this test's folder, so the test leaves nothing in /tmp.
    const runtime = mkdtempSync(join(tmpdir(), 'iopath-runtime-nobody-'));
    chmodSync(runtime, 0o777);
    const [setpriv, ...drop] = asUserWithoutRoot;
    const r = await withProjectReachable((root) =>
      run(setpriv, [...drop, process.execPath, join(root, 'bin/iopath.js'), 'bench', '--profile', quickProfile, '--results-dir', results], { cwd: root, env: { IOPATH_RUNTIME_DIR: join(runtime, 'iopath') } }),
    );
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/none of the requested paths can run on this host:\n\s+e1000: iopath is not running as root/);
    expect(r.stderr).toMatch(/fix: sudo npm run bench/);
    expect(readdirSync(results)).toEqual([]);
  });

  host.it('an unwritable results folder: exit 3, the folder named, the fix given', async () => {
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=16k', 'tmpfs', readOnly]);
    mounted.push(readOnly);
    const r = await iopath(['bench', '--profile', quickProfile, '--results-dir', join(readOnly, 'results')]);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/cannot write results to \S+read-only\/results\/\S+: EROFS\n\s+fix: choose a writable folder with --results-dir/);
  });

  host.it('a results folder on a file system that answers oddly (procfs) still fails fast', async () => {
    const r = await iopath(['bench', '--profile', quickProfile, '--results-dir', '/proc/iopath-results']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/cannot write results to \/proc\/iopath-results\/\S+: ENOENT/);
  });
});
