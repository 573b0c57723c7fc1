// CPU placement in a run: the plan for a path (from its descriptor, the profile and the run's CPUs),
// applied once the path's guests and helpers are up, recorded in run.json with what every thread was
// then allowed to run on, and undone before teardown, when the load of other processes over the
// path's span is recorded too. The host readiness check is recorded with the first path.
//
// Several paths can be up at once (rounds keep every path's guests booted). Each path is placed as
// if it were alone, on the CPUs the run had when it started: only the path being measured carries
// traffic, and the others' guests idle with their busy pollers paused, so what competes for a core
// while a path is measured is what its own placement decided. iopath's own pin (the housekeeping
// core, which every path's plan shares) is run-wide: held while any path's placement is in force,
// lifted while another path's host side and guests start, given back when the last is undone.
// What touches the machine is the `Placer` seam; unit tests give the run a fake.

import type { HelperCores, NicBackend } from '../backends/types.ts';
import { guestFor, type RunPlan } from '../config/plan.ts';
import { describeError } from '../errors.ts';
import { allowedCpus, ownCpus, pinTo, tasksOf, vhostWorkersOf, type TaskRef } from '../host/affinity.ts';
import { GUEST_NAMES } from '../host/identity.ts';
import { otherLoad, snapshotProcesses, type OtherLoadFigure } from '../host/other-load.ts';
import { formatCpuList, helperCores, housekeepingCore, planPlacement, type PlacementPlan, type UnitKind } from '../host/placement.ts';
import { checkReadiness, hostFilesAt, irqbalanceRunning, isolatedCpus, type ReadinessItem } from '../host/readiness.ts';
import type { Scope } from '../host/scope.ts';
import { clockTicksPerSecond } from '../collectors/host-probe.ts';
import type { QmpClient } from '../vm/qmp.ts';
import type { LaunchedGuest } from './launcher.ts';
import type { PlacementRecord, ReadinessRecord } from './record.ts';
import type { PathNode, RunTree } from './tree.ts';

type PlacedThread = PlacementRecord['threads'][number];

export interface PlaceRequest {
  policy: 'auto' | 'none';
  /** The CPUs the run may use (its affinity when it started), recorded with the placement. */
  cpus: readonly number[];
  /** The auto plan; absent for `none`. */
  plan?: PlacementPlan;
  guests: readonly { name: string; pid: number; qmp: QmpClient }[];
  /** `unit`: the role its descriptor declares (a per-guest helper's role is `<unit> <guest>`). */
  helpers: readonly { role: string; unit: string; pid: number; pinnedBy: 'iopath' | 'itself' }[];
  signal: AbortSignal;
}

export interface AppliedPlacement {
  record: PlacementRecord;
  /** Measure other processes' load since apply. */
  finish(): Promise<OtherLoadFigure>;
}

/** The part of placement that touches the machine. */
export interface Placer {
  /** The CPUs this process may use now, and those the kernel isolates. A run asks once, before it pins anything. */
  cpus(): { cpus: number[]; isolated: number[] };
  /** Pin the path's threads (and, with a plan, iopath itself to the housekeeping core) and read back where each may run. */
  apply(req: PlaceRequest): Promise<AppliedPlacement>;
  /** Set where every thread of iopath may run (what it starts from then on inherits it). */
  pinSelf(cpus: readonly number[]): Promise<void>;
  readiness(): ReadinessItem[];
}

/** The auto plan of a path on `cpus`, as if it were the only path up. */
export function planFor(cpus: { cpus: readonly number[]; isolated: readonly number[] }, plan: Readonly<RunPlan>, path: NicBackend): PlacementPlan {
  return planPlacement({
    cpus: cpus.cpus,
    isolated: cpus.isolated,
    guests: GUEST_NAMES.map((name) => ({ name, vcpus: guestFor(plan, path.id).vcpus })),
    vhostWorkers: path.vhostWorkers === true,
    helpers: (path.helpers ?? []).map((h) => ({
      role: h.role,
      busyPoll: h.cpu?.busyPoll === 'always' || (h.cpu?.busyPoll === 'when-switchBusyPoll' && plan.switchBusyPoll),
      ...(h.cpu?.lightThreads ? { lightThreads: true } : {}),
    })),
  });
}

