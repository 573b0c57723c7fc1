// The NicBackend contract: one module per network I/O path implements it, and the runner and VM
// launcher only ever talk to this interface (they never branch on a backend's name).

import type { Collector, HostProcess } from '../collectors/types.ts';
import type { HostFacts } from '../host/facts.ts';
import type { GuestIdentity } from '../host/identity.ts';
import type { Scope } from '../host/scope.ts';
import type { NicConfig } from '../vm/qemu-args.ts';

/** One thing a backend needs from the host, checked before anything is set up. */
export interface Requirement {
  what: string;
  ok: boolean;
  /** Why it is missing, in words. */
  reason?: string;
  /** The exact command that would provide it. */
  fix?: string;
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

/** MSI-X vectors a virtio-net device with `queues` pairs needs: one per queue, config and control. */
export function virtioVectors(queues: number): number | undefined {
  return queues > 1 ? 2 * queues + 2 : undefined;
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
  /** Host processes that work for this path besides QEMU (switch, testpmd, vhost workers). */
  processes?(guests: readonly { name: string; qemuPid: number }[]): HostProcess[];
  /** Collectors of this path's own counters (switch ports, for example). */
  collectors?(): Collector[];
  /** Facts a reader of the report must know about how this path was set up. */
  notes: string[];
}

export interface NicBackend {
  readonly id: string;
  readonly title: string;
  /** One sentence on what is on the data path. */
  readonly summary: string;
  requirements(host: HostFacts): Requirement[];
  /** QEMU options of one guest's NIC: a pure function, so every backend's argv can be snapshot-tested. */
  guestArgs(guest: GuestIdentity, env: NicEnv): NicConfig;
  /** Set up the host side; registers its own cleanup with `scope`. */
  setUp(scope: Scope, ctx: BackendContext): Promise<BackendInstance>;
}
