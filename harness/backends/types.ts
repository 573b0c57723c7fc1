// The path descriptor: one module per network I/O path exports one, and it says everything about
// that path. The runner, doctor, setup, recovery, CPU accounting and the report read its fields and
// call its hooks; none of them ever names a path (docs/design.md, "One place per path").

import type { Collector, ThreadKindRule } from '../collectors/types.ts';
import type { HostFacts, ToolProbe } from '../host/facts.ts';
import type { GuestIdentity } from '../host/identity.ts';
import type { Scope } from '../host/scope.ts';
import type { MetricName } from '../metrics.ts';
import type { NicConfig } from '../vm/qemu-args.ts';

/** One thing a path needs from the host, checked before anything is set up and printed by doctor. */
export interface Requirement {
  what: string;
  ok: boolean;
  /** What doctor prints after `what`: the version found, the mount point, what happens without it. */
  detail?: string;
  /** Why it is missing, in words. */
  reason?: string;
  /** The exact command that would provide it. */
  fix?: string;
  /** Advisory: the path runs without it (more slowly, say); doctor prints it, preflight does not skip. */
  optional?: boolean;
}

export interface BackendContext {
  run: string;
  /** Short run tag carried by every host resource name. */
  tag: string;
  /** Private directory (0700) for this backend's sockets and pid files. */
  runtimeDir: string;
  /** This backend's folder in the run's results, for logs worth keeping. */
  resultsDir: string;
  accel: 'kvm' | 'tcg';
  qemuVersion: { major: number; minor: number; micro: number };
  guests: readonly GuestIdentity[];
  /** Queue pairs of each guest's NIC (profile guest.queues); 1 when absent. */
  queues?: number;
  /** A software switch that can busy-poll should (profile switchBusyPoll). */
  busyPoll?: boolean;
  /** The guests' MTU: a tap, a bridge or a switch on the path carries frames of that size; 1500 when absent. */
  mtu?: number;
  /**
   * Set when this is a variant of the path (profile `variants`): host resources the path names
   * (namespaces, file prefixes) carry it, since a path and its variants are up at the same time.
   */
  variant?: string;
  /**
   * Call stacks of the path's threads are sampled (profile flame): a helper that compiles code at
   * run time should name it for perf (Node.js: `--perf-basic-prof`, which writes /tmp/perf-<pid>.map).
   */
  perfMap?: boolean;
  /**
   * Cores chosen by CPU placement for helpers that pin themselves (`cpu.pinnedBy: 'itself'`), by
   * role: `light` for their threads that do little, `busy` for their data threads. Absent with
   * placement `none`: the helper keeps its own default.
   */
  cores?: Readonly<Record<string, HelperCores>>;
  host: HostFacts;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** What a guest's NIC options may depend on; everything here is known before set-up. */
export interface NicEnv {
  /** The backend's private runtime directory (sockets live here). */
  runtimeDir: string;
  accel: 'kvm' | 'tcg';
  qemuVersion: { major: number; minor: number; micro: number };
  /** Queue pairs of the guest NIC (profile guest.queues); 1 when absent. */
  queues?: number;
}

/** MSI-X vectors a virtio-net-pci device with `queues` pairs needs: one per queue, config and control. */
export function virtioVectors(queues: number): number | undefined {
  return queues > 1 ? 2 * queues + 2 : undefined;
}

/** A host process of a running path, by the role its descriptor declares in `helpers`. */
export interface HelperProcess {
  role: string;
  pid: number;
  /** When set, only these thread ids count; otherwise every thread of pid. */
  tids?: number[];
}

/** Cores a helper that pins itself takes on its own command line. */
export interface HelperCores {
  light: number;
  busy: readonly number[];
}

/** How a helper uses CPU, for CPU placement (docs/placement.md). */
export interface HelperCpu {
  /** Whether its data thread spins without sleeping (then it wants a core of its own). */
  busyPoll: 'always' | 'never' | 'when-switchBusyPoll';
  /**
   * `iopath`: every thread of the process is pinned to its core once the guests are up.
   * `itself`: it takes its cores on its own command line (DPDK `-l`) from `BackendContext.cores`;
   * iopath only reads back where its threads were allowed to run.
   */
  pinnedBy: 'iopath' | 'itself';
  /** It also has threads that do little (a DPDK main lcore at its prompt), placed on the housekeeping core. */
  lightThreads?: boolean;
}

/** A kind of host process that works for a path besides QEMU, as host CPU is attributed to it. */
export interface HelperSpec {
  /** The `role` dim of its hostCpu samples, e.g. `switch`; a role per guest is `<role> <guest>`. */
  role: string;
  /** What it is, in a few words. */
  what: string;
  /** Names its threads by what they do (e.g. busy-polling workers), before the generic rules. */
  threadKinds?: readonly ThreadKindRule[];
  /** How it uses CPU, for placement; without it, it is placed as an event-driven process pinned by iopath. */
  cpu?: HelperCpu;
}

/** A backend that has been set up on the host for one run. */
export interface BackendInstance {
  /** Network namespace the guests' QEMU must run in (tap devices live there). */
  netns?: string;
  /**
   * For the guest-to-host topology: where the host end of the path is. Servers run in `netns`
   * at `address`. Absent when the path has no host end (vhost-user switches).
   */
  hostEnd?: { netns: string; address: string };
  /** Host processes that work for this path besides QEMU; roles are those of the descriptor's `helpers`. */
  processes?(guests: readonly { name: string; qemuPid: number }[]): HelperProcess[];
  /** Collectors of this path's own counters (switch ports, for example). */
  collectors?(): Collector[];
  /** Facts a reader of the report must know about how this path was set up. */
  notes: string[];
  /**
   * Stop a helper that polls without sleeping (it would take a core from the path being measured)
   * while this path's guests wait for their turn; `resume` starts it again. Absent when nothing polls.
   */
  quiesce?(): Promise<void>;
  resume?(): Promise<void>;
}

/** How reports show a path. The runner copies these into run.json, so a stored run renders alone. */
export interface PathPresentation {
  /** Reports list paths by ascending order (the most emulated design first). */
  order: number;
  /** The path's colour in every figure (#RRGGBB). */
  color: string;
  /** The path every other one is compared with, when it was measured. */
  reference?: boolean;
  /** Names shown in reports for the sample sources of this path's own collectors. */
  sources?: Readonly<Record<string, string>>;
  /** For a variant (profile `variants`): the path it varies, shown beside it in a lighter shade. */
  variantOf?: string;
  /** For a variant: its name. */
  variant?: string;
}

/** A run that died without tearing down, as a path's recovery hook sees it. */
export interface DeadRun {
  /** The run's tag, carried by every host resource name it created. */
  tag: string;
  /** Its runtime directory (about to be removed). */
  runtimeDir: string;
}

export interface NicBackend {
  readonly id: string;
  readonly title: string;
  /** One sentence on what is on the data path. */
  readonly summary: string;
  readonly presentation: PathPresentation;
  /** Debian packages the path needs on the host; `iopath setup` and the installer read this. */
  readonly debianPackages: readonly string[];
  /** Host facts the path's requirements read: devices to try opening, tools to find with their versions. */
  readonly hostProbes?: { devices?: readonly string[]; tools?: readonly ToolProbe[] };
  /** Host processes besides QEMU that work for the path (their CPU is part of its cost). */
  readonly helpers?: readonly HelperSpec[];
  /** Host memory its helper processes take beside the guests, in MiB (decides whether every path's guests can stay up together). */
  readonly helperMemoryMiB?: number;
  /** The kernel's vhost workers (`vhost-<qemu pid>`) carry each guest's queues: CPU placement gives them a unit of their own. */
  readonly vhostWorkers?: boolean;
  /** Metrics only this path's own collectors produce. */
  readonly metrics?: readonly MetricName[];
  requirements(host: HostFacts): Requirement[];
  /** QEMU options of one guest's NIC: a pure function, so every backend's argv can be snapshot-tested. */
  guestArgs(guest: GuestIdentity, env: NicEnv): NicConfig;
  /** Set up the host side; registers its own cleanup with `scope`. */
  setUp(scope: Scope, ctx: BackendContext): Promise<BackendInstance>;
  /** Remove what a dead run of this path left outside its runtime directory; returns what it removed. */
  recover?(dead: DeadRun): string[];
}
