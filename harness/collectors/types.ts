// The Collector contract: what every source of exit counts, device accesses and host CPU implements.
// A collector is started and stopped around exactly one window (a measured repetition, or an idle
// window of the same length used as the baseline) and returns samples for that window.

import type { Sample } from '../samples.ts';
import type { QmpClient } from '../vm/qmp.ts';

/** How the guests execute: hardware virtualisation, or QEMU's software emulation. */
export type Accel = 'kvm' | 'tcg';

/** One guest the collectors observe. */
export interface CollectorTarget {
  /** Guest name as used in sample dims (`a`, `b`). */
  guest: string;
  /** PID of this guest's own QEMU process (exits are attributed per VM, never host-wide). */
  qemuPid: number;
  qmp: QmpClient;
  /**
   * QEMU's log file, given to QEMU as `-D` (see `collectorArgs`). Present when software-emulation
   * trace events are wanted. The tcg-trace collector owns this file: between windows QEMU logs here,
   * during a window it logs to a per-window file beside it.
   */
  traceFile?: string;
}

/** Names a thread by what it does, from its command name (e.g. a path's busy-polling workers). */
export interface ThreadKindRule {
  comm: RegExp;
  /** The `kind` dim of its hostCpu samples. */
  kind: string;
}

/** A host process (or kernel thread) that works for a path, for CPU accounting. */
export interface HostProcess {
  /** What it is, e.g. `qemu a`, or a role a path declares for its helper. Becomes the `role` dim of hostCpu samples. */
  role: string;
  pid: number;
  /** When set, only these thread ids count; otherwise every thread of pid. */
  tids?: number[];
  /** The path's own names for this process's threads, tried before the generic ones. */
  threadKinds?: readonly ThreadKindRule[];
  /**
   * Set for a QEMU process: its vhost kernel workers (`vhost-<pid>`) are found and counted too,
   * whether the kernel makes them threads of QEMU (6.4 and later) or separate kernel threads.
   */
  qemu?: boolean;
}

/** The window a collector is started and stopped around. */
export interface Window {
  kind: 'idle' | 'measure';
  backend: string;
  scenario: string;
  rep: number;
  warmup: boolean;
}

/**
 * Whether a collector can work here. When it cannot, `reason` says why in words a user can act on
 * and `fix` is the exact command that changes it, when there is one.
 */
export type Availability = { available: true } | { available: false; reason: string; fix?: string };

export interface Collector {
  /** Stable id, e.g. `perf-kvm`, `perf-kvm-exit-reasons`, `debugfs`, `qmp-stats`, `tcg-trace`, `host-cpu`. */
  readonly id: string;
  /** Name of the source shown next to every figure, e.g. `perf`, `debugfs`, `QMP query-stats`, `TCG trace`. */
  readonly source: string;
  /**
   * Whether this collector can work on this host for these targets, and if not, why. Probes once
   * (it may run a command or a QMP query) and caches the answer; call it after the guests booted.
   */
  availability(): Promise<Availability>;
  /** Begin counting. Resolves once counting has begun, so the workload may start right after. */
  start(window: Window): Promise<void>;
  /** End counting and return the samples of the window (before any baseline subtraction). */
  stop(window: Window): Promise<Sample[]>;
  /** Release anything held across windows (helper processes, files). Runs once; safe mid-window. */
  close?(): Promise<void>;
  /**
   * When this collector did more than count in the window just stopped (it sampled call stacks,
   * say), what and at what cost; undefined for a window it only counted in, or not at all. Asked
   * after stop(), whether stop() succeeded or not: a profiler that ran disturbed the window either way.
   */
  intrusion?(window: Window): Intrusion | undefined;
  /**
   * Facts a reader of the report must know about how this collector measured on this host (events
   * left out and why, approximations). Complete after availability().
   */
  notes?(): string[];
}

/**
 * What a collector's own work did to a window beyond counting, and what it left: a sampling
 * profiler takes CPU from the traffic it watches, so the repetition it ran in is not like the others.
 */
export interface Intrusion {
  /** The collector's id. */
  collector: string;
  /** In words, for the report: what ran and what it cost. */
  what: string;
  /** Files it wrote for the window (absolute paths), the first one the one to open. */
  files: string[];
  /** Samples it took in the window, when it samples. */
  samples?: number;
  /** CPU seconds its own process spent during the window. */
  cpuSec?: number;
  /** Seconds it was sampling (from enabled to disabled), the span cpuSec was spent in. */
  sampledSec?: number;
}

/** Short, file-name-safe tag of a window, e.g. `<path>-tcp-measure-3` or `<path>-tcp-idle-0-warmup`. */
export function windowTag(window: Window): string {
  const raw = `${window.backend}-${window.scenario}-${window.kind}-${window.rep}${window.warmup ? '-warmup' : ''}`;
  return raw.replace(/[^A-Za-z0-9._-]+/g, '_');
}
