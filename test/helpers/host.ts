// What the integration and e2e tests need from the machine, and the check that a run left nothing
// behind. A test that lacks something calls `skipWhy` and prints the reason instead of pretending.

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { runtimeRoot } from '../../harness/paths.ts';

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

/** Print why a test is skipped, so a skip is never silent. Returns the reason for `it.skipIf`. */
export function skipWhy(test: string, reason: string | undefined): string | undefined {
  if (reason) console.log(`SKIPPED ${test}: ${reason}`);
  return reason;
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
