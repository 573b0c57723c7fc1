// The `perf-kvm` collector: counts the kvm tracepoints that mark exits and their handling
// (kvm_exit, kvm_userspace_exit, kvm_pio, kvm_mmio, kvm_fast_mmio, kvm_msr, kvm_hypercall) for each
// guest's own QEMU process (`perf stat -p <qemu pid>`, never system-wide), over exactly the window.
// Emits `exits` samples with dims {guest, event}.

import { mkdirSync } from 'node:fs';
import { runCommand } from '../host/proc.ts';
import { Scope } from '../host/scope.ts';
import type { Sample } from '../samples.ts';
import { requireAvailable, TCG_NO_EXITS, unavailable, unavailableFrom } from './availability.ts';
import { kvmExitSilentReason, kvmFlavour, perfInfo, PERF_FIX, type KvmFlavour } from './host-probe.ts';
import { totalsByEvent } from './parse/perf-stat.ts';
import { PerfStatSession } from './perf-session.ts';
import { windowTag, type Accel, type Availability, type Collector, type CollectorTarget, type Window } from './types.ts';

/** The tracepoints counted when the host's perf lists them, in output order. */
export const PERF_KVM_EVENTS = [
  'kvm:kvm_exit',
  'kvm:kvm_userspace_exit',
  'kvm:kvm_pio',
  'kvm:kvm_mmio',
  'kvm:kvm_fast_mmio',
  'kvm:kvm_msr',
  'kvm:kvm_hypercall',
] as const;

/** Events that only fire on VMX/SVM: left out where they are known to stay silent. */
const HARDWARE_ONLY = new Set(['kvm:kvm_exit']);

export interface PerfKvmOptions {
  accel: Accel;
  targets: readonly CollectorTarget[];
  /** Folder for perf's FIFOs, logs and `-o` outputs (kept as raw output). */
  dir: string;
  /** Private folder for perf's control FIFOs (default: dir). */
  fifoDir?: string;
  scope?: Scope;
  perf?: string;
  /** Override the event list (tests); still filtered by what perf lists. */
  events?: readonly string[];
  /** Override the KVM flavour probe (tests). */
  flavour?: KvmFlavour;
}

export class PerfKvmCollector implements Collector {
  readonly id = 'perf-kvm';
  readonly source = 'perf';
  #o: PerfKvmOptions;
  #scope: Scope;
  #availability: Promise<Availability> | undefined;
  #events: string[] = [];
  #notes: string[] = [];
  #sessions = new Map<string, PerfStatSession>();

  constructor(options: PerfKvmOptions) {
    this.#o = options;
    this.#scope = options.scope ? options.scope.child(this.id) : new Scope(this.id);
  }

  /** The events counted on this host (after availability()). */
  get events(): readonly string[] {
    return this.#events;
  }

  /** Events left out and why, for the report. */
  notes(): string[] {
    return [...this.#notes];
  }

  availability(): Promise<Availability> {
    this.#availability ??= this.#probe();
    return this.#availability;
  }

  async #probe(): Promise<Availability> {
    if (this.#o.accel !== 'kvm') {
      return unavailable(TCG_NO_EXITS);
    }
    if (this.#o.targets.length === 0) return unavailable('no guests to observe');
    const perf = this.#o.perf ?? 'perf';
    let listed: Set<string>;
    try {
      listed = (await perfInfo(perf)).tracepoints;
    } catch (err) {
      return unavailableFrom(err, PERF_FIX);
    }
    const wanted = this.#o.events ?? PERF_KVM_EVENTS;
    const flavour = this.#o.flavour ?? kvmFlavour();
    const silent = kvmExitSilentReason(flavour);
    this.#events = [];
    for (const event of wanted) {
      if (!listed.has(event)) this.#notes.push(`${event} is not listed by ${perf} on this host`);
      else if (silent !== undefined && HARDWARE_ONLY.has(event)) this.#notes.push(`${event} left out: ${silent}`);
      else this.#events.push(event);
    }
    if (this.#events.length === 0) {
      return unavailable(`none of ${wanted.join(', ')} can be counted here (${this.#notes.join('; ')})`);
    }
    // A short real count proves the permissions (tracepoints need root or a relaxed perf_event_paranoid).
    const pid = this.#o.targets[0]!.qemuPid;
    try {
      await runCommand([perf, 'stat', '-x,', '-e', this.#events[0]!, '-p', String(pid), '--', 'sleep', '0.05'], { timeoutMs: 15_000 });
    } catch (err) {
      return unavailableFrom(err, 'run iopath as root, or: sysctl kernel.perf_event_paranoid=-1');
    }
    mkdirSync(this.#o.dir, { recursive: true });
    return { available: true };
  }

  async start(window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    const perf = this.#o.perf ?? 'perf';
    const tag = windowTag(window);
    const started = await Promise.allSettled(
      this.#o.targets.map(async (t) => {
        const session = await PerfStatSession.start({
          perf,
          events: this.#events.map((event) => ({ event })),
          pid: t.qemuPid,
          dir: this.#o.dir,
          ...(this.#o.fifoDir === undefined ? {} : { fifoDir: this.#o.fifoDir }),
          label: `perf-kvm-${t.guest}-${tag}`,
          scope: this.#scope,
        });
        this.#sessions.set(t.guest, session);
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.#abortAll();
      throw failed.reason;
    }
  }

  async stop(_window: Window): Promise<Sample[]> {
    const sessions = [...this.#sessions];
    this.#sessions.clear();
    const outcomes = await Promise.allSettled(sessions.map(async ([guest, s]) => ({ guest, outcome: await s.stop() })));
    const samples: Sample[] = [];
    for (const r of outcomes) {
      if (r.status === 'rejected') throw r.reason;
      const totals = totalsByEvent(r.value.outcome.result);
      for (const event of this.#events) {
        const value = totals.get(event);
        if (value === undefined || value === null) continue;
        samples.push({ metric: 'exits', value, unit: 'count', source: this.source, dims: { guest: r.value.guest, event } });
      }
    }
    return samples;
  }

  async close(): Promise<void> {
    this.#sessions.clear();
    await this.#scope.close();
  }

  async #abortAll(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(sessions.map((s) => s.abort()));
  }
}
