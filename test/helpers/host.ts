// What the tests need from the machine, and the check that a run left nothing behind. A test that
// lacks something goes through `needs`: on a developer's machine it is skipped with the reason
// printed; on a CI machine (CI=true), where `npm test` has installed everything, it fails instead,
// unless CI machines may legitimately lack it too (/dev/kvm on a machine without virtualization).

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it, type SuiteFactory, type TestFunction, type TestOptions } from 'vitest';
import { projectRoot, runtimeRoot } from '../../harness/paths.ts';

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, program)));
}

/** Why guests cannot run here, or undefined when they can. */
export function whyNoGuests(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and tap devices)';
  if (!onPath('qemu-system-x86_64')) return 'needs qemu-system-x86_64 (apt-get install -y qemu-system-x86)';
  if (!existsSync('/dev/net/tun')) return 'needs /dev/net/tun';
  if (!onPath('apt-get') || !onPath('dpkg-deb')) return 'needs apt-get and dpkg-deb to build the guest image';
  return undefined;
}

/** argv prefix that runs a command as a user without root: uid and gid nobody, no groups, no capability. */
export const asUserWithoutRoot = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all'] as const;

/** Whether a user other than the owner may walk down to `path` (every folder above it searchable by others). */
function reachableByOthers(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

/**
 * Call `fn` with a path of the project that a user without root can reach. A clone under /root
 * (mode 0700, as on many CI machines) is not: then the project is bound, for the call only, at a
 * temporary folder others can enter, and unbound afterwards. Needs root in that case. Start the
 * user's processes there too (cwd): a working directory it cannot enter fails their spawns.
 */
export async function withProjectReachable<T>(fn: (root: string) => Promise<T>): Promise<T> {
  if (reachableByOthers(projectRoot)) return fn(projectRoot);
  const parent = mkdtempSync(join(tmpdir(), 'iopath-view-'));
  chmodSync(parent, 0o755);
  const view = join(parent, 'iopath');
  mkdirSync(view);
  execFileSync('mount', ['--bind', projectRoot, view]);
  try {
    return await fn(view);
  } finally {
    execFileSync('umount', [view]);
    // Never recursive: should the project still be bound there, this fails instead of deleting it.
    rmdirSync(view);
    rmdirSync(parent);
  }
}

/** CI=true: the machine is meant to have everything `npm test` installs, so a missing piece is a failure. */
export const onCi = process.env.CI === 'true';

export interface NeedOptions {
  /**
   * CI machines may lack this too (a KVM that works, /dev/vhost-net on a machine without
   * virtualization): a skip with the reason printed even under CI=true.
   */
  ciMayLack?: boolean;
}

type ItFn = (name: string, fn: TestFunction, options?: number | TestOptions) => void;
type DescribeFn = (name: string, factory: SuiteFactory) => void;

export interface Need {
  /** Why the tests cannot run here; undefined when they can. */
  reason: string | undefined;
  /** `it` for tests that need it: runs them, skips them with the reason, or under CI fails them. */
  it: ItFn;
  /** `describe` likewise, for a block of such tests. */
  describe: DescribeFn;
}

/**
 * What a group of tests needs from the machine, for example `needs('two-guest integration',
 * whyNoGuests())`. The reason is printed once when they cannot run.
 */
export function needs(test: string, reason: string | undefined, o: NeedOptions = {}): Need {
  if (reason === undefined) return { reason, it, describe };
  if (!onCi || o.ciMayLack) {
    console.log(`SKIPPED ${test}: ${reason}`);
    return { reason, it: (name, fn, options) => it.skip(name, fn, options), describe: (name, factory) => describe.skip(name, factory) };
  }
  const failure = () => {
    throw new Error(`${test} cannot run on this CI machine: ${reason}. Under CI=true this is a failure, not a skip: \`npm test\` installs what the tests need, so something is wrong with the set-up.`);
  };
  console.log(`FAILING ${test} (CI=true): ${reason}`);
  return {
    reason,
    it: (name) => it(name, failure),
    describe: (name) => describe(name, () => it('has what it needs', failure)),
  };
}

/**
 * The older form, for `it.skipIf(skipWhy(...))`: prints why and returns the reason. Under CI=true
 * an unmet need throws, which fails the whole test file with the reason; prefer `needs`.
 */
export function skipWhy(test: string, reason: string | undefined, o: NeedOptions = {}): string | undefined {
  if (reason === undefined) return undefined;
  if (onCi && !o.ciMayLack) throw new Error(`${test} cannot run on this CI machine: ${reason} (CI=true: a failure, not a skip)`);
  console.log(`SKIPPED ${test}: ${reason}`);
  return reason;
}

/** The reason when any of several needs is unmet (the first one), else undefined. */
export function firstReason(...reasons: (string | undefined)[]): string | undefined {
  return reasons.find((r) => r !== undefined && r !== '');
}

export interface Leftovers {
  netns: string[];
  processes: string[];
  runtimeEntries: string[];
}

/** Namespaces, processes and runtime files of iopath runs that still exist. */
export function leftovers(runId?: string): Leftovers {
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith('iopath-') && (!runId || n.endsWith(runId.slice(-6))));
  const processes: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (/qemu-system|dpdk-testpmd|switch-main/.test(cmd) && cmd.includes(runtimeRoot) && (!runId || cmd.includes(runId))) processes.push(`${pid}: ${cmd.slice(0, 200)}`);
  }
  const runtimeEntries = existsSync(runtimeRoot) ? readdirSync(runtimeRoot).filter((e) => !runId || e === runId) : [];
  return { netns, processes, runtimeEntries };
}

/** PID of a live process of a run (its run id or tag is in the command line) whose argv matches. */
export function runProcess(run: string, matches: (argv: string[]) => boolean): number | undefined {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.join(' ').includes(run.slice(-6)) && matches(argv)) return Number(pid);
  }
  return undefined;
}
