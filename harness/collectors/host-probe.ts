// What the collectors need to know about the host, discovered rather than assumed: which flavour of
// KVM the kernel runs (VMX and SVM fire kvm:kvm_exit, the PVM flavour does not), whether perf is
// installed and which kvm tracepoints it lists, and the clock tick that /proc CPU times count in.
// Each probe runs once per process.

import { readdirSync } from 'node:fs';
import { HostError } from '../errors.ts';
import { runCommand } from '../host/proc.ts';

/** `vmx`/`svm`: hardware virtualisation (kvm_intel/kvm_amd); `pvm`: the PVM flavour; `none`: no KVM module. */
export type KvmFlavour = 'vmx' | 'svm' | 'pvm' | 'none';

/** The KVM flavour from the loaded modules (built-in modules appear under /sys/module too). */
export function kvmFlavour(sysModule = '/sys/module'): KvmFlavour {
  let modules: Set<string>;
  try {
    modules = new Set(readdirSync(sysModule));
  } catch {
    return 'none';
  }
  if (modules.has('kvm_intel')) return 'vmx';
  if (modules.has('kvm_amd')) return 'svm';
  if (modules.has('kvm_pvm')) return 'pvm';
  return 'none';
}

/** Why kvm:kvm_exit is silent on this flavour, or undefined when it fires. */
export function kvmExitSilentReason(flavour: KvmFlavour): string | undefined {
  if (flavour === 'pvm') {
    return "this host's KVM is the PVM flavour (kvm_pvm module, no kvm_intel/kvm_amd): kvm:kvm_exit never fires, so exits cannot be split by reason here; a host with VT-x or AMD-V shows them";
  }
  if (flavour === 'none') return 'no KVM module is loaded (no kvm_intel, kvm_amd or kvm_pvm)';
  return undefined;
}

export const PERF_FIX = 'apt-get install linux-perf';

export interface PerfInfo {
  binary: string;
  version: string;
  /** Tracepoints perf lists, e.g. `kvm:kvm_exit`. */
  tracepoints: Set<string>;
}

const perfCache = new Map<string, Promise<PerfInfo>>();

/** perf's version and tracepoint list. Throws HostError (with the fix) when perf is missing or broken. */
export function perfInfo(binary = 'perf'): Promise<PerfInfo> {
  let cached = perfCache.get(binary);
  if (!cached) {
    cached = probePerf(binary);
    perfCache.set(binary, cached);
    cached.catch(() => perfCache.delete(binary));
  }
  return cached;
}

async function probePerf(binary: string): Promise<PerfInfo> {
  const version = await runCommand([binary, '--version'], { timeoutMs: 10_000, fix: PERF_FIX });
  const list = await runCommand([binary, 'list', '--raw-dump', 'tracepoint'], { timeoutMs: 30_000, fix: PERF_FIX });
  const tracepoints = new Set(list.stdout.split(/\s+/).filter((t) => t.includes(':')));
  if (tracepoints.size === 0) {
    throw new HostError(
      `${binary} lists no tracepoints (is tracefs mounted and readable?)`,
      'mount -t tracefs nodev /sys/kernel/tracing',
    );
  }
  return { binary, version: version.stdout.trim(), tracepoints };
}

let clockTicks: Promise<number> | undefined;

/** USER_HZ, the unit of utime/stime in /proc/<pid>/stat (`getconf CLK_TCK`, 100 on Linux). */
export function clockTicksPerSecond(): Promise<number> {
  clockTicks ??= runCommand(['getconf', 'CLK_TCK'], { timeoutMs: 5_000 }).then((r) => {
    const hz = Number(r.stdout.trim());
    if (!Number.isInteger(hz) || hz <= 0) throw new HostError(`getconf CLK_TCK printed ${JSON.stringify(r.stdout)}`);
    return hz;
  });
  return clockTicks;
}
