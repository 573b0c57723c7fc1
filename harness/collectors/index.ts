// The collectors' front door for the runner and the VM launcher: which collectors apply to a run
// (createCollectors), which QEMU options they need (collectorArgs), and re-exports of the pieces the
// runner calls (CollectorGroup, normalisation).

import { join } from 'node:path';
import type { Scope } from '../host/scope.ts';
import { DebugfsCollector } from './debugfs.ts';
import { ExitReasonCollector, type ExitReasonStrategy } from './exit-reasons.ts';
import { FlameCollector } from './flame.ts';
import { HostCpuCollector } from './host-cpu.ts';
import { PerfKvmCollector } from './perf-kvm.ts';
import { QmpStatsCollector } from './qmp-stats.ts';
import { tcgTraceArgs, TcgTraceCollector } from './tcg-trace.ts';
import type { Accel, Collector, CollectorTarget, HostProcess } from './types.ts';

export { CollectorGroup, type CollectorStatus, type CollectorFailure, type WindowResult } from './group.ts';
export { normalise, subtractBaseline, sumBy, workFromSamples, type Work, type WindowSamples } from './normalise.ts';
export type { Accel, Availability, Collector, CollectorTarget, HostProcess, Intrusion, Window } from './types.ts';

export type CollectorId = 'perf-kvm' | 'perf-kvm-exit-reasons' | 'debugfs' | 'qmp-stats' | 'tcg-trace' | 'host-cpu' | 'flame';

/**
 * Collectors a run has only when its profile asks for them, by a boolean field of the plan: their
 * own work changes what is measured (flame samples call stacks), so they are never on by default.
 */
export const optInCollectors: Partial<Record<CollectorId, 'flame'>> = { flame: 'flame' };

/**
 * What each collector needs on the host: Debian packages, and the accelerator under which it counts
 * anything at all. The installer reads this to install what a run's collectors will use.
 */
export const collectorNeeds: Record<CollectorId, { debianPackages: readonly string[]; accel: Accel | 'any' }> = {
  'perf-kvm': { debianPackages: ['linux-perf'], accel: 'kvm' },
  'perf-kvm-exit-reasons': { debianPackages: ['linux-perf'], accel: 'kvm' },
  debugfs: { debianPackages: [], accel: 'kvm' },
  'qmp-stats': { debianPackages: [], accel: 'kvm' },
  'tcg-trace': { debianPackages: [], accel: 'tcg' },
  'host-cpu': { debianPackages: [], accel: 'any' },
  flame: { debianPackages: ['linux-perf'], accel: 'any' },
};

/** Everything the collectors of one backend's run need. */
export interface CollectorContext {
  accel: Accel;
  /** The guests, each with its own QEMU pid, QMP client and (under TCG) trace log. */
  targets: readonly CollectorTarget[];
  /**
   * Host processes of the path besides QEMU (its helpers, e.g. a userspace switch; `BackendInstance.processes()`). Each
   * target's QEMU is added as role `qemu <guest>` unless listed here already.
   */
  hostProcesses?: readonly HostProcess[];
  /** Folder for raw collector output (perf `-o` files, per-window trace logs while counted). */
  dir: string;
  /** Private runtime folder for perf's control FIFOs (`dir` may be on a file system without FIFOs). */
  runtimeDir?: string;
  /** Helper processes (perf) are registered here, so a torn-down run never leaves them behind. */
  scope?: Scope;
  options?: {
    perf?: string;
    /** Root of debugfs (default /sys/kernel/debug). */
    debugfsRoot?: string;
    exitReasonStrategy?: ExitReasonStrategy;
    keepTraceLogs?: boolean;
    maxTraceWindowBytes?: number;
    /** Only create these collectors (default: every one but the opt-in ones, see `flame`). */
    only?: readonly CollectorId[];
    /** Add the flame collector (profile `flame: true`): call stacks of the path's host threads in its first measured repetition. */
    flame?: boolean;
  };
}

/**
 * Every collector for the run, available or not: the ones that cannot work here (the KVM ones under
 * TCG, tcg-trace under KVM, perf where it is missing, ...) say why from `availability()`, and the
 * report prints that reason instead of a number. Create them after the guests booted (QEMU pids and
 * QMP clients exist) and before the first window.
 */
export function createCollectors(ctx: CollectorContext): Collector[] {
  const o = ctx.options ?? {};
  const scope = ctx.scope;
  const withScope = scope === undefined ? {} : { scope };
  const withPerf = o.perf === undefined ? {} : { perf: o.perf };
  const fifos = (id: string) => (ctx.runtimeDir === undefined ? {} : { fifoDir: join(ctx.runtimeDir, id) });
  const processes: HostProcess[] = [...(ctx.hostProcesses ?? [])];
  for (const t of ctx.targets) {
    if (!processes.some((p) => p.pid === t.qemuPid)) processes.push({ role: `qemu ${t.guest}`, pid: t.qemuPid, qemu: true });
  }
  const all: Record<CollectorId, () => Collector> = {
    'perf-kvm': () => new PerfKvmCollector({ accel: ctx.accel, targets: ctx.targets, dir: join(ctx.dir, 'perf-kvm'), ...fifos('perf-kvm'), ...withScope, ...withPerf }),
    'perf-kvm-exit-reasons': () =>
      new ExitReasonCollector({
        accel: ctx.accel,
        targets: ctx.targets,
        dir: join(ctx.dir, 'exit-reasons'),
        ...fifos('exit-reasons'),
        ...withScope,
        ...withPerf,
        ...(o.exitReasonStrategy === undefined ? {} : { strategy: o.exitReasonStrategy }),
      }),
    debugfs: () => new DebugfsCollector({ accel: ctx.accel, targets: ctx.targets, ...(o.debugfsRoot === undefined ? {} : { root: o.debugfsRoot }) }),
    'qmp-stats': () => new QmpStatsCollector({ accel: ctx.accel, targets: ctx.targets }),
    'tcg-trace': () =>
      new TcgTraceCollector({
        accel: ctx.accel,
        targets: ctx.targets,
        dir: join(ctx.dir, 'tcg-trace'),
        ...(o.keepTraceLogs === undefined ? {} : { keepLogs: o.keepTraceLogs }),
        ...(o.maxTraceWindowBytes === undefined ? {} : { maxWindowBytes: o.maxTraceWindowBytes }),
      }),
    'host-cpu': () => new HostCpuCollector({ processes }),
    flame: () => new FlameCollector({ processes, dir: join(ctx.dir, 'flame'), ...fifos('flame'), ...withScope, ...withPerf }),
  };
  const ids = o.only ?? (Object.keys(all) as CollectorId[]).filter((id) => {
    const field = optInCollectors[id];
    return field === undefined || o[field] === true;
  });
  return ids.map((id) => all[id]());
}

/**
 * QEMU options the collectors need, appended to each guest's argv by the launcher:
 * - always `-name debug-threads=on`: names vCPU and I/O threads (`CPU 0/KVM`, `IO iothread0`) for
 *   host-cpu. QEMU merges repeated `-name` options, so this coexists with `-name guest=<name>`.
 * - under TCG with a trace file: `-D <traceFile>` for tcg-trace (events stay off until a window).
 * The trace file must also be set as that guest's `CollectorTarget.traceFile`; use one per guest.
 */
export function collectorArgs(accel: Accel, paths: { traceFile?: string } = {}): string[] {
  const argv = ['-name', 'debug-threads=on'];
  if (accel === 'tcg' && paths.traceFile !== undefined) argv.push(...tcgTraceArgs(paths.traceFile));
  return argv;
}