/** A path's bring-up while it starts its processes: `done()` once its guests are up or it failed (idempotent). */
export interface StartingPath {
  done(): Promise<void>;
}

/**
 * CPU placement across the paths of one run: the run's CPUs (asked once, when the run is made,
 * before anything is pinned), each path's plan on them, the placements in force, and iopath's own
 * affinity, which every change goes through one queue to set, so that paths starting, placed and
 * undone in any interleaving leave it where the paths then in force want it.
 */
export class RunPlacement {
  readonly policy: 'auto' | 'none';
  readonly cpus: { cpus: number[]; isolated: number[] };
  readonly #placer: Placer;
  readonly #housekeeping: number;
  /** Paths whose placement is in force, each with the other paths in force at some time beside it. */
  readonly #live = new Map<string, Set<string>>();
  /** Paths starting their host side and guests now. */
  #starting = 0;
  /** Where iopath was last put: the run's CPUs or the housekeeping core (undefined: not known, after a failure). */
  #self: 'run' | 'housekeeping' | undefined = 'run';
  #queue: Promise<unknown> = Promise.resolve();

  constructor(placer: Placer, policy: 'auto' | 'none') {
    this.#placer = placer;
    this.policy = policy;
    this.cpus = placer.cpus();
    this.#housekeeping = this.cpus.cpus.length ? housekeepingCore(this.cpus.cpus, this.cpus.isolated) : -1;
  }

  /** The auto plan of a path, or undefined with placement `none`. */
  planFor(plan: Readonly<RunPlan>, path: NicBackend): PlacementPlan | undefined {
    return this.policy === 'auto' ? planFor(this.cpus, plan, path) : undefined;
  }

  /** Cores for the path's helpers that pin themselves (given to `setUp`), or undefined with placement `none`. */
  helperCores(plan: Readonly<RunPlan>, path: NicBackend): Record<string, HelperCores> | undefined {
    const p = this.planFor(plan, path);
    if (!p) return undefined;
    const out: Record<string, HelperCores> = {};
    for (const h of path.helpers ?? []) {
      const c = h.cpu?.pinnedBy === 'itself' ? helperCores(p, h.role) : undefined;
      if (c) out[h.role] = c;
    }
    return out;
  }

  /**
   * A path is about to set up its host side and boot its guests. When another path's placement
   * holds iopath on the housekeeping core, iopath gets the run's CPUs back until `done()`, so that
   * the QEMUs and helpers it starts are not confined to that one core (they inherit its affinity;
   * DPDK's lcores, say, must be allowed where `-l` puts them) before this path's own placement.
   */
  async starting(node: PathNode): Promise<StartingPath> {
    this.#starting++;
    this.#noteFailure(node, await this.#settleSelf());
    let open = true;
    return {
      done: async () => {
        if (!open) return;
        open = false;
        this.#starting--;
        this.#noteFailure(node, await this.#settleSelf());
      },
    };
  }

