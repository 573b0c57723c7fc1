// Runs a set of collectors together around one window at a time: asks each once whether it is
// available (and keeps the reason when not), starts the available ones together, stops them
// together, and isolates failures: a collector that fails costs its own samples of that window,
// never the repetition.

import { InternalError } from '../errors.ts';
import type { Sample } from '../samples.ts';
import type { Availability, Collector, Intrusion, Window } from './types.ts';

/** What the report says about a collector: available or why not, and how it measured. */
export interface CollectorStatus {
  id: string;
  source: string;
  availability: Availability;
  notes: string[];
}

export interface CollectorFailure {
  id: string;
  phase: 'availability' | 'start' | 'stop' | 'close';
  error: unknown;
}

export interface WindowResult {
  samples: Sample[];
  /** Seconds from the moment every collector had started to the moment stopping began. */
  durationSec: number;
  failures: CollectorFailure[];
  /** What collectors did to the window beyond counting (a profiler that sampled it). */
  intrusions: Intrusion[];
}

export class CollectorGroup {
  readonly collectors: readonly Collector[];
  #active: Collector[] = [];
  #running: Collector[] = [];
  #startFailures: CollectorFailure[] = [];
  #startedAt = 0;
  #closing: Promise<CollectorFailure[]> | undefined;

  constructor(collectors: readonly Collector[]) {
    this.collectors = collectors;
  }

  /** Collectors that said they are available. */
  get active(): readonly Collector[] {
    return this.#active;
  }

  /** Ask every collector once (in parallel) whether it can work here. */
  async prepare(): Promise<CollectorStatus[]> {
    const statuses = await Promise.all(
      this.collectors.map(async (c): Promise<CollectorStatus> => {
        let availability: Availability;
        try {
          availability = await c.availability();
        } catch (error) {
          availability = { available: false, reason: `availability check failed: ${(error as Error)?.message ?? String(error)}` };
        }
        return { id: c.id, source: c.source, availability, notes: c.notes?.() ?? [] };
      }),
    );
    this.#active = this.collectors.filter((_, i) => statuses[i]!.availability.available);
    return statuses;
  }

  /** Start every available collector; resolves when all have started (or failed to). */
  async start(window: Window): Promise<void> {
    if (this.#running.length > 0) throw new InternalError('CollectorGroup.start: the previous window was not stopped');
    const results = await Promise.allSettled(this.#active.map((c) => c.start(window)));
    this.#running = [];
    this.#startFailures = [];
    results.forEach((r, i) => {
      const c = this.#active[i]!;
      if (r.status === 'fulfilled') this.#running.push(c);
      else this.#startFailures.push({ id: c.id, phase: 'start', error: r.reason });
    });
    this.#startedAt = performance.now();
  }

  /** Stop every running collector and gather the window's samples. */
  async stop(window: Window): Promise<WindowResult> {
    const durationSec = (performance.now() - this.#startedAt) / 1000;
    const running = this.#running;
    this.#running = [];
    const results = await Promise.allSettled(running.map((c) => c.stop(window)));
    const samples: Sample[] = [];
    const failures = [...this.#startFailures];
    this.#startFailures = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') samples.push(...r.value);
      else failures.push({ id: running[i]!.id, phase: 'stop', error: r.reason });
    });
    // Asked whether stop succeeded or not: a profiler that ran disturbed the window either way.
    const intrusions = running.flatMap((c) => {
      try {
        const i = c.intrusion?.(window);
        return i ? [i] : [];
      } catch (error) {
        failures.push({ id: c.id, phase: 'stop', error });
        return [];
      }
    });
    return { samples, durationSec, failures, intrusions };
  }

  /** Close every collector once (also mid-window); returns the failures instead of throwing. */
  close(): Promise<CollectorFailure[]> {
    this.#closing ??= (async () => {
      this.#running = [];
      const results = await Promise.allSettled(this.collectors.map((c) => c.close?.()));
      return results.flatMap((r, i) => (r.status === 'rejected' ? [{ id: this.collectors[i]!.id, phase: 'close' as const, error: r.reason }] : []));
    })();
    return this.#closing;
  }
}
