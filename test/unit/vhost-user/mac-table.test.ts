// The switch's learning table: learning, moves, ageing, the size cap, multicast handling.

import { describe, expect, it } from 'vitest';
import { formatMac, isMulticast, macAt, MacTable, UNKNOWN } from '../../../harness/vhost-user/mac-table.ts';

const mac = (s: string) => macAt(Uint8Array.from(s.split(':').map((h) => parseInt(h, 16))), 0);

describe('MacTable', () => {
  it('learns, moves and forgets per port', () => {
    const t = new MacTable();
    const a = mac('02:00:00:00:00:01');
    expect(t.lookup(a, 0)).toBe(UNKNOWN);
    t.learn(a, 1, 0);
    expect(t.lookup(a, 1)).toBe(1);
    const g = t.generation;
    t.learn(a, 2, 2); // the host moved
    expect(t.lookup(a, 3)).toBe(2);
    expect(t.generation).toBeGreaterThan(g);
    t.forgetPort(2);
    expect(t.lookup(a, 4)).toBe(UNKNOWN);
  });

  it('never learns or forwards multicast and broadcast as unicast', () => {
    const t = new MacTable();
    const bc = mac('ff:ff:ff:ff:ff:ff');
    const mc = mac('01:00:5e:00:00:01');
    expect([isMulticast(bc), isMulticast(mc), isMulticast(mac('02:00:00:00:00:01'))]).toEqual([true, true, false]);
    t.learn(mc, 1, 0);
    expect(t.size).toBe(0);
    expect(t.lookup(bc, 0)).toBe(UNKNOWN);
  });

  it('ages entries out', () => {
    const t = new MacTable(10, 1000);
    t.learn(mac('02:00:00:00:00:01'), 0, 0);
    expect(t.lookup(mac('02:00:00:00:00:01'), 999)).toBe(0);
    expect(t.lookup(mac('02:00:00:00:00:01'), 2500)).toBe(UNKNOWN);
  });

  it('stays bounded when a guest sprays source addresses', () => {
    const t = new MacTable(100, 1000);
    for (let i = 0; i < 10_000; i++) t.learn(0x0200_0000_0000 + i, 0, 0);
    expect(t.size).toBe(100);
    t.learn(0x0200_0001_0000, 1, 5000); // old entries expire to make room
    expect(t.lookup(0x0200_0001_0000, 5000)).toBe(1);
  });

  it('looks at O(1) entries per new address when a spray meets a full table, never at the whole table', () => {
    const t = new MacTable(4096, 300_000);
    for (let i = 0; i < 4096; i++) t.learn(0x0200_0000_0000 + i, 0, i);
    const before = t.scanned;
    for (let i = 0; i < 100_000; i++) t.learn(0x0200_1000_0000 + i, 1, 5000 + i); // all refused: nothing aged
    expect(t.size).toBe(4096);
    expect(t.refused).toBe(100_000);
    expect(t.scanned - before).toBeLessThanOrEqual(100_000); // one entry (the oldest) per attempt
  });

  it('ages out the oldest entries first, refreshed entries last', () => {
    const t = new MacTable(3, 1000);
    const [x, y, z, w] = [1, 2, 3, 4].map((i) => 0x0200_0000_0000 + i) as [number, number, number, number];
    t.learn(x, 0, 0);
    t.learn(y, 0, 100);
    t.learn(z, 0, 200);
    t.learn(x, 0, 900); // refreshed: now the newest
    t.learn(w, 1, 1150); // full: y (seen at 100) has aged out and makes room; x stays
    expect([t.lookup(x, 1150), t.lookup(y, 1150), t.lookup(w, 1150)]).toEqual([0, UNKNOWN, 1]);
    expect(t.size).toBe(3);
  });

  it('formats and parses 48-bit addresses exactly', () => {
    expect(formatMac(mac('fe:dc:ba:98:76:54'))).toBe('fe:dc:ba:98:76:54');
  });
});
