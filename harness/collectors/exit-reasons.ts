// The `perf-kvm-exit-reasons` collector: each guest's VM exits split by exit reason over the window,
// where kvm:kvm_exit fires (VMX and SVM hosts). Emits `exits` with dims {guest, reason}.
//
// Two strategies, both with bounded cost (no perf.data file at all):
// - `filter` (default): one `perf stat` per guest counting kvm:kvm_exit once unfiltered (the total)
//   and once per reason of interest with a tracepoint filter (`exit_reason == 30`). The kernel does
//   the counting; the window edges are exact (perf's control FIFO). Reasons outside the list are
//   reported together as `other` (total minus the listed ones).
// - `kvm-stat-live`: `perf kvm stat live -p <pid>`, every reason, tables parsed with the
//   perf-kvm-stat parser; costs user-space CPU per exit and its window edges are up to 1 s late.

import { mkdirSync, readFileSync } from 'node:fs';
import { Scope } from '../host/scope.ts';
import type { Sample } from '../samples.ts';
import { requireAvailable, TCG_NO_EXITS, unavailable, unavailableFrom } from './availability.ts';
import { kvmExitSilentReason, kvmFlavour, perfInfo, PERF_FIX, type KvmFlavour } from './host-probe.ts';
import { KvmStatLiveSession } from './kvm-stat-live.ts';
import { parseKvmExitFormat } from './parse/kvm-exit-format.ts';
import { samplesByKey } from './parse/perf-kvm-stat.ts';
import { totalsByEvent } from './parse/perf-stat.ts';
import { PerfStatSession, type PerfEventSpec } from './perf-session.ts';
import { windowTag, type Accel, type Availability, type Collector, type CollectorTarget, type Window } from './types.ts';

export type ExitReasonStrategy = 'filter' | 'kvm-stat-live';

/**
 * Reasons counted by the filter strategy: those an I/O path moves (port and MMIO accesses, MSRs and
 * APIC writes, interrupts, halts) plus a few common ones. Codes are the kernel's
 * (arch/x86/include/uapi/asm/vmx.h, svm.h); the tracepoint's format file, when readable, wins.
 */
export const EXIT_REASONS = {
  vmx: {
    EXTERNAL_INTERRUPT: 1,
    INTERRUPT_WINDOW: 7,
    CPUID: 10,
    HLT: 12,
    IO_INSTRUCTION: 30,
    MSR_READ: 31,
    MSR_WRITE: 32,
    PAUSE_INSTRUCTION: 40,
    APIC_ACCESS: 44,
    EOI_INDUCED: 45,
    EPT_VIOLATION: 48,
    EPT_MISCONFIG: 49,
    PREEMPTION_TIMER: 52,
    APIC_WRITE: 56,
  },
  svm: {
    interrupt: 0x60,
    vintr: 0x64,
    cpuid: 0x72,
    pause: 0x77,
    hlt: 0x78,
    io: 0x7b,
    msr: 0x7c,
    hypercall: 0x81,
    npf: 0x400,
    avic_incomplete_ipi: 0x401,
    avic_unaccelerated_access: 0x402,
  },
} as const satisfies Record<'vmx' | 'svm', Record<string, number>>;

const FORMAT_FILES = ['/sys/kernel/tracing/events/kvm/kvm_exit/format', '/sys/kernel/debug/tracing/events/kvm/kvm_exit/format'];

/** The filter strategy's counters: the total first, then one filtered counter per reason. */
export function reasonEventSpecs(reasons: ReadonlyMap<string, number>): PerfEventSpec[] {
  return [{ event: 'kvm:kvm_exit' }, ...[...reasons.values()].map((code) => ({ event: 'kvm:kvm_exit', filter: `exit_reason == ${code}` }))];
}

/** Reason codes for this ISA: the names of EXIT_REASONS with codes from the format file when readable. */
export function reasonCodes(isa: 'vmx' | 'svm', formatText?: string): Map<string, number> {
  const wanted = EXIT_REASONS[isa] as Record<string, number>;
  let fromFormat: Map<string, number> | undefined;
  if (formatText !== undefined) {
    try {
      fromFormat = parseKvmExitFormat(formatText)[isa];
    } catch {
      fromFormat = undefined;
    }
  }
  const codes = new Map<string, number>();
  for (const [name, code] of Object.entries(wanted)) codes.set(name, fromFormat?.get(name) ?? code);
  return codes;
}

/**
 * Samples of the filter strategy from one perf stat's totals: counter i + 1 (`kvm:kvm_exit#i+1`) is
 * reason i of `names`; what the unfiltered total has beyond them is `other`.
 */
export function reasonSamples(guest: string, totals: ReadonlyMap<string, number | null>, names: readonly string[]): Sample[] {
  const emit = (reason: string, value: number): Sample => ({ metric: 'exits', value, unit: 'count', source: 'perf', dims: { guest, reason } });
  const total = totals.get('kvm:kvm_exit') ?? 0;
  let listed = 0;
  const samples = names.map((reason, i) => {
    const value = totals.get(`kvm:kvm_exit#${i + 1}`) ?? 0;
    listed += value;
    return emit(reason, value);
  });
  samples.push(emit('other', Math.max(0, total - listed)));
  return samples;
}

