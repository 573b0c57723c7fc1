// The Collector contract: what every source of exit counts, device accesses and host CPU implements.
// A collector is started and stopped around exactly one window (a measured repetition, or an idle
// window of the same length used as the baseline) and returns samples for that window.

import type { Sample } from '../samples.ts';
import type { QmpClient } from '../vm/qmp.ts';

/** One guest the collectors observe. */
export interface CollectorTarget {
  /** Guest name as used in sample dims (`a`, `b`). */
  guest: string;
  /** PID of this guest's own QEMU process (exits are attributed per VM, never host-wide). */
  qemuPid: number;
  qmp: QmpClient;
  /** QEMU's trace log (`-D`), present when trace events were enabled for software emulation. */
  traceFile?: string;
}

/** A host process (or kernel thread) that works for a path, for CPU accounting. */
export interface HostProcess {
  /** What it is, e.g. `qemu a`, `vhost-1234`, `testpmd`, `switch`. */
  role: string;
  pid: number;
  /** When set, only these thread ids count (e.g. testpmd's lcores); otherwise every thread of pid. */
  tids?: number[];
}

export interface Window {
  kind: 'idle' | 'measure';
  backend: string;
  scenario: string;
  rep: number;
  warmup: boolean;
}

export type Availability = { available: true } | { available: false; reason: string; fix?: string };

export interface Collector {
  /** Stable id, e.g. `perf-kvm`, `perf-kvm-exit-reasons`, `debugfs`, `qmp-stats`, `tcg-trace`, `host-cpu`. */
  readonly id: string;
  /** Name of the source shown next to every figure, e.g. `perf`, `debugfs`, `QMP query-stats`, `TCG trace`. */
  readonly source: string;
  /** Whether this collector can work on this host for these targets, and if not, why. */
  availability(): Promise<Availability>;
  start(window: Window): Promise<void>;
  stop(window: Window): Promise<Sample[]>;
  /** Release anything held across windows. Runs once. */
  close?(): Promise<void>;
}
