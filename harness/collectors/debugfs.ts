// The `debugfs` collector: KVM's per-VM statistics in `/sys/kernel/debug/kvm/<pid>-<fd>/`, one
// directory per VM (the files at the top of `kvm/` are sums over every VM on the host and are never
// read). vCPU statistics in a VM's directory are summed over its vCPUs; `vcpuN/` holds no counters.
// Only cumulative statistics become deltas (kvm-stats-catalog.ts). Emits `exits` for `exits` and
// every `*_exits` statistic and `kvmStat` for the other cumulative ones, with dims {guest, stat}.
// Unmounted, absent and unreadable (EPERM even for root, as on PVM development hosts) are reported
// as unavailable with the reason.

import { HostError, InternalError, ParseError } from '../errors.ts';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sample } from '../samples.ts';
import { requireAvailable, TCG_NO_EXITS, unavailable } from './availability.ts';
import { isExitStat, kvmX86Stats } from './kvm-stats-catalog.ts';
import type { Accel, Availability, Collector, CollectorTarget, Window } from './types.ts';

export const DEBUGFS_ROOT = '/sys/kernel/debug';

export interface DebugfsOptions {
  accel: Accel;
  targets: readonly CollectorTarget[];
  /** Where debugfs is (tests point this at a directory tree with the real layout). */
  root?: string;
  /** Mount table consulted to tell "not mounted" from "no kvm directory" (default /proc/mounts). */
  mountsFile?: string;
}

/** A read error in words: errno, what it means here. */
export function describeReadError(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EPERM') {
    return `reading ${path} fails with EPERM (operation not permitted) even as root: this kernel restricts debugfs (lockdown, or debugfs=restricted on its command line)`;
  }
  if (code === 'EACCES') return `reading ${path} fails with EACCES (permission denied): run iopath as root`;
  if (code === 'ENOENT') return `${path} does not exist`;
  return `reading ${path} failed: ${(err as Error)?.message ?? String(err)}`;
}

/** The `<pid>-<fd>` directories of one QEMU process under the kvm folder. */
export function vmDirectories(kvmDir: string, pid: number): string[] {
  const pattern = new RegExp(`^${pid}-\\d+$`);
  return readdirSync(kvmDir)
    .filter((name) => pattern.test(name))
    .map((name) => join(kvmDir, name));
}

function isMounted(root: string, mountsFile: string): boolean {
  try {
    return readFileSync(mountsFile, 'utf8')
      .split('\n')
      .some((line) => {
        const [, mountPoint, type] = line.split(' ');
        return type === 'debugfs' && mountPoint === root;
      });
  } catch {
    return false;
  }
}

function readValue(path: string): number {
  const text = readFileSync(path, 'utf8').trim();
  if (!/^-?\d+$/.test(text)) throw new ParseError(`debugfs counter ${path}`, 'not a number', text.slice(0, 200));
  return Number(text);
}

type Snapshot = Map<string, Map<string, number>>;

export class DebugfsCollector implements Collector {
  readonly id = 'debugfs';
  readonly source = 'debugfs';
  #o: DebugfsOptions;
  #root: string;
  #availability: Promise<Availability> | undefined;
  /** guest -> the VM directories of its QEMU process. */
  #dirs = new Map<string, string[]>();
  /** Cumulative statistics present as files. */
  #stats: string[] = [];
  #notes: string[] = [];
  #before: Snapshot | undefined;

  constructor(options: DebugfsOptions) {
    this.#o = options;
    this.#root = options.root ?? DEBUGFS_ROOT;
  }

  notes(): string[] {
    return [...this.#notes];
  }

  availability(): Promise<Availability> {
    this.#availability ??= Promise.resolve().then(() => this.#probe());
    return this.#availability;
  }

  #probe(): Availability {
    if (this.#o.accel !== 'kvm') return unavailable(TCG_NO_EXITS);
    const kvmDir = join(this.#root, 'kvm');
    if (!existsSync(kvmDir)) {
      if (!isMounted(this.#root, this.#o.mountsFile ?? '/proc/mounts')) {
        return unavailable(`debugfs is not mounted at ${this.#root}`, `mount -t debugfs none ${this.#root}`);
      }
      return unavailable(`${kvmDir} does not exist: the kvm module is not loaded`, 'modprobe kvm_intel  # or kvm_amd');
    }
    for (const t of this.#o.targets) {
      let dirs: string[];
      try {
        dirs = vmDirectories(kvmDir, t.qemuPid);
      } catch (err) {
        return unavailable(describeReadError(err, kvmDir));
      }
      if (dirs.length === 0) {
        return unavailable(`no ${kvmDir}/${t.qemuPid}-<fd> directory for guest ${t.guest} (QEMU pid ${t.qemuPid}): it does not run under KVM`);
      }
      if (dirs.length > 1) this.#notes.push(`guest ${t.guest}: QEMU holds ${dirs.length} KVM VMs (${dirs.join(', ')}); their statistics are summed`);
      this.#dirs.set(t.guest, dirs);
    }
    const first = [...this.#dirs.values()][0]?.[0];
    if (first === undefined) return unavailable('no guests to observe');
    const files = new Set(readdirSync(first));
    this.#stats = Object.entries(kvmX86Stats)
      .filter(([name, info]) => info.type === 'cumulative' && files.has(name))
      .map(([name]) => name);
    const unknown = [...files].filter((f) => !(f in kvmX86Stats) && !f.startsWith('vcpu'));
    if (unknown.length > 0) this.#notes.push(`statistics of unknown type left out: ${unknown.sort().join(', ')}`);
    if (this.#stats.length === 0) return unavailable(`${first} holds none of the known cumulative KVM statistics`);
    const probe = join(first, this.#stats.includes('exits') ? 'exits' : this.#stats[0]!);
    try {
      readValue(probe);
    } catch (err) {
      return unavailable(describeReadError(err, probe));
    }
    return { available: true };
  }

  async start(_window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    this.#before = this.#snapshot();
  }

  async stop(_window: Window): Promise<Sample[]> {
    const before = this.#before;
    if (!before) throw new InternalError('debugfs: stop() without start()');
    this.#before = undefined;
    const after = this.#snapshot();
    const samples: Sample[] = [];
    for (const [guest, values] of after) {
      const prior = before.get(guest)!;
      for (const [stat, value] of values) {
        const delta = value - (prior.get(stat) ?? value);
        const seconds = kvmX86Stats[stat]!.exponent !== 0;
        samples.push({
          metric: isExitStat(stat) ? 'exits' : 'kvmStat',
          value: seconds ? delta * 10 ** kvmX86Stats[stat]!.exponent : delta,
          unit: seconds ? 's' : 'count',
          source: this.source,
          dims: { guest, stat },
        });
      }
    }
    return samples;
  }

  #snapshot(): Snapshot {
    const snapshot: Snapshot = new Map();
    for (const [guest, dirs] of this.#dirs) {
      const values = new Map<string, number>();
      for (const stat of this.#stats) {
        let sum = 0;
        for (const dir of dirs) {
          const path = join(dir, stat);
          try {
            sum += readValue(path);
          } catch (err) {
            throw new HostError(describeReadError(err, path), undefined, err);
          }
        }
        values.set(stat, sum);
      }
      snapshot.set(guest, values);
    }
    return snapshot;
  }
}
