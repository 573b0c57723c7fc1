// Measurement windows: the collectors are started right before a workload variant and stopped right
// after it; an idle window of comparable length (guests booted, no traffic) is measured once per
// backend as the baseline. The window's counts, baseline subtracted, and their normalisation by the
// work done (per GB, per packet, per Gbit/s) become samples of the repetition.

import { CollectorGroup, normalise, subtractBaseline, type CollectorFailure, type WindowResult, type WindowSamples } from '../collectors/index.ts';
import { packetsThroughPath } from '../collectors/guest-nic.ts';
import type { Intrusion, Window } from '../collectors/types.ts';
import { sleep } from '../host/proc.ts';
import type { Dims, Sample } from '../samples.ts';

/** Told the wall time of each part of a window: collectors starting, the window itself, collectors stopping. */
export type WindowTiming = (phase: 'collectors-start' | 'window' | 'idle-baseline' | 'collectors-stop', startedAt: number, ms: number) => void;

export interface WindowOutcome<T> {
  value: T;
  samples: Sample[];
  warnings: string[];
  /** What collectors did to the window beyond counting (see Collector.intrusion). */
  intrusions: Intrusion[];
}

/**
 * Two rings of collectors. The inner ring (exits, device accesses, host CPU) is started last and
 * stopped first, tightly around the traffic. The outer ring holds collectors that talk to the guests
 * over their control channel (their NIC counters): they read before the inner ring starts and after
 * it stopped, so their own serial-port traffic is never counted as work of the path.
 */
export class Windows {
  readonly inner: CollectorGroup;
  readonly outer: CollectorGroup;
  readonly #timing: WindowTiming;
  #baseline: WindowSamples | undefined;

  constructor(inner: CollectorGroup, outer: CollectorGroup, timing: WindowTiming = () => undefined) {
    this.inner = inner;
    this.outer = outer;
    this.#timing = timing;
  }

  get hasActive(): boolean {
    return this.inner.active.length + this.outer.active.length > 0;
  }

  /** Measure the guests at rest for `seconds`; kept as the baseline of every later window. */
  async idle(window: Window, seconds: number, signal: AbortSignal): Promise<Sample[]> {
    if (!this.hasActive) return [];
    const r = await this.#around(window, 'idle-baseline', async (done) => {
      await sleep(seconds * 1000, signal);
      done();
    });
    this.#baseline = { samples: r.samples, durationSec: r.durationSec };
    return [...r.samples];
  }

  /** Run `work` with both rings around it; the inner ring stops at `done()` or when work ends. */
  async #around<T>(window: Window, phase: 'window' | 'idle-baseline', work: (done: () => void) => Promise<T>): Promise<{ value: T; samples: Sample[]; durationSec: number; failures: CollectorFailure[]; intrusions: Intrusion[] }> {
    const t0 = Date.now();
    let t1 = t0;
    let t2: number | undefined;
    await this.outer.start(window);
    let result: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    let inner: WindowResult | undefined;
    let outer: WindowResult;
    try {
      await this.inner.start(window);
      t1 = Date.now();
      this.#timing('collectors-start', t0, t1 - t0);
      let markDone!: () => void;
      const doneSignal = new Promise<void>((resolve) => (markDone = resolve));
      const running = work(markDone).then(
        (value) => (result = { ok: true, value }),
        (error) => (result = { ok: false, error }),
      );
      await Promise.race([running, doneSignal]);
      t2 = Date.now();
      this.#timing(phase, t1, t2 - t1);
      // Stop the inner ring whatever happened, so nothing keeps counting into the next window.
      inner = await this.inner.stop(window);
      await running;
    } finally {
      outer = await this.outer.stop(window);
      const t3 = Date.now();
      if (t2 === undefined) this.#timing('collectors-start', t0, t3 - t0);
      else this.#timing('collectors-stop', t2, t3 - t2);
    }
    if (!result!.ok) throw result!.error;
    return {
      value: result!.value,
      samples: [...inner!.samples, ...outer.samples],
      durationSec: inner!.durationSec,
      failures: [...inner!.failures, ...outer.failures],
      intrusions: [...inner!.intrusions, ...outer.intrusions],
    };
  }

  /**
   * Run `work` inside a measured window. Returns its value, the collectors' samples with the baseline
   * subtracted, and their normalisation by the workload's bytes and the packets that crossed the path.
   */
  async measure<T>(
    window: Window,
    work: (trafficDone: () => void) => Promise<T>,
    workloadSamples: (value: T) => readonly Sample[],
    guestsOnPath: 1 | 2,
  ): Promise<WindowOutcome<T>> {
    if (!this.hasActive) {
      // No collectors: the window is the workload from its start to the end of its traffic.
      const t0 = Date.now();
      let t1: number | undefined;
      try {
        const value = await work(() => (t1 ??= Date.now()));
        return { value, samples: [], warnings: [], intrusions: [] };
      } finally {
        const end = Date.now();
        this.#timing('window', t0, (t1 ?? end) - t0);
        this.#timing('collectors-stop', t1 ?? end, end - (t1 ?? end));
      }
    }
    const stopped = await this.#around(window, 'window', work);
    const value = stopped.value;
    const warnings = stopped.failures.map((f) => `collector ${f.id} failed to ${f.phase}: ${(f.error as Error)?.message ?? String(f.error)}`);
    // Host CPU is what the path costs during the window, at rest or not: a busy-polling switch burns
    // its core either way, and subtracting its idle CPU would make it look free.
    const countsOnly = this.#baseline && { ...this.#baseline, samples: this.#baseline.samples.filter((s) => s.metric !== 'hostCpu') };
    const counts = subtractBaseline({ samples: stopped.samples, durationSec: stopped.durationSec }, countsOnly);
    warnings.push(...counts.warnings);
    const workload = workloadSamples(value);
    const bytes = workload.filter((s) => s.metric === 'bytesReceived').reduce((a, s) => a + s.value, 0);
    const packets = packetsThroughPath(counts.samples, guestsOnPath);
    const normalised = normalise(
      counts.samples.filter((s) => s.metric !== 'nicPackets' && s.metric !== 'nicBytes'),
      { bytes, durationSec: stopped.durationSec, ...(packets !== undefined ? { packets } : {}) },
    );
    warnings.push(...normalised.warnings);
    return { value, samples: [...counts.samples, ...normalised.samples], warnings, intrusions: stopped.intrusions };
  }
}

/** Add a variant's dims to samples (collector samples keep their own dims too). */
export function withDims(samples: readonly Sample[], dims: Dims): Sample[] {
  if (Object.keys(dims).length === 0) return [...samples];
  return samples.map((s) => ({ ...s, dims: { ...dims, ...s.dims } }));
}
