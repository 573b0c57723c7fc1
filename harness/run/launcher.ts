// The seams of a run that touch the machine, injected so the run's logic can be tested without it:
// the guest launcher (QEMU, or a fake that answers like a guest) and the collectors of a path's
// windows (the real ones, or fakes that count what the test wants).

import { GuestNicCollector } from '../collectors/guest-nic.ts';
import { collectorArgs, createCollectors, type Accel, type Collector, type HostProcess } from '../collectors/index.ts';
import { GuestError } from '../errors.ts';
import type { Scope } from '../host/scope.ts';
import type { GuestControl } from '../vm/agent.ts';
import type { QmpClient } from '../vm/qmp.ts';
import { Vm, type VmOptions } from '../vm/vm.ts';
import type { Endpoint } from '../workloads/endpoint.ts';

/** A started guest, as the run needs it. */
export interface LaunchedGuest {
  readonly name: string;
  /** Its QEMU's pid: collectors attribute exits and CPU to it. */
  readonly pid: number;
  readonly qmp: QmpClient;
  readonly agent: GuestControl;
  readonly serialLog: string;
  readonly qemuLog: string;
  /** Resolves with the guest's kernel release once its agent is ready; fails early when it dies. */
  waitReady(timeoutMs: number, signal?: AbortSignal): Promise<string>;
}

export interface GuestLauncher {
  /** Start one guest; everything it holds is registered with `scope`. Does not wait for the boot. */
  launch(scope: Scope, options: VmOptions): Promise<LaunchedGuest>;
}

/** Real guests: QEMU processes. */
export const qemuLauncher: GuestLauncher = {
  launch: (scope, options) => Vm.launch(scope, options),
};

/** What the collectors of one path's windows may look at. */
export interface CollectorScene {
  accel: Accel;
  guests: readonly LaunchedGuest[];
  /** The guests as ends of the traffic, with their interface on the path. */
  endpoints: readonly Endpoint[];
  /** The path's helper processes, with the thread names its descriptor declares. */
  helpers: readonly HostProcess[];
  /** Collectors of the path's own counters. */
  pathCollectors: readonly Collector[];
  /** The per-guest trace file given to QEMU by `qemuArgs`. */
  traceFile: (guest: string) => string;
  /** Folder for raw collector output. */
  dir: string;
  /** Private runtime folder for perf's control FIFOs (the results folder may be on 9p, without FIFOs). */
  runtimeDir: string;
  scope: Scope;
  /** Add the flame collector (profile flame). */
  flame?: boolean;
}

export interface CollectorFactory {
  /** QEMU options one guest needs for these collectors. */
  qemuArgs(accel: Accel, guest: { traceFile: string }): string[];
  /**
   * The collectors of one path: the inner ring runs tightly around the traffic; the outer ring talks
   * to the guests over their control channel, so it reads before the inner ring starts and after it
   * stopped.
   */
  create(scene: CollectorScene): { inner: Collector[]; outer: Collector[] };
}

/** The real collectors: exits, device accesses and host CPU, the path's own, the guests' NIC counters. */
export const standardCollectors: CollectorFactory = {
  qemuArgs: (accel, g) => collectorArgs(accel, { traceFile: g.traceFile }),
  create: (scene) => ({
    inner: [
      ...createCollectors({
        accel: scene.accel,
        targets: scene.guests.map((g) => ({ guest: g.name, qemuPid: g.pid, qmp: g.qmp, traceFile: scene.traceFile(g.name) })),
        hostProcesses: scene.helpers,
        dir: scene.dir,
        runtimeDir: scene.runtimeDir,
        scope: scene.scope,
        ...(scene.flame ? { options: { flame: true } } : {}),
      }),
      ...scene.pathCollectors,
    ],
    outer: [new GuestNicCollector(scene.endpoints.map((g) => ({ name: g.name, iface: g.iface!, readFile: (path) => readGuestFile(g, path), readLines: (paths) => readGuestLines(g, paths) })))],
  }),
};

async function readGuestFile(g: Endpoint, path: string): Promise<string> {
  const r = await g.exec(['cat', path], 10);
  if (r.status !== 0) throw new GuestError(`${g.name}: cannot read ${path}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** The first line of each of several files, read with one program run in the guest. */
async function readGuestLines(g: Endpoint, paths: readonly string[]): Promise<string[]> {
  const r = await g.exec(['cat', ...paths], 10);
  const lines = r.stdout.split('\n');
  if (r.status !== 0 || lines.length < paths.length) throw new GuestError(`${g.name}: cannot read ${paths.join(' ')}: ${r.stderr.trim() || 'short output'}`);
  return lines.slice(0, paths.length);
}
