// The `tcg-trace` collector: under software emulation (TCG) there are no VM exits, so it counts what
// would have been exits: QEMU's own trace events for emulated device accesses by memory region
// (`memory_region_ops_read`/`_write`, e.g. region `<nic>-mmio`) and the guest's virtqueue kicks
// (`virtio_queue_notify`: the device handled a kick, which skips the memory-region path because it
// goes through an ioeventfd). Emits `deviceAccesses` with dims {guest, region}: "device accesses
// (software emulation)", never "exits".
//
// Only events that are counted are traced. The device's interrupts (`virtio_notify`,
// `virtio_notify_irqfd`) are not: each is the same interrupt as the MSI write the device model makes
// (`apic-msi (from device)`, which the memory-region events log anyway), neither is a guest access,
// and on a receiving guest with a virtio NIC they were a quarter of all lines (6,700 of 27,000 per second
// traced), each a write(2) of some 3.5 us on the emulating thread on this kind of host.
//
// Cost control: the events are off outside windows. QEMU starts with `-D <traceFile>` and no
// `-trace` option (the log backend is active from the start); at window start the collector points
// QEMU's log at a per-window file (HMP `logfile`) and enables the events with QMP
// `trace-event-set-state`; at stop it disables them, points the log back at the trace file (which
// closes and flushes the window file), counts the window file in a stream and deletes it. Disk use
// is therefore one window's log per guest, and a size cap stops tracing if even that runs away.
//
// Sampling: QEMU's log backend formats a line and writes it (line-buffered: one write(2) each) for
// every access, on the emulating thread, which costs the guest throughput. So by default the events
// are on for a slice of every period (125 ms of each second) and the counts are scaled by the
// window's length over the time traced: estimates of the whole window's counts, with an eighth of the
// lines logged. `sample: false` traces the whole window and counts exactly. On the emulated Intel
// NIC, whose every line is counted, collectors on/off went from 0.964 with 250 ms slices to 0.993
// with 125 ms (58 pairs each, intervals ±2.7 %). A slice starts each second of the window, so a
// window of a second or two sees one or two slices: short bursts of accesses between them are
// missed, steady traffic is not.

import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IopathError } from '../errors.ts';
import type { Sample } from '../samples.ts';
import { requireAvailable, unavailable, unavailableFrom } from './availability.ts';
import { DEVICE_ACCESS_EVENTS, TraceLineCounter, VIRTIO_KICK_EVENT, type TraceCounts } from './parse/qemu-trace.ts';
import { windowTag, type Accel, type Availability, type Collector, type CollectorTarget, type Window } from './types.ts';

/** Trace events toggled per window: device accesses and virtqueue kicks, the ones that are counted. */
export const TCG_TRACE_EVENTS: readonly string[] = [...DEVICE_ACCESS_EVENTS, VIRTIO_KICK_EVENT];

/**
 * QEMU argv the launcher adds for this collector: the log file only. `-D` is how QEMU 7.2 spells
 * the log file of the `log` trace backend; no `-trace` option is needed because the events are
 * switched on and off at run time (QMP `trace-event-set-state`), so boot and idle time between
 * windows never log. (`-trace enable=PATTERN`, `-trace PATTERN` and `-trace events=FILE` would turn
 * events on from the start, which is what we avoid.)
 */
export function tcgTraceArgs(traceFile: string): string[] {
  return ['-D', traceFile];
}

export interface TcgTraceOptions {
  accel: Accel;
  targets: readonly CollectorTarget[];
  /** Folder for the per-window logs (default: beside each guest's trace file). */
  dir?: string;
  /** Keep the per-window logs instead of deleting them after counting. */
  keepLogs?: boolean;
  /** Stop tracing a guest whose window log grows beyond this many bytes (default 512 MiB). */
  maxWindowBytes?: number;
  /** How often the size cap is checked (default 500 ms). */
  watchIntervalMs?: number;
  /**
   * Memory regions left out of the counts because they are not on the path under test (default:
   * `serial`, the guests' console and the harness's control channel).
   */
  ignoreRegions?: readonly string[];
  /**
   * Trace `onMs` of every `periodMs` and scale the counts (default 125 of 1000); false traces the
   * whole window.
   */
  sample?: { periodMs: number; onMs: number } | false;
}

/** The default slice: an eighth of every second. */
export const DEFAULT_TRACE_SAMPLE = { periodMs: 1000, onMs: 125 } as const;

/** What one guest's window log cost. */
export interface TraceWindowCost {
  guest: string;
  bytes: number;
  lines: number;
  /** Milliseconds spent counting the log after the window. */
  countMs: number;
  /** Milliseconds the events were on, and the window's length. */
  tracedMs: number;
  windowMs: number;
}

