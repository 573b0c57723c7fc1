// The `qmp-stats` collector: KVM's own statistics through QEMU's `query-stats` (QEMU 7.1 and later),
// target `vm` and target `vcpu`, provider `kvm`, read before and after the window over each guest's
// QMP socket. `query-stats-schemas` says which statistics are cumulative; only those become deltas.
// vCPUs are matched by qom-path and named by their cpu-index (from `query-cpus-fast`).
// Emits `exits` (for `exits` and `*_exits`) and `kvmStat` (other cumulative statistics) with dims
// {guest, vcpu, stat} for vCPU statistics and {guest, stat} for VM-wide ones.

import { InternalError } from '../errors.ts';
import type { Sample } from '../samples.ts';
import { QmpError } from '../vm/qmp.ts';
import { requireAvailable, unavailable, unavailableFrom } from './availability.ts';
import { isExitStat } from './kvm-stats-catalog.ts';
import { cumulativeDeltas, parseQueryStats, parseStatsSchemas, type StatSchema, type StatsEntry } from './parse/qmp-stats.ts';
import type { Accel, Availability, Collector, CollectorTarget, Window } from './types.ts';

export interface QmpStatsOptions {
  accel: Accel;
  targets: readonly CollectorTarget[];
}

interface GuestState {
  target: CollectorTarget;
  vcpuIndex: Map<string, number>;
  before?: { vm: StatsEntry[]; vcpu: StatsEntry[] };
}

/** cpu-index by qom-path, from a `query-cpus-fast` reply. */
export function vcpuIndexByQomPath(ret: unknown): Map<string, number> {
  const map = new Map<string, number>();
  if (!Array.isArray(ret)) return map;
  for (const cpu of ret as Record<string, unknown>[]) {
    if (typeof cpu?.['qom-path'] === 'string' && typeof cpu['cpu-index'] === 'number') map.set(cpu['qom-path'], cpu['cpu-index']);
  }
  return map;
}

/** Samples from the deltas of one guest's window. */
export function qmpStatSamples(
  guest: string,
  before: { vm: StatsEntry[]; vcpu: StatsEntry[] },
  after: { vm: StatsEntry[]; vcpu: StatsEntry[] },
  schemas: Map<string, Map<string, StatSchema>>,
  vcpuIndex: Map<string, number>,
): Sample[] {
  const samples: Sample[] = [];
  for (const target of ['vm', 'vcpu'] as const) {
    for (const d of cumulativeDeltas(before[target], after[target], schemas.get(target) ?? new Map())) {
      const dims: Record<string, string | number> = { guest };
      if (d.qomPath !== undefined) dims.vcpu = vcpuIndex.get(d.qomPath) ?? d.qomPath;
      dims.stat = d.name;
      samples.push({ metric: isExitStat(d.name) ? 'exits' : 'kvmStat', value: d.delta, unit: d.seconds ? 's' : 'count', source: 'qmp', dims });
    }
  }
  return samples;
}

export class QmpStatsCollector implements Collector {
  readonly id = 'qmp-stats';
  readonly source = 'QMP query-stats';
  #o: QmpStatsOptions;
  #availability: Promise<Availability> | undefined;
  #schemas: Map<string, Map<string, StatSchema>> = new Map();
  #guests: GuestState[] = [];

  constructor(options: QmpStatsOptions) {
    this.#o = options;
  }

  availability(): Promise<Availability> {
    this.#availability ??= this.#probe();
    return this.#availability;
  }

  async #probe(): Promise<Availability> {
    if (this.#o.accel !== 'kvm') {
      return unavailable('the guests run under TCG (software emulation): QEMU has no kvm statistics provider');
    }
    if (this.#o.targets.length === 0) return unavailable('no guests to observe');
    this.#guests = [];
    for (const target of this.#o.targets) {
      const v = target.qmp.version;
      if (v && (v.major < 7 || (v.major === 7 && v.minor < 1))) {
        return unavailable(`QEMU ${v.major}.${v.minor} has no query-stats (it needs QEMU 7.1 or later)`);
      }
      try {
        const schemas = parseStatsSchemas(await target.qmp.execute('query-stats-schemas', { provider: 'kvm' }));
        if (!schemas.get('vcpu')?.size && !schemas.get('vm')?.size) {
          return unavailable(`QEMU of guest ${target.guest} reports no kvm statistics (is it running under KVM?)`);
        }
        this.#schemas = schemas;
        const index = vcpuIndexByQomPath(await target.qmp.execute('query-cpus-fast'));
        this.#guests.push({ target, vcpuIndex: index });
      } catch (err) {
        if (err instanceof QmpError && err.errorClass === 'CommandNotFound') {
          return unavailable(`QEMU of guest ${target.guest} has no query-stats (it needs QEMU 7.1 or later)`);
        }
        return unavailableFrom(err);
      }
    }
    return { available: true };
  }

  async start(_window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    await Promise.all(
      this.#guests.map(async (g) => {
        g.before = await this.#read(g.target);
      }),
    );
  }

  async stop(_window: Window): Promise<Sample[]> {
    const reads = await Promise.all(this.#guests.map(async (g) => ({ g, after: await this.#read(g.target) })));
    const samples: Sample[] = [];
    for (const { g, after } of reads) {
      if (!g.before) throw new InternalError('qmp-stats: stop() without start()');
      samples.push(...qmpStatSamples(g.target.guest, g.before, after, this.#schemas, g.vcpuIndex));
      delete g.before;
    }
    return samples;
  }

  async #read(target: CollectorTarget): Promise<{ vm: StatsEntry[]; vcpu: StatsEntry[] }> {
    const query = (t: 'vm' | 'vcpu') => {
      const names = [...(this.#schemas.get(t) ?? new Map<string, StatSchema>())].filter(([, s]) => s.type === 'cumulative').map(([n]) => n);
      return target.qmp.execute('query-stats', { target: t, providers: [{ provider: 'kvm', names }] });
    };
    const [vm, vcpu] = await Promise.all([query('vm'), query('vcpu')]);
    return { vm: parseQueryStats(vm), vcpu: parseQueryStats(vcpu) };
  }
}
