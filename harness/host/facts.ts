// What this host has and may do, discovered (never assumed) once per command: rights, devices,
// tools and their versions. The generic facts are probed here; the devices and tools a path needs
// are probed as its descriptor declares them (`hostProbes`). Paths state their requirements against
// these facts; `doctor` prints them with the exact command that fixes each missing piece.

import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { runCommand } from './proc.ts';

export interface ToolInfo {
  path: string;
  version: string;
}

/** How to find a tool and its version: `program` on PATH, then `versionArgv` (default `program --version`). */
export interface ToolProbe {
  program: string;
  versionArgv?: readonly string[];
  /** Its first group is the version. */
  pattern: RegExp;
}

/** The devices and tools that the paths declare, to probe beside the generic facts. */
export interface ExtraProbes {
  devices?: readonly string[];
  tools?: readonly ToolProbe[];
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
  /** hugetlbfs mount point, when one is mounted and pages are reserved. */
  hugepagesMount: string | undefined;
  qemu: ToolInfo | undefined;
  iperf3: ToolInfo | undefined;
  perf: ToolInfo | undefined;
  chromium: ToolInfo | undefined;
  aptGet: boolean;
  dpkgDeb: boolean;
  /** Devices the paths asked about, by path: whether each can be opened read-write. */
  devices: Record<string, boolean>;
  /** Tools the paths asked about, by program name (undefined: not installed). */
  tools: Record<string, ToolInfo | undefined>;
}

/** Debian package that provides each tool, for fix commands. */
export const packageOf = {
  qemu: 'qemu-system-x86',
  iperf3: 'iperf3',
  perf: 'linux-perf',
  chromium: 'chromium',
} as const;

export function installFix(...packages: string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

/** Probe the host: the generic facts, and the devices and tools in `extra` (what the paths declare). */
export async function probeHost(extra: ExtraProbes = {}): Promise<HostFacts> {
  const [qemu, iperf3, perf, chromium] = await Promise.all([
    probeTool({ program: 'qemu-system-x86_64', pattern: /version (\d+\.\d+\.\d+)/ }),
    probeTool({ program: 'iperf3', pattern: /iperf (\d+\.\d+)/ }),
    probeTool({ program: 'perf', pattern: /perf version (\S+)/ }),
    probeTool({ program: 'chromium', pattern: /Chromium (\S+)/ }),
  ]);
  const tools: Record<string, ToolInfo | undefined> = {};
  await Promise.all((extra.tools ?? []).map(async (t) => (tools[t.program] = await probeTool(t))));
  const devices = Object.fromEntries((extra.devices ?? []).map((d) => [d, canOpen(d)]));
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
    hugepagesMount: hugetlbfsMount(),
    qemu,
    iperf3,
    perf,
    chromium,
    aptGet: onPath('apt-get'),
    dpkgDeb: onPath('dpkg-deb'),
    devices,
    tools,
  };
}

/** Parse a QEMU version string like `7.2.22` into its parts. */
export function parseVersion(v: string): { major: number; minor: number; micro: number } {
  const [major = 0, minor = 0, micro = 0] = v.split('.').map((n) => Number.parseInt(n, 10) || 0);
  return { major, minor, micro };
}

export function canOpen(path: string): boolean {
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

/** A tool on PATH and its version ('unknown' when it would not say), or undefined when it is missing. */
export async function probeTool(t: ToolProbe): Promise<ToolInfo | undefined> {
  if (!onPath(t.program)) return undefined;
  try {
    const r = await runCommand(t.versionArgv ? [...t.versionArgv] : [t.program, '--version'], { timeoutMs: 15_000 });
    const text = r.stdout + r.stderr;
    return { path: t.program, version: t.pattern.exec(text)?.[1] ?? 'unknown' };
  } catch {
    return { path: t.program, version: 'unknown' };
  }
}