interface Active {
  target: CollectorTarget;
  file: string;
  overflowAt?: number;
}

export class TcgTraceCollector implements Collector {
  readonly id = 'tcg-trace';
  readonly source = 'TCG trace';
  #o: TcgTraceOptions;
  #availability: Promise<Availability> | undefined;
  #active: Active[] = [];
  #watch: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #lastCost: TraceWindowCost[] = [];
  /** Sampling state of the current window. */
  #on = false;
  /** Between start and stop: the sampling cycle may toggle. */
  #cycling = false;
  #onSince = 0;
  #switchedAt = 0;
  #tracedMs = 0;
  #toggle: NodeJS.Timeout | undefined;
  /** The toggle in flight, awaited before the window stops. */
  #toggling: Promise<void> = Promise.resolve();

  constructor(options: TcgTraceOptions) {
    this.#o = options;
  }

  /** Size of the logs of the last window (bytes, lines, counting time), for overhead reporting. */
  get lastWindowCost(): readonly TraceWindowCost[] {
    return this.#lastCost;
  }

  notes(): string[] {
    return [
      'device accesses (software emulation) count emulated MMIO/PIO accesses by memory region plus virtqueue kicks; they stand in for VM exits and are not exits',
      'virtio_queue_notify counts kicks the device handled: kicks that arrive while one is pending are merged by the ioeventfd',
      `left out, as not on the path under test: ${this.#ignored().join(', ')} (the guests' console and the harness's control channel)`,
      ...(this.#sample()
        ? [
            `sampled to keep its cost low: the events are traced ${this.#sample()!.onMs} ms of every ${this.#sample()!.periodMs} ms of a window and the counts scaled by the window's length over the time traced (estimates; per-access logging under software emulation costs throughput)`,
          ]
        : []),
    ];
  }