export interface ExitReasonOptions {
  accel: Accel;
  targets: readonly CollectorTarget[];
  dir: string;
  /** Private folder for perf's control FIFOs (default: dir). */
  fifoDir?: string;
  scope?: Scope;
  perf?: string;
  strategy?: ExitReasonStrategy;
  /** Override the KVM flavour probe (tests). */
  flavour?: KvmFlavour;
}

export class ExitReasonCollector implements Collector {
  readonly id = 'perf-kvm-exit-reasons';
  readonly source: string;
  #o: ExitReasonOptions;
  #strategy: ExitReasonStrategy;
  #scope: Scope;
  #availability: Promise<Availability> | undefined;
  #reasons = new Map<string, number>();
  #notes: string[] = [];
  #filterSessions = new Map<string, PerfStatSession>();
  #liveSessions = new Map<string, KvmStatLiveSession>();

  constructor(options: ExitReasonOptions) {
    this.#o = options;
    this.#strategy = options.strategy ?? 'filter';
    this.source = this.#strategy === 'filter' ? 'perf (kvm:kvm_exit filtered by exit_reason)' : 'perf kvm stat live';
    this.#scope = options.scope ? options.scope.child(this.id) : new Scope(this.id);
  }

  notes(): string[] {
    return [...this.#notes];
  }

  availability(): Promise<Availability> {
    this.#availability ??= this.#probe();
    return this.#availability;
  }

  async #probe(): Promise<Availability> {
    if (this.#o.accel !== 'kvm') return unavailable(TCG_NO_EXITS);
    const flavour = this.#o.flavour ?? kvmFlavour();
    const silent = kvmExitSilentReason(flavour);
    if (silent !== undefined || (flavour !== 'vmx' && flavour !== 'svm')) return unavailable(silent ?? `unknown KVM flavour ${flavour}`);
    const perf = this.#o.perf ?? 'perf';
    try {
      const info = await perfInfo(perf);
      if (!info.tracepoints.has('kvm:kvm_exit')) return unavailable(`${perf} does not list kvm:kvm_exit`);
    } catch (err) {
      return unavailableFrom(err, PERF_FIX);
    }
    let formatText: string | undefined;
    for (const file of FORMAT_FILES) {
      try {
        formatText = readFileSync(file, 'utf8');
        break;
      } catch {
        // try the next location
      }
    }
    this.#reasons = reasonCodes(flavour, formatText);
    if (this.#strategy === 'filter') {
      this.#notes.push(`reasons counted one by one with tracepoint filters: ${[...this.#reasons.keys()].join(', ')}; every other reason is in "other"`);
    } else {
      this.#notes.push('perf kvm stat live: window edges are up to 1 s late (one display interval)');
    }
    mkdirSync(this.#o.dir, { recursive: true });
    return { available: true };
  }

  async start(window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    const perf = this.#o.perf ?? 'perf';
    const tag = windowTag(window);
    const results = await Promise.allSettled(
      this.#o.targets.map(async (t) => {
        const label = `exit-reasons-${t.guest}-${tag}`;
        const common = { perf, pid: t.qemuPid, dir: this.#o.dir, ...(this.#o.fifoDir === undefined ? {} : { fifoDir: this.#o.fifoDir }), label, scope: this.#scope };
        if (this.#strategy === 'filter') {
          this.#filterSessions.set(t.guest, await PerfStatSession.start({ ...common, events: reasonEventSpecs(this.#reasons) }));
        } else {
          this.#liveSessions.set(t.guest, await KvmStatLiveSession.start(common));
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.#abortAll();
      throw failed.reason;
    }
  }

  async stop(_window: Window): Promise<Sample[]> {
    const samples: Sample[] = [];
    const emit = (guest: string, reason: string, value: number) =>
      samples.push({ metric: 'exits', value, unit: 'count', source: 'perf', dims: { guest, reason } });

    const filter = [...this.#filterSessions];
    const live = [...this.#liveSessions];
    this.#filterSessions.clear();
    this.#liveSessions.clear();
    const outcomes = await Promise.allSettled([
      ...filter.map(async ([guest, s]) => {
        samples.push(...reasonSamples(guest, totalsByEvent((await s.stop()).result), [...this.#reasons.keys()]));
      }),
      ...live.map(async ([guest, s]) => {
        for (const [reason, value] of samplesByKey(await s.stop(), 'vmexit')) emit(guest, reason, value);
      }),
    ]);
    const failed = outcomes.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return samples;
  }

  async close(): Promise<void> {
    this.#filterSessions.clear();
    this.#liveSessions.clear();
    await this.#scope.close();
  }

  async #abortAll(): Promise<void> {
    const sessions = [...this.#filterSessions.values(), ...this.#liveSessions.values()];
    this.#filterSessions.clear();
    this.#liveSessions.clear();
    await Promise.allSettled(sessions.map((s) => s.abort()));
  }
}
