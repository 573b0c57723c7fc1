// CPU placement in a run: the plan for a path (from its descriptor, the profile and this host's
// CPUs), applied once the path's guests and helpers are up, recorded in run.json with what every
// thread was then allowed to run on, and undone before teardown, when the load of other processes
// over the path's span is recorded too. The host readiness check is recorded with the first path.
// What touches the machine is the `Placer` seam; unit tests give the run a fake.

import type { HelperCores, NicBackend } from '../backends/types.ts';
import type { RunPlan } from '../config/plan.ts';
import { describeError } from '../errors.ts';
import { allowedCpus, ownCpus, pinTo, tasksOf, vhostWorkersOf, type TaskRef } from '../host/affinity.ts';
import { GUEST_NAMES } from '../host/identity.ts';
import { otherLoad, snapshotProcesses, type OtherLoadFigure } from '../host/other-load.ts';
import { formatCpuList, helperCores, planPlacement, type PlacementPlan, type UnitKind } from '../host/placement.ts';
import { checkReadiness, hostFilesAt, irqbalanceRunning, isolatedCpus, type ReadinessItem } from '../host/readiness.ts';
import type { Scope } from '../host/scope.ts';
import { clockTicksPerSecond } from '../collectors/host-probe.ts';
import type { QmpClient } from '../vm/qmp.ts';
import type { RunEnv } from './env.ts';
import type { LaunchedGuest } from './launcher.ts';
import type { PlacementRecord, ReadinessRecord } from './record.ts';
import type { PathNode } from './tree.ts';

type PlacedThread = PlacementRecord['threads'][number];

export interface PlaceRequest {
  policy: 'auto' | 'none';
  /** The auto plan; absent for `none`. */
  plan?: PlacementPlan;
  guests: readonly { name: string; pid: number; qmp: QmpClient }[];
  /** `unit`: the role its descriptor declares (a per-guest helper's role is `<unit> <guest>`). */
  helpers: readonly { role: string; unit: string; pid: number; pinnedBy: 'iopath' | 'itself' }[];
  signal: AbortSignal;
}

export interface AppliedPlacement {
  record: PlacementRecord;
  /** Undo what was pinned on iopath itself and measure other processes' load since apply. */
  finish(): Promise<OtherLoadFigure>;
}

/** The part of placement that touches the machine. */
export interface Placer {
  /** The CPUs this run may use, and those the kernel isolates. */
  cpus(): { cpus: number[]; isolated: number[] };
  apply(req: PlaceRequest): Promise<AppliedPlacement>;
  readiness(): ReadinessItem[];
}

/** The auto plan of a path on this host, or undefined with placement `none`. */
export function planFor(env: Pick<RunEnv, 'placer'>, plan: Readonly<RunPlan>, path: NicBackend): PlacementPlan | undefined {
  if (plan.placement !== 'auto') return undefined;
  const { cpus, isolated } = env.placer.cpus();
  return planPlacement({
    cpus,
    isolated,
    guests: GUEST_NAMES.map((name) => ({ name, vcpus: plan.guest.vcpus })),
    vhostWorkers: path.vhostWorkers === true,
    helpers: (path.helpers ?? []).map((h) => ({
      role: h.role,
      busyPoll: h.cpu?.busyPoll === 'always' || (h.cpu?.busyPoll === 'when-switchBusyPoll' && plan.switchBusyPoll),
      ...(h.cpu?.lightThreads ? { lightThreads: true } : {}),
    })),
  });
}

/** Cores for the path's helpers that pin themselves (given to `setUp`), or undefined with placement `none`. */
export function placedHelperCores(env: Pick<RunEnv, 'placer'>, plan: Readonly<RunPlan>, path: NicBackend): Record<string, HelperCores> | undefined {
  const p = planFor(env, plan, path);
  if (!p) return undefined;
  const out: Record<string, HelperCores> = {};
  for (const h of path.helpers ?? []) {
    const c = h.cpu?.pinnedBy === 'itself' ? helperCores(p, h.role) : undefined;
    if (c) out[h.role] = c;
  }
  return out;
}

/**
 * Place the path's threads now that its guests and helpers are up, record it, and register the undo
 * (with the other-load figure) to run before the guests stop.
 */
export async function placePath(env: RunEnv, scope: Scope, node: PathNode, path: NicBackend, helpers: readonly { role: string; pid: number }[], vms: readonly LaunchedGuest[]): Promise<void> {
  if (!env.tree.record.readiness) env.tree.readiness(readinessRecord(env.placer.readiness()));
  const plan = planFor(env, env.plan, path);
  const applied = await env.placer.apply({
    policy: env.plan.placement,
    ...(plan ? { plan } : {}),
    guests: vms.map((vm) => ({ name: vm.name, pid: vm.pid, qmp: vm.qmp })),
    helpers: helpers.map((h) => {
      const spec = path.helpers?.find((s) => s.role === h.role || h.role.startsWith(`${s.role} `));
      return { ...h, unit: spec?.role ?? h.role, pinnedBy: spec?.cpu?.pinnedBy ?? 'iopath' };
    }),
    signal: env.signal,
  });
  node.placement(applied.record);
  scope.defer('undo CPU placement and measure other load', async () => {
    const load = await applied.finish();
    node.placement({ ...applied.record, otherLoad: load });
    const r = env.tree.record.readiness;
    if (r) env.tree.readiness(withPathLoad(r as ReadinessRecord, path.id, load));
  });
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
  async apply(req) {
    const self = ownCpus();
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
      cpus: formatCpuList(self),
      ...(req.plan ? { housekeeping: req.plan.housekeeping, units: req.plan.units.map((u) => ({ id: u.id, kind: u.kind, what: u.what, cpu: u.cpu, alone: u.alone })), shared: req.plan.shared } : {}),
      threads,
      notes,
    };
    const before = snapshotProcesses();
    return {
      record,
      async finish() {
        if (host !== undefined && self.length) await pinTo(process.pid, self, { wholeProcess: true }).catch(() => undefined);
        const hz = await clockTicksPerSecond().catch(() => 100);
        return otherLoad(before, snapshotProcesses(), process.pid, hz);
      },
    };
  },
};
