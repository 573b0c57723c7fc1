// Overhead benchmark, the parts that need no machine: a gate that switches real collectors on for
// some measured windows and off for others within one run (same boot, same guests), the A B B A
// schedule of those windows, and the analysis of the throughputs that came out.
//
// Method: in one run, each path's measured repetitions alternate collectors on and off in pairs by
// repetition index, laid out A B / B A (on first, then off first, ...), so a trend within the run
// falls on both sides alike and both sides share one boot of the guests. In rounds (the run's
// default order) a path's repetitions 2k and 2k+1 are in adjacent rounds, the other paths measured
// between them; in blocks they are back to back. The ratio is the geometric mean of the
// pairs' on/off throughput ratios, with a Student t interval on the mean log ratio
// (harness/stats/paired.ts). The verdict against the goal (0.97) is given only when the interval lies
// wholly on one side of it. Apart from the verdict, the output says whether the interval resolves a
// difference of 1 − goal (3 %: narrower than ±3 %), and when it does not, how many pairs the spread
// the pairs showed would need.

import { median } from 'simple-statistics';
import type { Sample, SampleRecord } from '../samples.ts';
import { abbaIsA, abbaPairs, atLeast, pairedLogRatio, pairsFor, type PairedRatio, type Verdict } from '../stats/paired.ts';
import type { Availability, Collector, Intrusion, Window } from './types.ts';

/** Whether the collectors run in this window: idle baselines always, measured repetitions A B B A. */
export function collectorsOnIn(window: Window): boolean {
  return window.kind === 'idle' || (!window.warmup && abbaIsA(window.rep));
}

/**
 * A collector that does its work only in the windows `on` selects; in the others it neither starts
 * nor stops the one it wraps, and returns no samples. `enabled: false` keeps it off everywhere (to
 * find which collector costs what, one at a time).
 */
export class GatedCollector implements Collector {
  readonly id: string;
  readonly source: string;
  readonly #inner: Collector;
  readonly #on: (w: Window) => boolean;

  constructor(inner: Collector, on: (w: Window) => boolean, enabled = true) {
    this.#inner = inner;
    this.id = inner.id;
    this.source = inner.source;
    this.#on = enabled ? on : () => false;
  }

  availability(): Promise<Availability> {
    return this.#inner.availability();
  }

  async start(window: Window): Promise<void> {
    if (this.#on(window)) await this.#inner.start(window);
  }

  async stop(window: Window): Promise<Sample[]> {
    return this.#on(window) ? this.#inner.stop(window) : [];
  }

  intrusion(window: Window): Intrusion | undefined {
    return this.#on(window) ? this.#inner.intrusion?.(window) : undefined;
  }

  async close(): Promise<void> {
    await this.#inner.close?.();
  }

  notes(): string[] {
    return this.#inner.notes?.() ?? [];
  }
}

/** iopath's own CPU time over one measured window, and the window's length. */
export interface OwnCpu {
  cpuMs: number;
  wallMs: number;
}

/** iopath's CPU time (user + system, microseconds) and the clock (milliseconds), read together. */
export interface OwnCpuReading {
  cpuUs: number;
  atMs: number;
}

export type OwnCpuClock = () => OwnCpuReading;

const processClock: OwnCpuClock = () => {
  const u = process.cpuUsage();
  return { cpuUs: u.user + u.system, atMs: performance.now() };
};

/**
 * Not a collector of the path: it reads iopath's own CPU time at the start and stop of every
 * measured window, collectors on or off, and emits no samples. Under `placement: auto` on a small
 * host iopath shares its core with a guest, so what iopath itself does while the traffic runs (the
 * collectors' reads, toggles and watches) is taken from that guest; the overhead run prints it beside
 * the throughput ratio. Put it first in the inner ring: its start and stop read the clock before the
 * other collectors' own start and stop work.
 */
export class OwnCpuMeter implements Collector {
  readonly id = 'iopath-cpu';
  readonly source = 'process.cpuUsage';
  /** By `ownCpuKey(backend, scenario, rep)`, measured repetitions only. */
  readonly windows = new Map<string, OwnCpu>();
  readonly #clock: OwnCpuClock;
  #startedAt: OwnCpuReading | undefined;

