// What this host has and may do, discovered (never assumed) once per command: rights, devices,
// tools and their versions. Backends state their requirements against these facts; `doctor` prints
// them with the exact command that fixes each missing piece.

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { runCommand } from './proc.ts';

export interface ToolInfo {
  path: string;
  version: string;
}

export interface HostFacts {
  hostname: string;
  kernel: string;
  cpuModel: string;
  cpuCount: number;
  memoryMiB: number;
  root: boolean;
  /** Root, or CAP_NET_ADMIN in the effective set: may create namespaces and taps. */
  netAdmin: boolean;
  devNetTun: boolean;
  /** /dev/kvm exists and can be opened read-write (whether Linux guests boot is a separate probe). */
  devKvm: boolean;
  devVhostNet: boolean;
  /** hugetlbfs mount point, when one is mounted. */
  hugepagesMount: string | undefined;
  qemu: ToolInfo | undefined;
  iperf3: ToolInfo | undefined;
  perf: ToolInfo | undefined;
  testpmd: ToolInfo | undefined;
  chromium: ToolInfo | undefined;
  aptGet: boolean;
  dpkgDeb: boolean;
}

/** Debian package that provides each tool, for fix commands. */
export const packageOf = {
  qemu: 'qemu-system-x86',
  iperf3: 'iperf3',
  perf: 'linux-perf',
  testpmd: 'dpdk-dev',
  chromium: 'chromium',
} as const;

export function installFix(...packages: string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export async function probeHost(): Promise<HostFacts> {
  const [qemu, iperf3, perf, testpmd, chromium] = await Promise.all([
    toolVersion('qemu-system-x86_64', ['--version'], /version (\d+\.\d+\.\d+)/),
    toolVersion('iperf3', ['--version'], /iperf (\d+\.\d+)/),
    toolVersion('perf', ['--version'], /perf version (\S+)/),
    // testpmd has no --version that exits before EAL start-up; ask the package database instead.
    onPath('dpdk-testpmd') ? toolVersion('dpkg-query', ['-W', '-f=${Version}', 'dpdk-dev'], /(\S+)/).then((v) => ({ path: 'dpdk-testpmd', version: v?.version ?? 'unknown' })) : undefined,
    toolVersion('chromium', ['--version'], /Chromium (\S+)/),
  ]);
  const root = process.getuid?.() === 0;
  return {
    hostname: hostname(),
    kernel: release(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpuCount: cpus().length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    root,
    netAdmin: root || hasCapNetAdmin(),
    devNetTun: canOpen('/dev/net/tun'),
    devKvm: canOpen('/dev/kvm'),
    devVhostNet: canOpen('/dev/vhost-net'),
    hugepagesMount: hugetlbfsMount(),
    qemu,
    iperf3,
    perf,
    testpmd,
    chromium,
    aptGet: onPath('apt-get'),
    dpkgDeb: onPath('dpkg-deb'),
  };
}

/** Parse a QEMU version string like `7.2.22` into its parts. */
export function parseVersion(v: string): { major: number; minor: number; micro: number } {
  const [major = 0, minor = 0, micro = 0] = v.split('.').map((n) => Number.parseInt(n, 10) || 0);
  return { major, minor, micro };
}

function canOpen(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function hasCapNetAdmin(): boolean {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const eff = /^CapEff:\s*([0-9a-f]+)/m.exec(status)?.[1];
    const CAP_NET_ADMIN = 12n;
    return eff !== undefined && ((BigInt(`0x${eff}`) >> CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}

function hugetlbfsMount(): string | undefined {
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    const line = mounts.split('\n').find((l) => l.split(' ')[2] === 'hugetlbfs');
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const total = Number(/^HugePages_Total:\s*(\d+)/m.exec(meminfo)?.[1] ?? 0);
    return line && total > 0 ? line.split(' ')[1] : undefined;
  } catch {
    return undefined;
  }
}

export function onPath(program: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .some((dir) => dir && existsSync(`${dir}/${program}`));
}

async function toolVersion(program: string, args: string[], pattern: RegExp): Promise<ToolInfo | undefined> {
  if (!onPath(program)) return undefined;
  try {
    const r = await runCommand([program, ...args], { timeoutMs: 15_000 });
    const text = r.stdout + r.stderr;
    return { path: program, version: pattern.exec(text)?.[1] ?? 'unknown' };
  } catch {
    return { path: program, version: 'unknown' };
  }
}