  #sample(): { periodMs: number; onMs: number } | undefined {
    const o = this.#o.sample ?? DEFAULT_TRACE_SAMPLE;
    return o === false || o.onMs >= o.periodMs ? undefined : o;
  }

  #ignored(): readonly string[] {
    return this.#o.ignoreRegions ?? ['serial'];
  }

  availability(): Promise<Availability> {
    this.#availability ??= this.#probe();
    return this.#availability;
  }

  async #probe(): Promise<Availability> {
    if (this.#o.accel !== 'tcg') {
      return unavailable('the guests run under KVM: exits are counted by perf and QMP; device-access tracing is the stand-in for software emulation only');
    }
    if (this.#o.targets.length === 0) return unavailable('no guests to observe');
    for (const t of this.#o.targets) {
      if (t.traceFile === undefined) {
        return unavailable(`QEMU of guest ${t.guest} was started without a trace log: add collectorArgs('tcg', ...) (-D <file>) to its argv`);
      }
      // HMP `logfile` takes the rest of its line as the file name but cannot quote: no whitespace.
      const windowDir = this.#o.dir ?? dirname(t.traceFile);
      if (/\s/.test(t.traceFile) || /\s/.test(windowDir)) {
        return unavailable(`the trace log path of guest ${t.guest} contains whitespace, which QEMU's logfile command cannot take: ${t.traceFile}`);
      }
      try {
        statSync(t.traceFile);
      } catch {
        return unavailable(`QEMU of guest ${t.guest} has not created its trace log ${t.traceFile} (was -D ${t.traceFile} on its command line?)`);
      }
      try {
        for (const name of TCG_TRACE_EVENTS) await t.qmp.execute('trace-event-get-state', { name });
      } catch (err) {
        return unavailableFrom(err);
      }
    }
    return { available: true };
  }

  async start(window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    const tag = windowTag(window);
    this.#active = this.#o.targets.map((target) => ({
      target,
      file: join(this.#o.dir ?? dirname(target.traceFile!), `${target.guest}-${tag}.trace.log`),
    }));
    // Log file first, events second: no window line may land in the between-windows file.
    const started = await Promise.allSettled(
      this.#active.map(async (a) => {
        mkdirSync(dirname(a.file), { recursive: true });
        rmSync(a.file, { force: true });
        await setLogFile(a.target, a.file);
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
    this.#tracedMs = 0;
    try {
      await this.#switch(true);
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#startedAt = this.#switchedAt;
    this.#watch = setInterval(() => void this.#checkSizes(), this.#o.watchIntervalMs ?? 500);
    this.#watch.unref();
    this.#cycling = true;
    this.#schedule();
  }

  /** Events on or off in every guest at once; the traced time runs from the middle of one switch to the middle of the next. */
  async #switch(on: boolean): Promise<void> {
    const before = Date.now();
    await Promise.all(this.#active.filter((a) => a.overflowAt === undefined || !on).map((a) => setEvents(a.target, on)));
    const at = (before + Date.now()) / 2;
    this.#switchedAt = at;
    if (on) this.#onSince = at;
    else if (this.#on) this.#tracedMs += at - this.#onSince;
    this.#on = on;
  }

  /** Next toggle of the sampling cycle (none when the whole window is traced). */
  #schedule(): void {
    const sample = this.#sample();
    if (!sample || !this.#cycling) return;
    this.#toggle = setTimeout(
      () => {
        this.#toggling = this.#switch(!this.#on).then(
          () => this.#schedule(),
          () => undefined, // the window's stop reports a QMP that stopped answering
        );
      },
      this.#on ? sample.onMs : sample.periodMs - sample.onMs,
    );
    this.#toggle.unref();
  }

  async stop(_window: Window): Promise<Sample[]> {
    this.#cycling = false;
    clearInterval(this.#watch);
    clearTimeout(this.#toggle);
    await this.#toggling;
    // Events off first, then the log back to the trace file: switching closes (and flushes) the window file.
    await this.#switch(false);
    const windowMs = this.#switchedAt - this.#startedAt;
    const active = this.#active;
    this.#active = [];
    await Promise.all(active.map((a) => setLogFile(a.target, a.target.traceFile!)));
    // Counts of a sampled window are scaled up to the whole window.
    const scale = this.#sample() && this.#tracedMs > 0 ? windowMs / this.#tracedMs : 1;
    const samples: Sample[] = [];
    this.#lastCost = [];
    try {
      for (const a of active) {
        if (a.overflowAt !== undefined) {
          throw new IopathError(
            `tcg-trace: the trace log of guest ${a.target.guest} passed ${this.#maxBytes()} bytes ${(a.overflowAt / 1000).toFixed(1)} s into the window; tracing was stopped and the window's counts would be partial`,
          );
        }
        const began = Date.now();
        const counts = await countFile(a.file);
        this.#lastCost.push({ guest: a.target.guest, bytes: statSync(a.file).size, lines: counts.lines, countMs: Date.now() - began, tracedMs: Math.round(this.#tracedMs), windowMs });
        for (const [region, value] of counts.byRegion) {
          if (this.#ignored().includes(region)) continue;
          samples.push({ metric: 'deviceAccesses', value: value * scale, unit: 'count', source: 'tcg-trace', dims: { guest: a.target.guest, region } });
        }
      }
    } finally {
      if (!this.#o.keepLogs) for (const a of active) rmSync(a.file, { force: true });
    }
    return samples;
  }

  async close(): Promise<void> {
    this.#cycling = false;
    clearInterval(this.#watch);
    clearTimeout(this.#toggle);
    await this.#toggling;
    const active = this.#active;
    this.#active = [];
    await Promise.allSettled(
      active.map(async (a) => {
        await setEvents(a.target, false);
        await setLogFile(a.target, a.target.traceFile!);
        if (!this.#o.keepLogs) rmSync(a.file, { force: true });
      }),
    );
  }

  #maxBytes(): number {
    return this.#o.maxWindowBytes ?? 512 * 1024 * 1024;
  }

  async #checkSizes(): Promise<void> {
    for (const a of this.#active) {
      if (a.overflowAt !== undefined) continue;
      let size = 0;
      try {
        size = statSync(a.file).size;
      } catch {
        continue;
      }
      if (size > this.#maxBytes()) {
        a.overflowAt = Date.now() - this.#startedAt;
        await setEvents(a.target, false).catch(() => undefined);
      }
    }
  }
}

async function setEvents(target: CollectorTarget, enable: boolean): Promise<void> {
  for (const name of TCG_TRACE_EVENTS) await target.qmp.execute('trace-event-set-state', { name, enable });
}

/** Point QEMU's log at `file` (HMP `logfile`, reachable through QMP). HMP reports errors as text. */
async function setLogFile(target: CollectorTarget, file: string): Promise<void> {
  const out = await target.qmp.execute<string>('human-monitor-command', { 'command-line': `logfile ${file}` });
  if (typeof out === 'string' && out.trim() !== '') {
    throw new IopathError(`QEMU of guest ${target.guest} could not switch its log to ${file}: ${out.trim()}`);
  }
}

/** Count a trace log in a stream (a window can log millions of lines). */
export async function countFile(file: string): Promise<TraceCounts> {
  const counter = new TraceLineCounter();
  for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    counter.push(chunk as string);
  }
  return counter.end();
}
