// The guests' own NIC counters (rx/tx packets and bytes of the interface on the path under test),
// read inside each guest through its agent. They count packets for every path alike, TCP included,
// which is what per-packet figures are divided by.

import { GuestError } from '../errors.ts';
import type { Sample } from '../samples.ts';
import type { Availability, Collector } from './types.ts';

/** The part of a guest the collector needs: its name, interface and a way to read a file. */
export interface NicCounterTarget {
  name: string;
  iface: string;
  readFile(path: string): Promise<string>;
  /** Read several one-line files in one go (one round trip to the guest instead of one per file). */
  readLines?(paths: readonly string[]): Promise<string[]>;
}

const COUNTERS = ['rx_packets', 'tx_packets', 'rx_bytes', 'tx_bytes'] as const;
type Counter = (typeof COUNTERS)[number];

export class GuestNicCollector implements Collector {
  readonly id = 'guest-nic';
  readonly source = 'guest NIC counters';
  #targets: readonly NicCounterTarget[];
  #before = new Map<string, Record<Counter, number>>();

  constructor(targets: readonly NicCounterTarget[]) {
    this.#targets = targets;
  }

  async availability(): Promise<Availability> {
    try {
      for (const t of this.#targets) await this.#read(t);
      return { available: true };
    } catch (err) {
      return { available: false, reason: `cannot read the guests' interface counters: ${(err as Error).message}` };
    }
  }

  // Both guests are read at once: every round trip over a guest's serial line is dead time around
  // the window.
  async start(): Promise<void> {
    const read = await Promise.all(this.#targets.map((t) => this.#read(t)));
    this.#targets.forEach((t, i) => this.#before.set(t.name, read[i]!));
  }

  async stop(): Promise<Sample[]> {
    const samples: Sample[] = [];
    const read = await Promise.all(this.#targets.map((t) => this.#read(t)));
    for (const [i, t] of this.#targets.entries()) {
      const after = read[i]!;
      const before = this.#before.get(t.name);
      if (!before) continue;
      for (const direction of ['rx', 'tx'] as const) {
        // Counters are unsigned longs in the guest; a wrap inside one window is not plausible.
        samples.push({ metric: 'nicPackets', value: after[`${direction}_packets`] - before[`${direction}_packets`], unit: 'count', source: this.source, dims: { guest: t.name, direction } });
        samples.push({ metric: 'nicBytes', value: after[`${direction}_bytes`] - before[`${direction}_bytes`], unit: 'bytes', source: this.source, dims: { guest: t.name, direction } });
      }
    }
    this.#before.clear();
    return samples;
  }

  async #read(t: NicCounterTarget): Promise<Record<Counter, number>> {
    const out = {} as Record<Counter, number>;
    const paths = COUNTERS.map((c) => `/sys/class/net/${t.iface}/statistics/${c}`);
    const lines = t.readLines ? await t.readLines(paths) : await Promise.all(paths.map((p) => t.readFile(p)));
    for (const [i, c] of COUNTERS.entries()) {
      const text = (lines[i] ?? '').trim();
      if (!/^\d+$/.test(text)) throw new GuestError(`${t.name}: ${c} is ${JSON.stringify(text.slice(0, 40))}, not a number`);
      out[c] = Number(text);
    }
    return out;
  }
}

/**
 * Packets that crossed the path in a window, from the guests' NIC counters: every packet is sent by
 * one end and received by the other, so with two guests on the path each is counted twice (tx at one,
 * rx at the other); with the host at one end, once.
 */
export function packetsThroughPath(samples: readonly Sample[], guestsOnPath: 1 | 2): number | undefined {
  const nic = samples.filter((s) => s.metric === 'nicPackets');
  if (nic.length === 0) return undefined;
  return nic.reduce((a, s) => a + s.value, 0) / guestsOnPath;
}
