// The data path's scheduling: which transmit queues to drain and when, publishing the used rings
// once per pass (one index store and at most one call per ring), and when to sleep.
//
// Each pass takes up to a burst from every live transmit queue (burst.ts, falling back to
// deliver.ts frame by frame), then publishes every ring it touched. Two modes:
// - hybrid (default, docs/vhost-user.md §3.4 and §5 item 4): a kick wakes the forwarder, which polls with
//   kicks suppressed until `spinUs` pass without a frame, yielding to the event loop every `sliceMs`;
//   idle, it re-enables kicks, re-checks every ring (the race rule) and sleeps on uv_poll;
// - busy polling (`busyPoll`, for a core of its own, as testpmd does): it never sleeps and never asks
//   for kicks, and still yields every `sliceMs` so control messages are served.
// A unicast frame whose receive queue has no room waits in its transmit ring (not consumed); that
// queue is retried only when the receiver posts buffers or the hold (`holdMs`) runs out, and the
// forwarder sleeps meanwhile, woken by the receiver's kick or a timer: a stuck receiver costs no
// CPU. After holdMs its frames are dropped at once until it takes one again (T20).
// Every pass is guarded: a guest's structural error breaks that port only.

import { performance } from 'node:perf_hooks';
import { forwardBurst } from './burst.ts';
import { Delivery } from './deliver.ts';
import type { MacTable } from './mac-table.ts';
import { native } from './native.ts';
import type { Port } from './port.ts';
import { fence, RingBroken } from './ring-abi.ts';
import type { SplitQueue } from './virtqueue.ts';

export interface ForwarderOptions {
  /** Frames taken from one transmit queue per pass (DPDK uses 32). */
  burst?: number;
  /** Keep polling this long after the last frame before sleeping on kicks (hybrid mode). */
  spinUs?: number;
  /** Longest run of passes before yielding to the event loop. */
  sliceMs?: number;
  /** Longest a unicast frame waits for receive buffers before it is dropped. */
  holdMs?: number;
  /** Never sleep: poll every ring continuously on this thread's core (off by default). */
  busyPoll?: boolean;
  log?: (line: string) => void;
}

/** Empty passes between two clock reads: a pass over idle rings costs far less than the clock. */
const IDLE_PASSES_PER_CLOCK = 16;

export class Forwarder {
  readonly ports: Port[];
  readonly delivery: Delivery;
  /**
   * Poll without sleeping. Switched off while another path is measured (the switch then sleeps on
   * kicks as in hybrid mode) and on again for its own turn; a pass reads it each time.
   */
  busyPoll: boolean;
  /** Called when a port must be disconnected because its guest broke the rules. */
  onBroken: (port: Port, reason: string) => void = () => undefined;
  #burst: number;
  #spinMs: number;
  #sliceMs: number;
  #holdMs: number;
  #log: (line: string) => void;
  #scheduled = false;
  #running = false;
  #busy = false;
  #lastWork = 0;
  #timer: NodeJS.Timeout | undefined;
  #faults = 0;
  #stopped = false;

