// The `auto` CPU placement policy: which core each thread that works for a path runs on, as a pure
// function of the host's cores and what the path runs. It decides what competes for a core instead
// of leaving it to the scheduler, and says what shares a core when there are fewer cores than busy
// threads (docs/placement.md). Applying it to live threads is harness/host/affinity.ts's job.

import { UsageError } from '../errors.ts';

/** What a placed unit is: a guest's vCPU, its QEMU's other threads, its vhost workers, a helper, iopath. */
export type UnitKind = 'vcpu' | 'io' | 'vhost' | 'helper' | 'helper-light' | 'host';

/** A helper process of the path as placement sees it (from its descriptor's `cpu` field). */
export interface HelperDemand {
  role: string;
  /** Its data thread spins without sleeping: it wants a core of its own. */
  busyPoll: boolean;
  /** It has threads that do little (a DPDK main lcore at its prompt): they go to the housekeeping core. */
  lightThreads?: boolean;
}

export interface PlacementInput {
  /** CPUs this process may use (its affinity), ascending. */
  cpus: readonly number[];
  /** CPUs the kernel keeps for pinned work (isolcpus / nohz_full); preferred for the busy units. */
  isolated?: readonly number[];
  guests: readonly { name: string; vcpus: number }[];
  /** The kernel's vhost workers carry each guest's queues (they get their own unit). */
  vhostWorkers?: boolean;
  helpers: readonly HelperDemand[];
}

export interface PlacedUnit {
  /** Stable key, e.g. `vcpu a/0`, `io b`, `helper switch`, `host`. */
  id: string;
  kind: UnitKind;
  /** In words, for run.json and the report. */
  what: string;
  guest?: string;
  vcpu?: number;
  role?: string;
  cpu: number;
  /** It has its core to itself (nothing else of the run is placed there). */
  alone: boolean;
}

export interface PlacementPlan {
  cpus: number[];
  /** The core that keeps iopath, its host-side tools and light helper threads (and the kernel's own work). */
  housekeeping: number;
  units: PlacedUnit[];
  /** Cores on which more than one unit was placed, with what shares them. */
  shared: { cpu: number; units: string[] }[];
}

/**
 * Place a path's threads:
 * 1. The housekeeping core is the first CPU not isolated; it keeps iopath and its host tools.
 *    Cores are handed out in a fill order: isolated CPUs first, then the others, the housekeeping
 *    core last, so it is shared only when the others are taken.
 * 2. Each guest's vCPU gets a core of its own, in turn (a0, b0, a1, b1, ...); with more vCPUs than
 *    cores they wrap round the fill order.
 * 3. A busy-polling helper gets a core of its own when one is left; else it goes to the least
 *    loaded core (it spins: wherever it lands, it takes half of that core).
 * 4. Each guest's vhost workers, then its QEMU I/O threads (main loop, iothreads), get a core of
 *    their own as a group when every guest's can; otherwise each goes with its guest's first vCPU.
 * 5. An event-driven helper gets a core of its own when one is left, else the least loaded core.
 * 6. Light helper threads go to the housekeeping core.
 */
