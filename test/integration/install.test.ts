// The install step of `iopath setup` (what `npm test` runs) and `iopath bench`, against a stand-in
// apt-get and dpkg-query on PATH (test/fixtures/apt-stub) that record their arguments and install
// nothing: nothing missing, some missing as root, not root, --no-install and its environment
// variable, apt failing. The real apt path is what a fresh CI machine proves with `npm test`.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { projectRoot } from '../../harness/paths.ts';
import { run, type CliResult } from '../helpers/cli.ts';
import { asUserWithoutRoot, needs, withProjectReachable } from '../helpers/host.ts';

const stubs = join(projectRoot, 'test', 'fixtures', 'apt-stub');
const root = needs('installer tests', process.getuid?.() === 0 ? undefined : 'needs root (the installer only installs as root, and a user without root is played with setpriv)');
const dir = mkdtempSync(join(tmpdir(), 'iopath-install-'));
chmodSync(dir, 0o755);
const profile = join(dir, 'two-paths.yaml');
writeFileSync(profile, 'backends: [e1000, vhost-user-testpmd]\nrepetitions: 1\nwarmup: 0\naccel: tcg\nscenarios: [{kind: tcp-stream, durationSec: 1, omitSec: 0}]\n');
chmodSync(profile, 0o644);

interface Apt {
  env: Record<string, string>;
  /** The stub's calls, one per line: `apt-get update ...`, `apt-get install ...`. */
  calls(): string[];
}

/** A fresh stub state in which dpkg reports `missing` as not installed. */
function apt(missing: string[], fail?: string): Apt {
  const state = mkdtempSync(join(dir, 'apt-'));
  chmodSync(state, 0o777);
  for (const [name, text] of [['missing', missing.map((m) => `${m}\n`).join('')], ['calls', '']] as const) {
    writeFileSync(join(state, name), text);
    chmodSync(join(state, name), 0o666);
  }
  return {
    env: { PATH: `${stubs}:${process.env.PATH}`, APT_STUB_DIR: state, ...(fail ? { APT_STUB_FAIL: fail } : {}) },
    calls: () => readFileSync(join(state, 'calls'), 'utf8').split('\n').filter(Boolean),
  };
}

const bin = join(projectRoot, 'bin', 'iopath.js');
const iopathWith = (a: Apt, args: string[], env: Record<string, string> = {}): Promise<CliResult> => run(process.execPath, [bin, ...args], { env: { ...a.env, ...env } });
const asNobody = (a: Apt, args: string[]): Promise<CliResult> => {
  const [setpriv, ...drop] = asUserWithoutRoot;
  // The stand-ins too must be where that user can reach them.
  return withProjectReachable((root) =>
    run(setpriv, [...drop, process.execPath, join(root, 'bin', 'iopath.js'), ...args], { env: { ...a.env, PATH: a.env.PATH!.replace(stubs, join(root, 'test', 'fixtures', 'apt-stub')) }, cwd: root }),
  );
};

/** Run the CLI and send it SIGINT once its stderr matches `when`, as Ctrl-C would. */
function interruptWhen(a: Apt, args: string[], when: RegExp, env: Record<string, string>): Promise<CliResult & { ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...a.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sentAt && when.test(stderr)) {
        sentAt = performance.now();
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout: '', stderr, ms: performance.now() - sentAt }));
  });
}

const installs = (calls: string[]) => calls.filter((c) => c.startsWith('apt-get install'));
const packagesOf = (call: string) => call.split(' ').filter((w, i, all) => i > 1 && !w.startsWith('-') && all[i - 1] !== '-o').sort();