  constructor(clock: OwnCpuClock = processClock) {
    this.#clock = clock;
  }

  availability(): Promise<Availability> {
    return Promise.resolve({ available: true });
  }

  start(_window: Window): Promise<void> {
    this.#startedAt = this.#clock();
    return Promise.resolve();
  }

  stop(window: Window): Promise<Sample[]> {
    const now = this.#clock();
    const t0 = this.#startedAt;
    this.#startedAt = undefined;
    if (t0 && window.kind === 'measure' && !window.warmup) {
      this.windows.set(ownCpuKey(window.backend, window.scenario, window.rep), { cpuMs: (now.cpuUs - t0.cpuUs) / 1000, wallMs: now.atMs - t0.atMs });
    }
    return Promise.resolve([]);
  }
}

export function ownCpuKey(backend: string, scenario: string, rep: number): string {
  return `${backend}|${scenario}|${rep}`;
}

/**
 * iopath's own CPU per second of window, median over the repetitions with collectors on and over
 * those with them off, for the series of `r` (null when the meter saw none of its windows).
 */
export function formatOwnCpu(r: Pick<OverheadResult, 'backend' | 'scenario'>, reps: Iterable<number>, windows: ReadonlyMap<string, OwnCpu>): string | null {
  const on: number[] = [];
  const off: number[] = [];
  for (const rep of reps) {
    const w = windows.get(ownCpuKey(r.backend, r.scenario, rep));
    if (!w || w.wallMs <= 0) continue;
    (abbaIsA(rep) ? on : off).push((1000 * w.cpuMs) / w.wallMs);
  }
  if (on.length === 0 || off.length === 0) return null;
  const ms = (xs: number[]) => median(xs).toFixed(1);
  return `  iopath's own CPU while the windows ran: on ${ms(on)} ms per s, off ${ms(off)} ms per s (medians; on a core it shares with a guest under placement auto, the difference is taken from that guest)`;
}

export interface OverheadSeries {
  backend: string;
  scenario: string;
  /** Measured throughputs (bit/s) by repetition. */
  byRep: Map<number, number>;
}

/** Measured throughputs of a run's samples, per path and scenario. */
export function throughputSeries(records: readonly SampleRecord[]): OverheadSeries[] {
  const out = new Map<string, OverheadSeries>();
  for (const r of records) {
    if (r.metric !== 'throughput' || r.warmup) continue;
    const key = `${r.backend}|${r.scenario}`;
    let s = out.get(key);
    if (!s) out.set(key, (s = { backend: r.backend, scenario: r.scenario, byRep: new Map() }));
    s.byRep.set(r.rep, r.value);
  }
  return [...out.values()];
}

export interface OverheadResult {
  backend: string;
  scenario: string;
  on: number[];
  off: number[];
  medianOn: number;
  medianOff: number;
  paired: PairedRatio;
  goal: number;
  /** Whether on/off is at least the goal: decided only when the interval is on one side of it. */
  verdict: Verdict;
  /** Half-width the interval must stay under to resolve a difference of 1 − goal. */
  resolution: number;
  /** Whether the interval is narrower than ±resolution. */
  resolved: boolean;
  /**
   * Pairs that would resolve it if the pairs' spread stayed as measured (at most
   * {@link MAX_PAIRS}); null with one pair (no spread) or when more would be needed.
   */
  pairsNeeded: number | null;
}

/** The most pairs `iopath overhead --rounds` runs (config/flags.ts's overheadLimits). */
export const MAX_PAIRS = 100;

/** On/off ratio of one series laid out by `collectorsOnIn` (null when no pair is complete). */
export function analyseOverhead(s: OverheadSeries, goal = 0.97): OverheadResult | null {
  const pairs = abbaPairs(s.byRep);
  if (pairs.length === 0) return null;
  const on = [...s.byRep].filter(([rep]) => abbaIsA(rep)).map(([, v]) => v);
  const off = [...s.byRep].filter(([rep]) => !abbaIsA(rep)).map(([, v]) => v);
  const paired = pairedLogRatio(pairs);
  const resolution = 1 - goal;
  return {
    backend: s.backend,
    scenario: s.scenario,
    on,
    off,
    medianOn: median(on),
    medianOff: median(off),
    paired,
    goal,
    verdict: atLeast(paired, goal),
    resolution,
    resolved: paired.halfWidth !== null && paired.halfWidth < resolution,
    pairsNeeded: paired.sdLog === null ? null : pairsFor(paired.sdLog, resolution, paired.ci!.level, MAX_PAIRS),
  };
}

export function formatOverhead(r: OverheadResult): string {
  const ci = r.paired.ci;
  const res = pct(r.resolution);
  let interval: string;
  if (!ci) interval = `no interval (one pair): a ${res} % difference needs at least two`;
  else if (r.resolved) interval = `95% interval ${ci.low.toFixed(3)}..${ci.high.toFixed(3)} (\u00b1${pct(r.paired.halfWidth!)} %): resolves a ${res} % difference`;
  else interval = `95% interval ${ci.low.toFixed(3)}..${ci.high.toFixed(3)} (\u00b1${pct(r.paired.halfWidth!)} %): does NOT resolve a ${res} % difference (it needs narrower than \u00b1${res} %); ${morePairs(r)}`;
  const goal = `goal >= ${r.goal}`;
  const verdict =
    r.verdict === 'yes'
      ? `${goal}: met`
      : r.verdict === 'no'
        ? `${goal}: NOT met`
        : r.resolved
          ? `${goal}: cannot tell, the goal lies inside the interval (the collectors cost between ${pct(1 - ci!.high)} % and ${pct(1 - ci!.low)} % of throughput)`
          : `${goal}: cannot tell, the interval is too wide to decide`;
  return [
    `${r.backend} ${r.scenario}: collectors off median ${gbps(r.medianOff)} Gbit/s, on ${gbps(r.medianOn)} Gbit/s (${r.paired.n} pairs)`,
    `  on/off ${r.paired.ratio.toFixed(3)}, ${interval}`,
    `  ${verdict}`,
    `  off: ${r.off.map(gbps).join(' ')}`,
    `  on:  ${r.on.map(gbps).join(' ')}`,
  ].join('\n');
}

/** How many pairs the measured spread needs, in words with the flag that asks for them. */
function morePairs(r: OverheadResult): string {
  if (r.pairsNeeded === null) return `the spread of these pairs would need more than ${MAX_PAIRS} pairs: the host is too noisy to resolve it`;
  return `the spread of these pairs needs about ${r.pairsNeeded} pairs (--rounds ${r.pairsNeeded})`;
}

/**
 * The closing line: whether every interval resolves a difference of 1 − goal, and if not, the
 * --rounds that the widest spread would need.
 */
export function formatResolution(results: readonly OverheadResult[]): string {
  if (results.length === 0) return 'no interval';
  const res = pct(results[0]!.resolution);
  const open = results.filter((r) => !r.resolved);
  if (open.length === 0) return `every interval is narrower than \u00b1${res} %: each resolves a ${res} % difference`;
  const label = (rs: readonly OverheadResult[]) => rs.map((r) => `${r.backend} ${r.scenario}`).join(', ');
  const counted = open.flatMap((r) => (r.pairsNeeded === null ? [] : [r.pairsNeeded]));
  const tooNoisy = open.filter((r) => r.paired.sdLog !== null && r.pairsNeeded === null);
  const onePair = open.filter((r) => r.paired.sdLog === null);
  const advice = [
    ...(counted.length ? [`run again with --rounds ${Math.max(...counted)}`] : []),
    ...(tooNoisy.length ? [`${label(tooNoisy)} would need more than ${MAX_PAIRS} pairs`] : []),
    ...(onePair.length ? [`${label(onePair)} had one pair, no spread to go by`] : []),
  ];
  return `NOT resolved at \u00b1${res} % (${label(open)}): ${advice.join('; ')}`;
}

/** A fraction as a percentage with at most one decimal (0.03 → "3", 0.025 → "2.5"). */
function pct(fraction: number): string {
  return (100 * fraction).toFixed(1).replace(/\.0$/, '');
}

function gbps(bitsPerSecond: number): string {
  return (bitsPerSecond / 1e9).toFixed(3);
}
