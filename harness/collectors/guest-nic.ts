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

  async start(): Promise<void> {
    for (const t of this.#targets) this.#before.set(t.name, await this.#read(t));
  }

  async stop(): Promise<Sample[]> {
    const samples: Sample[] = [];
    for (const t of this.#targets) {
      const after = await this.#read(t);
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
    for (const c of COUNTERS) {
      const text = (await t.readFile(`/sys/class/net/${t.iface}/statistics/${c}`)).trim();
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
