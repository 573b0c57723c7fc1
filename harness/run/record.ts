// The shape of results/<run-id>/run.json: provenance written once per run, and the outcome of every
// backend and repetition. This is a public contract (README.md, "Results"); add fields, never rename.

export const RUN_SCHEMA = 'iopath.run/1';

export type RunStatus = 'running' | 'complete' | 'partial' | 'failed' | 'interrupted';
export type BackendStatus = 'pending' | 'running' | 'ok' | 'partial' | 'skipped' | 'failed';

export interface AccelChoice {
  /** The accelerator the guests ran under. */
  kind: 'kvm' | 'tcg';
  /** Why: the outcome of the probe boot or the profile/flag that forced it. */
  reason: string;
}

export interface Provenance {
  hostname: string;
  hostKernel: string;
  cpuModel: string;
  cpuCount: number;
  memoryMiB: number;
  qemuVersion: string;
  qemuBinary: string;
  guestKernel: string;
  image: { hash: string; kernel: string; initrd: string; packages: Record<string, string> };
  accel: AccelChoice;
  gitCommit: string;
  gitDirty: boolean;
  iopathVersion: string;
  nodeVersion: string;
}

export interface RepOutcome {
  scenario: string;
  rep: number;
  warmup: boolean;
  status: 'ok' | 'failed';
  reason?: string;
  startedAt: string;
  durationMs: number;
  /** Raw outputs kept beside run.json, relative to the run folder. */
  raw?: string[];
  /** Data-quality remarks about this repetition (a collector that failed, a clamped baseline). */
  notes?: string[];
}

/** A collector's availability for one backend, and how it measured (shown beside its figures). */
export interface CollectorRecord {
  id: string;
  /** Name of the source shown next to every figure, e.g. `perf`, `QMP query-stats`, `TCG trace`. */
  source: string;
  available: boolean;
  /** When unavailable: why, in words a user can act on. */
  reason?: string;
  fix?: string;
  notes: string[];
}

export interface BackendOutcome {
  id: string;
  title: string;
  status: BackendStatus;
  /** For skipped and failed: why, in words a user can act on. */
  reason?: string;
  /** The exact command that would make a skipped backend runnable, when there is one. */
  fix?: string;
  /** Facts about how this path was set up (workarounds applied, modes chosen). */
  notes: string[];
  /** Virtio features each guest negotiated, keyed by guest name, when the guest exposes them. */
  features?: Record<string, string[]>;
  /** NIC queue pairs: asked for (profile guest.queues), and running in each guest (sysfs tx queues). */
  queues?: { requested: number; guests: Record<string, number> };
  reps: RepOutcome[];
  /** Length of the idle baseline window measured before the repetitions, in seconds. */
  idleWindowSec?: number;
  /** Every collector considered for this backend, available or with the reason it was not. */
  collectors?: CollectorRecord[];
  /** Serial logs and other files of this backend, relative to the run folder. */
  files: string[];
}

export interface PhaseTiming {
  phase: 'preflight' | 'image' | 'accel-probe' | 'setup' | 'boot' | 'idle-baseline' | 'measure' | 'teardown' | 'report';
  backend?: string;
  ms: number;
}

export interface RunRecord {
  schema: typeof RUN_SCHEMA;
  run: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  /** The command line that started the run. */
  argv: string[];
  profile: {
    name: string;
    /** Where it was read from. */
    path: string;
    /** sha256 of the profile file's bytes. */
    hash: string;
    /** The resolved, validated plan after CLI overrides. */
    plan: unknown;
  };
  provenance?: Provenance;
  backends: BackendOutcome[];
  phases: PhaseTiming[];
  /** Run-wide remarks a reader of the report must see. */
  notes: string[];
  /**
   * Collector availability over the whole run (one entry per collector id; available when it was
   * available for any backend). Per-backend detail is in `backends[].collectors`.
   */
  collectors?: CollectorRecord[];
  /** When the run did not complete: the error that stopped it. */
  error?: string;
}
