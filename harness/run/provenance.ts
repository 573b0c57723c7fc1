// Provenance written once per run: the host, the tools, the guest image, the accelerator and why,
// and the exact code (git commit, dirty or not) that measured it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFacts } from '../host/facts.ts';
import { runCommand } from '../host/proc.ts';
import type { GuestImage } from '../image/build.ts';
import { labProvenance, readLabMarker } from '../lab/marker.ts';
import { projectRoot } from '../paths.ts';
import type { AccelChoice, Provenance } from './record.ts';

export async function gitState(): Promise<{ commit: string; dirty: boolean }> {
  try {
    const commit = (await runCommand(['git', '-C', projectRoot, 'rev-parse', 'HEAD'], { timeoutMs: 5000 })).stdout.trim();
    const status = (await runCommand(['git', '-C', projectRoot, 'status', '--porcelain', '--untracked-files=no'], { timeoutMs: 5000 })).stdout.trim();
    return { commit, dirty: status.length > 0 };
  } catch {
    return { commit: 'unknown (not a git checkout)', dirty: false };
  }
}

export function iopathVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function collectProvenance(host: HostFacts, image: GuestImage, accel: AccelChoice): Promise<Provenance> {
  const git = await gitState();
  const lab = readLabMarker();
  return {
    hostname: host.hostname,
    hostKernel: host.kernel,
    cpuModel: host.cpuModel,
    cpuCount: host.cpuCount,
    memoryMiB: host.memoryMiB,
    qemuVersion: host.qemu?.version ?? 'unknown',
    qemuBinary: host.qemu?.path ?? 'qemu-system-x86_64',
    guestKernel: image.guestKernel,
    image: { hash: image.hash, kernel: image.kernel, kernelBoot: image.kernelBoot, initrd: image.initrd, packages: image.packages },
    accel,
    gitCommit: git.commit,
    gitDirty: git.dirty,
    iopathVersion: iopathVersion(),
    nodeVersion: process.version,
    ...(lab ? { lab: labProvenance(lab) } : {}),
  };
}

/** A run id that sorts by time and carries a short random tag used in every host resource name. */
export function newRunId(now = new Date()): { run: string; tag: string } {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}-${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  const tag = Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0');
  return { run: `${stamp}-${tag}`, tag };
}