  /**
   * Place the path's threads now that its guests and helpers are up, record it, and register the
   * undo (with the other-load figure) to run before the guests stop.
   */
  async place(o: { tree: RunTree; scope: Scope; node: PathNode; path: NicBackend; plan: Readonly<RunPlan>; helpers: readonly { role: string; pid: number }[]; vms: readonly LaunchedGuest[]; signal: AbortSignal }): Promise<void> {
    const { tree, scope, node, path } = o;
    if (!tree.record.readiness) tree.readiness(readinessRecord(this.#placer.readiness()));
    const plan = this.planFor(o.plan, path);
    const alongside = new Set(this.#live.keys());
    for (const others of this.#live.values()) others.add(path.id);
    this.#live.set(path.id, alongside);
    const applied = await this.#serial(async () => {
      const a = await this.#placer.apply({
        policy: this.policy,
        cpus: this.cpus.cpus,
        ...(plan ? { plan } : {}),
        guests: o.vms.map((vm) => ({ name: vm.name, pid: vm.pid, qmp: vm.qmp })),
        helpers: o.helpers.map((h) => {
          const spec = path.helpers?.find((s) => s.role === h.role || h.role.startsWith(`${s.role} `));
          return { ...h, unit: spec?.role ?? h.role, pinnedBy: spec?.cpu?.pinnedBy ?? 'iopath' };
        }),
        signal: o.signal,
      });
      if (plan) this.#self = 'housekeeping';
      return a;
    }).catch(async (err: unknown) => {
      // It may have pinned iopath before it failed: settle it from scratch.
      if (plan) this.#self = undefined;
      this.#live.delete(path.id);
      for (const others of this.#live.values()) others.delete(path.id);
      await this.#settleSelf();
      throw err;
    });
    const withAlongside = (r: PlacementRecord): PlacementRecord => (alongside.size ? { ...r, alongside: [...alongside] } : r);
    node.placement(withAlongside(applied.record));
    this.#noteFailure(node, await this.#settleSelf());
    scope.defer('undo CPU placement and measure other load', async () => {
      const load = await applied.finish();
      this.#live.delete(path.id);
      const failed = await this.#settleSelf();
      const record = withAlongside(applied.record);
      node.placement({ ...record, otherLoad: load, ...(failed ? { notes: [...record.notes, `after this undo, iopath's own affinity could not be changed: ${failed}`] } : {}) });
      const r = tree.record.readiness;
      if (r) tree.readiness(withPathLoad(r as ReadinessRecord, path.id, load));
    });
  }

  /** Run `fn` after every change of affinity queued before it. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /**
   * Put iopath where the paths want it now: on the housekeeping core while some path's placement is
   * in force and none is starting, else on the run's CPUs. Returns why it could not, if it could not.
   */
  #settleSelf(): Promise<string | undefined> {
    return this.#serial(async () => {
      const want = this.policy === 'auto' && this.#live.size > 0 && this.#starting === 0 ? 'housekeeping' : 'run';
      if (want === this.#self) return undefined;
      try {
        await this.#placer.pinSelf(want === 'run' ? this.cpus.cpus : [this.#housekeeping]);
        this.#self = want;
        return undefined;
      } catch (err) {
        this.#self = undefined;
        return describeError(err);
      }
    });
  }

  #noteFailure(node: PathNode, failed: string | undefined): void {
    if (failed) node.notes([`CPU placement: iopath's own affinity could not be changed: ${failed}`]);
  }
}

/** The readiness record of a run: the host items, with the load item measured per path later. */
export function readinessRecord(items: readonly ReadinessItem[], now = new Date()): ReadinessRecord {
  const rest = items.filter((i) => i.id !== 'load');
  const load: ReadinessItem = { id: 'load', title: 'other load on the host', status: 'unknown', detail: 'measured while each path runs (see its placement)' };
  return { checkedAt: now.toISOString(), ready: !rest.some((i) => i.status === 'not-ready'), items: [...rest, load] };
}

/** The run's load item after a path measured other processes: the worst path so far decides. */
export function withPathLoad(r: ReadinessRecord, pathId: string, load: OtherLoadFigure): ReadinessRecord {
  const items = r.items.map((i) => {
    if (i.id !== 'load' || load.status === 'unknown') return i;
    const bad = i.status === 'not-ready' || load.status === 'not-ready';
    const detail = `${i.status === 'unknown' ? '' : `${i.detail}; `}${pathId}: ${load.detail}`;
    return { ...i, status: bad ? ('not-ready' as const) : ('ok' as const), detail, ...(bad ? { fix: 'stop other work on the host while it measures (top -o %CPU shows what runs)' } : {}) };
  });
  return { ...r, items, ready: !items.some((i) => i.status === 'not-ready') };
}

