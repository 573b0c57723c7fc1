// Guest memory: table validation before mmap (T6), translation of guest-physical and front-end
// virtual addresses, ranges split at region and 1 GiB window boundaries (T14), the unchanged-table
// short-circuit, and SIGBUS containment when the file shrinks under the mapping.

import { closeSync, openSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkRegions, GuestMemory, MemoryTableError } from '../../../harness/vhost-user/memory.ts';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { reopen } from '../../fixtures/vhost-user/inproc.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('guest memory tests', nativeUnavailableReason());

const r = (gpa: number | bigint, size: number | bigint, uva: number | bigint = 0x7f00_0000_0000n + BigInt(gpa), off: number | bigint = 0) => ({
  guestPhysAddr: BigInt(gpa),
  size: BigInt(size),
  userAddr: BigInt(uva),
  mmapOffset: BigInt(off),
});

describe('checkRegions (pure)', () => {
  it('refuses empty, zero-sized, overflowing and overlapping tables', () => {
    expect(() => checkRegions([], 0)).toThrow(/0 regions/);
    expect(() => checkRegions(Array(9).fill(r(0, 1)), 9)).toThrow(/9 regions/);
    expect(() => checkRegions([r(0, 1)], 2)).toThrow(/2 fds/);
    expect(() => checkRegions([r(0, 0)], 1)).toThrow(/size 0/);
    expect(() => checkRegions([r(2n ** 64n - 4096n, 8192)], 1)).toThrow(/overflows/);
    expect(() => checkRegions([r(0, 4096, 2n ** 63n)], 1)).toThrow(/overflows/);
    expect(() => checkRegions([r(0, 4096, 0, 2n ** 64n - 1n)], 1)).toThrow(/overflows/);
    expect(() => checkRegions([r(0, 8192, 0), r(4096, 8192, 65536)], 2)).toThrow(/guest-physical/);
    expect(() => checkRegions([r(0, 8192, 0), r(65536, 8192, 4096)], 2)).toThrow(/user space/);
    expect(() => checkRegions([r(0, 8192, 0), r(8192, 8192, 8192)], 2)).not.toThrow();
  });
});

addon.describe('GuestMemory', () => {
  it('maps one file once for several regions and translates both address spaces', () => {
    const fd = native().memfdCreate('t', 1 << 20);
    const mem = GuestMemory.map([r(0, 0xa0000, 0x1000_0000, 0), r(0xc0000, 0x40000, 0x1000_0000 + 0xc0000, 0xc0000)], [reopen(fd), reopen(fd)]);
    expect(mem.windowCount).toBe(1);
    expect(mem.translateGpa(0x10, 100)).toBe(100);
    expect(mem.tOff).toBe(0x10);
    expect(mem.translateGpa(0xc0010, 8)).toBe(8);
    expect(mem.tOff).toBe(0xc0010);
    expect(mem.translateGpa(0xb0000, 8)).toBe(0); // the hole
    expect(mem.translateGpa(0x9fff0, 100)).toBe(16); // clipped at the region end (T14)
    expect(mem.translateUva(0x1000_0000 + 0xc0020, 4)).toBe(4);
    expect(mem.tOff).toBe(0xc0020);
    expect(mem.uvaToGpa(0x1000_0000 + 0x20)).toBe(0x20);
    mem.close();
    native().closeFd(fd);
  });

  it('splits a range at a 1 GiB window boundary (sparse 1.5 GiB memfd)', () => {
    const size = 1.5 * 2 ** 30;
    const fd = native().memfdCreate('big', size);
    const mem = GuestMemory.map([r(0x1_0000_0000, size)], [reopen(fd)]);
    expect(mem.windowCount).toBe(2);
    const edge = 0x1_0000_0000 + 2 ** 30 - 8;
    expect(mem.translateGpa(edge, 64)).toBe(8);
    expect(mem.tWin).toBe(0);
    expect(mem.translateGpa(edge + 8, 56)).toBe(56);
    expect([mem.tWin, mem.tOff]).toEqual([1, 0]);
    mem.u8[1]![0] = 42;
    mem.close();
    native().closeFd(fd);
  });

  it('refuses files too small for their region, and fds that are not files, closing every fd (T6)', () => {
    const small = native().memfdCreate('small', 4096);
    const before = openFds();
    expect(() => GuestMemory.map([r(0, 8192)], [reopen(small)])).toThrow(/file has 4096 bytes/);
    expect(() => GuestMemory.map([r(0, 4096, 0, 4096)], [reopen(small)])).toThrow(/needs/);
    const [a, b] = native().socketPair(false);
    expect(() => GuestMemory.map([r(0, 4096)], [a])).toThrow(/socket/);
    const devNull = openSync('/dev/null', 'r');
    expect(() => GuestMemory.map([r(0, 4096)], [devNull])).toThrow(MemoryTableError);
    native().closeFd(b);
    expect(openFds()).toBe(before);
    native().closeFd(small);
  });

  it('refuses a table that would map more than the limit', () => {
    const fd = native().memfdCreate('huge', 2 ** 31);
    expect(() => GuestMemory.map([r(0, 2 ** 31)], [reopen(fd)], { maxMappedBytes: 2 ** 30 })).toThrow(/limit/);
    native().closeFd(fd);
  });

  it('recognises an unchanged table (same regions, same file)', () => {
    const fd = native().memfdCreate('same', 1 << 16);
    const mem = GuestMemory.map([r(0, 1 << 16)], [reopen(fd)]);
    const again = reopen(fd);
    expect(mem.sameAs([r(0, 1 << 16)], [again])).toBe(true);
    expect(mem.sameAs([r(4096, 1 << 12)], [again])).toBe(false);
    const other = native().memfdCreate('other', 1 << 16);
    expect(mem.sameAs([r(0, 1 << 16)], [other])).toBe(false);
    closeSync(again);
    native().closeFd(other);
    mem.close();
    native().closeFd(fd);
  });

  it('contains SIGBUS when the file shrinks under the mapping, and reports it', () => {
    const fd = native().memfdCreate('shrink', 1 << 20);
    const mem = GuestMemory.map([r(0, 1 << 20)], [reopen(fd)]);
    native().truncateFd(fd, 4096);
    expect(mem.translateGpa(0x80000, 4)).toBe(4);
    expect(mem.u8[mem.tWin]![mem.tOff]).toBe(0); // would have been SIGBUS
    expect(mem.faulted()).toBe(true);
    mem.close();
    native().closeFd(fd);
  });

  it('detaches its views on close, so stale users read nothing', () => {
    const fd = native().memfdCreate('close', 1 << 16);
    const mem = GuestMemory.map([r(0, 1 << 16)], [reopen(fd)]);
    const view = mem.u8[0]!;
    mem.close();
    expect(view.length).toBe(0);
    expect(view[0]).toBeUndefined();
    native().closeFd(fd);
  });
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}