export function planPlacement(input: PlacementInput): PlacementPlan {
  const cpus = [...new Set(input.cpus)].sort((a, b) => a - b);
  if (cpus.length === 0) throw new UsageError('CPU placement: this process may run on no CPU');
  const isolated = new Set((input.isolated ?? []).filter((c) => cpus.includes(c)));
  const housekeeping = housekeepingCore(cpus, [...isolated]);
  const fill = [...cpus.filter((c) => isolated.has(c)), ...cpus.filter((c) => !isolated.has(c) && c !== housekeeping), housekeeping];
  const units: PlacedUnit[] = [];
  const load = new Map<number, number>(cpus.map((c) => [c, 0]));
  load.set(housekeeping, 1);
  const taken = new Set<number>();
  const put = (u: Omit<PlacedUnit, 'alone'>) => {
    units.push({ ...u, alone: false });
    load.set(u.cpu, (load.get(u.cpu) ?? 0) + 1);
    taken.add(u.cpu);
  };
  const free = () => fill.filter((c) => !taken.has(c));
  const leastLoaded = () => [...fill].sort((a, b) => load.get(a)! - load.get(b)! || fill.indexOf(a) - fill.indexOf(b))[0]!;

  // 2. vCPUs in turn, one core each while cores last.
  const vcpus: { guest: string; vcpu: number }[] = [];
  const most = Math.max(0, ...input.guests.map((g) => g.vcpus));
  for (let i = 0; i < most; i++) for (const g of input.guests) if (i < g.vcpus) vcpus.push({ guest: g.name, vcpu: i });
  vcpus.forEach((v, i) => put({ id: `vcpu ${v.guest}/${v.vcpu}`, kind: 'vcpu', what: `vCPU ${v.vcpu} of guest ${v.guest}`, guest: v.guest, vcpu: v.vcpu, cpu: fill[i % fill.length]! }));
  const guestCore = (g: string) => units.find((u) => u.kind === 'vcpu' && u.guest === g)?.cpu ?? housekeeping;

  // 3. Busy-polling helpers.
  for (const h of input.helpers.filter((x) => x.busyPoll)) {
    put({ id: `helper ${h.role}`, kind: 'helper', what: `${h.role} (busy-polling)`, role: h.role, cpu: free()[0] ?? leastLoaded() });
  }

  // 4. Per-guest groups: vhost workers, then QEMU's I/O threads.
  const groups: { kind: 'vhost' | 'io'; what: (g: string) => string }[] = [];
  if (input.vhostWorkers) groups.push({ kind: 'vhost', what: (g) => `vhost workers of guest ${g}` });
  groups.push({ kind: 'io', what: (g) => `QEMU I/O threads of guest ${g} (main loop, iothreads)` });
  for (const group of groups) {
    const own = free().length >= input.guests.length;
    for (const g of input.guests) put({ id: `${group.kind} ${g.name}`, kind: group.kind, what: group.what(g.name), guest: g.name, cpu: own ? free()[0]! : guestCore(g.name) });
  }

  // 5. Event-driven helpers; 6. light helper threads.
  for (const h of input.helpers.filter((x) => !x.busyPoll)) {
    put({ id: `helper ${h.role}`, kind: 'helper', what: `${h.role} (event-driven)`, role: h.role, cpu: free()[0] ?? leastLoaded() });
  }
  for (const h of input.helpers.filter((x) => x.lightThreads)) {
    put({ id: `light ${h.role}`, kind: 'helper-light', what: `${h.role}: threads that do little (main lcore, control threads)`, role: h.role, cpu: housekeeping });
  }
  put({ id: 'host', kind: 'host', what: 'iopath and the host tools it starts (iperf3/sockperf servers, perf)', cpu: housekeeping });

  const byCpu = new Map<number, PlacedUnit[]>();
  for (const u of units) byCpu.set(u.cpu, [...(byCpu.get(u.cpu) ?? []), u]);
  for (const u of units) u.alone = byCpu.get(u.cpu)!.length === 1;
  const shared = [...byCpu.entries()]
    .filter(([, us]) => us.length > 1)
    .sort(([a], [b]) => a - b)
    .map(([cpu, us]) => ({ cpu, units: us.map((u) => u.what) }));
  return { cpus, housekeeping, units, shared };
}

/** The housekeeping core of a set of CPUs: the first that is not isolated (the first CPU when all are). */
export function housekeepingCore(cpus: readonly number[], isolated: readonly number[] = []): number {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  if (sorted.length === 0) throw new UsageError('CPU placement: this process may run on no CPU');
  return sorted.find((c) => !isolated.includes(c)) ?? sorted[0]!;
}

/** The cores a helper that pins itself (DPDK `-l`) should take: its light threads' and its busy ones'. */
export function helperCores(plan: PlacementPlan, role: string): { light: number; busy: number[] } | undefined {
  const busy = plan.units.filter((u) => u.kind === 'helper' && u.role === role).map((u) => u.cpu);
  if (busy.length === 0) return undefined;
  const light = plan.units.find((u) => u.kind === 'helper-light' && u.role === role)?.cpu ?? plan.housekeeping;
  return { light, busy };
}

/** Parse a kernel CPU list (`0-3,8,10-11`) into ascending CPU numbers. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`not a CPU list: "${text.trim()}" (expected e.g. 0-3,8)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let c = from; c <= to; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** Format CPU numbers as a kernel CPU list (`0-3,8`). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
