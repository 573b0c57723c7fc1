// The guests' NIC counters around a window: one read per guest (all four counters in one round trip
// over its serial line) and both guests at once, so the window's edges cost one round trip, not eight.

import { describe, expect, it } from 'vitest';
import { GuestNicCollector } from '../../../harness/collectors/guest-nic.ts';

describe('GuestNicCollector', () => {
  it('reads every counter of a guest in one round trip, both guests at once, and gives the deltas', async () => {
    const log: string[] = [];
    let inFlight = 0;
    let overlap = 0;
    const counters = (name: string, base: number) => {
      let calls = 0;
      return {
        name,
        iface: 'eth1',
        readFile: async () => {
          throw new Error('one file at a time is not expected');
        },
        readLines: async (paths: readonly string[]) => {
          log.push(`${name}: ${paths.length} files`);
          inFlight++;
          overlap = Math.max(overlap, inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          const k = calls++;
          return paths.map((_, i) => String(base + i + k * 100));
        },
      };
    };
    const c = new GuestNicCollector([counters('a', 1000), counters('b', 2000)]);
    await c.start();
    const samples = await c.stop();
    expect(log).toEqual(['a: 4 files', 'b: 4 files', 'a: 4 files', 'b: 4 files']);
    expect(overlap).toBe(2);
    expect(samples.filter((s) => s.metric === 'nicPackets').map((s) => s.value)).toEqual([100, 100, 100, 100]);
  });

  it('falls back to one file at a time and names a counter that is not a number', async () => {
    const c = new GuestNicCollector([{ name: 'a', iface: 'eth1', readFile: async (p) => (p.endsWith('tx_bytes') ? 'garbage\n' : '7\n') }]);
    await expect(c.start()).rejects.toThrow(/a: tx_bytes is "garbage"/);
  });
});