/** Placement on the live host: taskset, /proc, QMP. */
export const realPlacer: Placer = {
  cpus: () => ({ cpus: ownCpus(), isolated: isolatedCpus(hostFilesAt()).isolated }),
  readiness: () => checkReadiness(hostFilesAt(), { irqbalance: irqbalanceRunning() }),
  pinSelf: (cpus) => pinTo(process.pid, cpus, { wholeProcess: true }),
  async apply(req) {
    const threads: PlacedThread[] = [];
    const notes: string[] = [];
    const unitCpu = (id: string) => req.plan?.units.find((u) => u.id === id)?.cpu;
    const place = async (role: string, kind: UnitKind, t: TaskRef, cpu: number | undefined, wholeProcess = false) => {
      if (cpu !== undefined) {
        try {
          await pinTo(t.tid, [cpu], { wholeProcess, signal: req.signal });
        } catch (err) {
          notes.push(`${role} ${t.comm} (${t.tid}) could not be pinned to CPU ${cpu}: ${describeError(err)}`);
        }
      }
      const tasks = wholeProcess ? tasksOf(t.pid) : [t];
      for (const x of tasks) threads.push({ role, kind, tid: x.tid, comm: x.comm, ...(cpu !== undefined ? { pinned: String(cpu) } : {}), allowed: allowedCpus(x.pid, x.tid) ?? 'gone' });
    };
    for (const g of req.guests) {
      const role = `qemu ${g.name}`;
      let vcpuTids = new Map<number, number>();
      try {
        const cpus = await g.qmp.execute<{ 'cpu-index': number; 'thread-id': number }[]>('query-cpus-fast');
        vcpuTids = new Map(cpus.map((c) => [c['thread-id'], c['cpu-index']]));
      } catch (err) {
        notes.push(`${role}: QMP query-cpus-fast failed, its vCPU threads are placed with its other threads: ${describeError(err)}`);
      }
      const workers = vhostWorkersOf(g.pid);
      const workerTids = new Set(workers.map((w) => w.tid));
      for (const t of tasksOf(g.pid)) {
        if (workerTids.has(t.tid)) continue;
        const index = vcpuTids.get(t.tid);
        if (index !== undefined) await place(role, 'vcpu', t, unitCpu(`vcpu ${g.name}/${index}`));
        else await place(role, 'io', t, unitCpu(`io ${g.name}`));
      }
      for (const w of workers) await place(role, 'vhost', w, unitCpu(`vhost ${g.name}`) ?? unitCpu(`io ${g.name}`));
    }
    for (const h of req.helpers) {
      const cpu = h.pinnedBy === 'iopath' ? unitCpu(`helper ${h.unit}`) : undefined;
      await place(h.role, 'helper', { pid: h.pid, tid: h.pid, comm: tasksOf(h.pid)[0]?.comm ?? '?' }, cpu, true);
    }
    // iopath itself: the host tools it starts from now on (iperf3 and sockperf servers, perf) inherit this.
    const host = req.plan?.housekeeping;
    await place('iopath', 'host', { pid: process.pid, tid: process.pid, comm: 'iopath' }, host, true);
    const record: PlacementRecord = {
      policy: req.policy,
      cpus: formatCpuList(req.cpus),
      ...(req.plan ? { housekeeping: req.plan.housekeeping, units: req.plan.units.map((u) => ({ id: u.id, kind: u.kind, what: u.what, cpu: u.cpu, alone: u.alone })), shared: req.plan.shared } : {}),
      threads,
      notes,
    };
    const before = snapshotProcesses();
    return {
      record,
      async finish() {
        const hz = await clockTicksPerSecond().catch(() => 100);
        return otherLoad(before, snapshotProcesses(), process.pid, hz);
      },
    };
  },
};