describe('iopath setup (npm test) installs what the tests need', () => {
  root.it('nothing missing: no apt call, and on to the guest image', async () => {
    const a = apt([]);
    const r = await iopathWith(a, ['setup']);
    expect(r.status, r.stderr).toBe(0);
    expect(a.calls()).toEqual([]);
    expect(r.stderr).not.toMatch(/installing/);
    expect(r.stderr).toMatch(/guest image \S+ (found in the cache|built)/);
  }, 120_000);

  root.it('some missing, as root: what and why first, then one apt transaction with progress, then on', async () => {
    const a = apt(['sockperf', 'chromium']);
    const r = await iopathWith(a, ['setup']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/installing 2 Debian packages in one apt transaction \(to install nothing, pass --no-install or set IOPATH_NO_INSTALL=1\):\n.*  chromium  report report\.pdf\n.*  sockperf  scenario latency \(its server on the host\)\n/);
    expect(r.stderr).toMatch(/apt: downloading 50% \(Retrieving file 2 of 2\)/);
    expect(r.stderr).toMatch(/apt: installing 60% \(Setting up chromium\)/);
    expect(r.stderr).toMatch(/installed 2 Debian packages in \d+ s\n.*guest image/);
    const calls = a.calls();
    expect(calls[0]).toMatch(/^apt-get update /);
    expect(installs(calls)).toHaveLength(1);
    expect(installs(calls)[0]).toMatch(/^apt-get install -y -q --no-install-recommends -o APT::Status-Fd=3 /);
    expect(packagesOf(installs(calls)[0]!)).toEqual(['chromium', 'sockperf']);
  }, 120_000);

  root.it('apt failing: its own message, exit 3, the command to retry, nothing further done', async () => {
    const a = apt(['qemu-system-x86', 'poppler-utils'], 'E: Unable to locate package qemu-system-x86');
    const r = await iopathWith(a, ['setup']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/apt-get install failed \(status 100\); nothing further was done\. apt says:\n\s+\| E: Unable to locate package qemu-system-x86\n\s+fix: run it yourself to see what apt says: apt-get update && apt-get install -y --no-install-recommends poppler-utils qemu-system-x86/);
    expect(r.stderr).not.toMatch(/guest image \S+ (found in the cache|built)/);
    expect(installs(a.calls())).toHaveLength(1);
  }, 120_000);

  for (const [how, args, env] of [
    ['--no-install', ['setup', '--no-install'], {}],
    ['IOPATH_NO_INSTALL=1', ['setup'], { IOPATH_NO_INSTALL: '1' }],
  ] as const) {
    root.it(`${how}: the exact command instead, a stop when a required package is missing`, async () => {
      const a = apt(['qemu-system-x86', 'dpdk-dev']);
      const r = await iopathWith(a, [...args], env);
      expect(r.status, r.stderr).toBe(3);
      expect(r.stderr).toMatch(/Debian packages this command needs are not installed, and iopath does not install them \((--no-install was given|IOPATH_NO_INSTALL=1 is set)\):\n\s+dpdk-dev\s+path vhost-user-testpmd\n\s+qemu-system-x86\s+every run/);
      expect(r.stderr).toMatch(/fix: apt-get update && apt-get install -y --no-install-recommends dpdk-dev qemu-system-x86\n/);
      expect(a.calls()).toEqual([]);
    }, 120_000);
  }

  root.it('--no-install with only optional packages missing: the command printed, and on as before', async () => {
    const a = apt(['dpdk-dev']);
    const r = await iopathWith(a, ['setup', '--no-install']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Debian packages that parts of this command need are not installed, and iopath does not install them \(--no-install was given\); what needs them is skipped with the reason:\n.*dpdk-dev\s+path vhost-user-testpmd\n.*to install them: apt-get update && apt-get install -y --no-install-recommends dpdk-dev\n/);
    expect(a.calls()).toEqual([]);
  }, 120_000);

  root.it('not root: the exact command to run as root, no apt call', async () => {
    const a = apt(['qemu-system-x86']);
    const r = await asNobody(a, ['setup']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/iopath does not install them \(iopath is not running as root\):\n\s+qemu-system-x86/);
    expect(r.stderr).toMatch(/fix: apt-get update && apt-get install -y --no-install-recommends qemu-system-x86 \(as root\)/);
    expect(a.calls()).toEqual([]);
  }, 120_000);
});

describe('Ctrl-C while apt works', () => {
  root.it('while it downloads: apt is stopped at once, nothing is installed, exit 130', async () => {
    const a = apt(['chromium']);
    const r = await interruptWhen(a, ['setup'], /apt: downloading 50%/, { APT_STUB_DOWNLOAD_SEC: '60' });
    console.log(`stopped ${r.ms.toFixed(0)} ms after SIGINT`);
    expect(r.status, r.stderr).toBe(130);
    expect(r.ms).toBeLessThan(15_000);
    expect(a.calls()).not.toContain('apt-get finished');
    expect(readFileSync(join(a.env.APT_STUB_DIR!, 'missing'), 'utf8')).toBe('chromium\n');
  }, 120_000);

  root.it('while dpkg unpacks: apt finishes first (nothing half-configured), then exit 130', async () => {
    const a = apt(['chromium']);
    const r = await interruptWhen(a, ['setup'], /apt: installing 0%/, { APT_STUB_UNPACK_SEC: '3' });
    expect(r.status, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/apt: finishing the package installation first/);
    expect(a.calls()).toContain('apt-get finished');
    expect(r.stderr).not.toMatch(/guest image \S+ (found in the cache|built)/);
  }, 120_000);
});

describe('iopath bench installs what its plan needs', () => {
  root.it('--no-install with QEMU missing: exit 3 with the command, before a results folder exists', async () => {
    const a = apt(['qemu-system-x86', 'dpdk-dev']);
    const results = join(dir, 'results-no-install');
    const r = await iopathWith(a, ['bench', '--profile', profile, '--results-dir', results, '--no-install']);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/fix: apt-get update && apt-get install -y --no-install-recommends dpdk-dev qemu-system-x86/);
    expect(a.calls()).toEqual([]);
    expect(existsSync(results)).toBe(false);
  }, 120_000);

  root.it('apt failing (a held package): apt\'s message, exit 3, no results folder', async () => {
    const a = apt(['dpdk-dev'], 'E: Held packages were changed and -y was used without --allow-change-held-packages.');
    const results = join(dir, 'results-apt-fails');
    const r = await iopathWith(a, ['bench', '--profile', profile, '--results-dir', results]);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/apt says:\n\s+\| E: Held packages were changed/);
    expect(existsSync(results)).toBe(false);
  }, 120_000);

  root.it('some missing, as root: only what the plan uses, in one transaction, then the run goes on', async () => {
    // The plan has vhost-user-testpmd, a report, no guest-to-host scenario and TCG: dpdk-dev and
    // chromium are installed, sockperf (host end) and linux-perf (KVM collectors) are not asked for.
    const a = apt(['dpdk-dev', 'chromium', 'sockperf', 'linux-perf']);
    // procfs takes no folders: the run stops right after the install, where it would create its results.
    const r = await iopathWith(a, ['bench', '--profile', profile, '--results-dir', '/proc/iopath-results']);
    expect(r.stderr).toMatch(/installing 2 Debian packages in one apt transaction/);
    expect(installs(a.calls())).toHaveLength(1);
    expect(packagesOf(installs(a.calls())[0]!)).toEqual(['chromium', 'dpdk-dev']);
    expect(r.stderr).toMatch(/installed 2 Debian packages[^]*cannot write results to \/proc\/iopath-results/);
    expect(r.status, r.stderr).toBe(3);
  }, 120_000);
});