  constructor(ports: Port[], options: ForwarderOptions = {}) {
    this.ports = ports;
    this.#burst = options.burst ?? 32;
    this.#spinMs = (options.spinUs ?? 50) / 1000;
    this.#sliceMs = options.sliceMs ?? 2;
    this.#holdMs = options.holdMs ?? 50;
    this.busyPoll = options.busyPoll ?? false;
    this.#log = options.log ?? (() => undefined);
    this.delivery = new Delivery(ports, this.#holdMs);
    this.delivery.onBroken = (p, err) => this.#broken(p, err);
  }

  get macs(): MacTable {
    return this.delivery.macs;
  }

  /** A ring became ready (or something else changed): make sure a pass runs soon. */
  wake = (): void => {
    if (this.#scheduled || this.#running || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(this.#run);
  };

  /**
   * A kick arrived on q. Returns false when it asked for nothing: the forwarder sleeps and q has
   * no new buffers (a transmit queue with nothing pending, a receive queue nobody waits for). The
   * session throttles a ring that keeps kicking for nothing (T23).
   */
  kicked(port: Port, q: SplitQueue): boolean {
    if (this.#busy || this.#scheduled || this.#running) return true; // polling anyway
    let news = false;
    try {
      if ((q.index & 1) === 1) {
        news = (q.ready || q.draining) && (q.heldOn === null ? q.pending() > 0 : this.#heldReady(q));
      } else {
        for (const p of this.ports) for (const t of p.txLive) if (t.heldOn === q && this.#heldReady(t)) news = true;
      }
    } catch (err) {
      this.#broken(port, err);
      return true;
    }
    if (news) this.wake();
    return news;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #run = (): void => {
    this.#scheduled = false;
    if (this.#stopped) return;
    this.#running = true;
    const d = this.delivery;
    try {
      const start = performance.now();
      d.now = start;
      if (!this.#busy) {
        this.#busy = true;
        this.#lastWork = start;
        for (const p of this.ports) for (const q of p.txLive) q.notify(false);
      }
      const faults = native().faultCount();
      if (faults !== this.#faults) this.#checkFaults(faults);
      let idle = 0;
      for (let passes = 1; ; passes++) {
        if (this.pass() > 0) {
          idle = 0;
          // The clock costs as much as a small frame: read it every 8th busy pass.
          if ((passes & 7) === 0) d.now = performance.now();
          this.#lastWork = d.now;
        } else if (this.busyPoll) {
          if (++idle % IDLE_PASSES_PER_CLOCK === 0) d.now = performance.now();
        } else {
          d.now = performance.now();
          if (d.now - this.#lastWork >= this.#spinMs && this.#goIdle()) return;
        }
        if (d.now - start >= this.#sliceMs) {
          this.#scheduled = true;
          setImmediate(this.#run);
          return;
        }
      }
    } catch (err) {
      // Per-port errors are handled inside pass(); anything reaching here is a bug. Log it and keep
      // the switch alive rather than die with every port.
      this.#log(`data path error: ${(err as Error)?.stack ?? String(err)}`);
      this.#busy = false;
      this.#timer = setTimeout(this.wake, 10);
    } finally {
      this.#running = false;
    }
  };

  /** The queue's held frame may go now: its receiver posted buffers, or the hold ran out. */
  #heldReady(q: SplitQueue): boolean {
    const r = q.heldOn!;
    if (!r.ready) return true;
    return r.availIdx() !== q.heldAvail || this.delivery.now - r.stalledSince >= this.#holdMs;
  }

  /** Re-enable notifications, then re-check (race rule); true if nothing is pending and we may sleep. */
  #goIdle(): boolean {
    // Never sleep on an undetected SIGBUS: it is checked on wake-up and here, not per pass.
    const faults = native().faultCount();
    if (faults !== this.#faults) this.#checkFaults(faults);
    let polled = false;
    let until = Infinity;
    for (const p of this.ports) {
      for (const q of p.txLive) {
        if (q.kickless) polled = true;
        q.notify(true);
        if (q.heldOn !== null) {
          q.heldOn.notify(true);
          until = Math.min(until, q.heldOn.stalledSince + this.#holdMs);
        }
      }
    }
    // notify() stored with Atomics (seq-cst): the re-reads below cannot move before it.
    for (const p of this.ports) {
      try {
        for (const q of p.txLive) if (q.heldOn === null ? q.pending() > 0 : this.#heldReady(q)) return false;
      } catch (err) {
        this.#broken(p, err);
        return false;
      }
    }
    this.#busy = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wait = polled ? 1 : until === Infinity ? -1 : Math.max(1, Math.ceil(until - this.delivery.now));
    if (wait >= 0) this.#timer = setTimeout(this.wake, wait);
    return true;
  }

  /** One pass over every port. Returns frames handled. Public for tests that drive it directly. */
  pass(): number {
    const d = this.delivery;
    if (d.now === 0) d.now = performance.now();
    const burst = this.#burst;
    let work = 0;
    const ports = this.ports;
    for (let i = 0; i < ports.length; i++) {
      const src = ports[i]!;
      if (src.mem === null) continue;
      const live = src.txLive;
      try {
        for (let j = 0; j < live.length; j++) {
          const q = live[j]!;
          if (q.ready) {
            if (q.heldOn === null || this.#heldReady(q)) work += forwardBurst(d, src, q, burst);
          } else if (q.draining) {
            work += d.discard(src, q, burst);
          }
        }
      } catch (err) {
        this.#broken(src, err);
      }
    }
    // Publish every ring touched (used->idx, a release), then one fence for all of them, then the
    // notification decisions: one per ring per pass.
    let due = false;
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i]!;
      if (p.mem !== null) due = publishAll(p.rxq) || due;
      if (p.mem !== null) due = publishAll(p.txq) || due;
    }
    if (due) {
      fence();
      for (let i = 0; i < ports.length; i++) {
        const p = ports[i]!;
        signalAll(p.rxq);
        signalAll(p.txq);
      }
    }
    return work;
  }

  #checkFaults(faults: number): void {
    this.#faults = faults;
    for (const p of this.ports) if (p.mem?.faulted()) this.#broken(p, new RingBroken('guest memory file shrank under the mapping (SIGBUS contained)'));
  }

  #broken(p: Port, err: unknown): void {
    const reason = err instanceof RingBroken ? err.message : `internal error: ${(err as Error)?.stack ?? String(err)}`;
    for (const q of p.rxq) q.ready = false;
    for (const q of p.txq) q.ready = q.draining = false;
    p.refreshQueues();
    for (const o of this.ports) for (const q of o.txLive) if (q.heldOn !== null && !q.heldOn.ready) q.heldOn = null;
    this.macs.forgetPort(p.id);
    this.onBroken(p, reason);
  }
}

/** publishIdx() on every placed ring of qs; true if any owes a notification decision. */
function publishAll(qs: SplitQueue[]): boolean {
  let due = false;
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    if (q.unpublished && q.placed && q.publishIdx()) q.signalDue = due = true;
  }
  return due;
}

function signalAll(qs: SplitQueue[]): void {
  for (let i = 0; i < qs.length; i++) {
    const q = qs[i]!;
    if (!q.signalDue) continue;
    q.signalDue = false;
    q.signal();
  }
}
