import { describe, expect, it } from 'vitest';
import { InternalError } from '../../harness/errors.ts';
import { bridgeName, guestIdentity, netnsName, tagOfNetns } from '../../harness/host/identity.ts';

describe('identities derived from an index', () => {
  it('gives each guest distinct, valid names, MACs and addresses', () => {
    const guests = Array.from({ length: 8 }, (_, i) => guestIdentity(i, 'a1b2c3'));
    expect(guests.map((g) => g.name).slice(0, 3)).toEqual(['a', 'b', 'c']);
    expect(new Set(guests.map((g) => g.mac)).size).toBe(8);
    expect(new Set(guests.map((g) => g.ip)).size).toBe(8);
    for (const g of guests) {
      expect(g.mac).toMatch(/^52:54:00:1a:[0-9a-f]{2}:[0-9a-f]{2}$/);
      // Locally administered, unicast.
      expect(parseInt(g.mac.slice(0, 2), 16) & 0b11).toBe(0b10);
      expect(g.tap.length).toBeLessThanOrEqual(15);
      expect(g.tap).toContain('a1b2c3');
    }
    expect(guests[0]).toMatchObject({ ip: '10.99.0.1', prefix: 24, tap: 'iopa1b2c3t0', mac: '52:54:00:1a:00:01' });
  });

  it('carries the run tag in every host-side name and respects the 15-byte limit', () => {
    expect(netnsName('a1b2c3')).toBe('iopath-a1b2c3');
    // One namespace per tap path, so that paths measured in rounds are up together; the tag stays last.
    expect(netnsName('a1b2c3', 'vhost-net')).toBe('iopath-vhost-net-a1b2c3');
    expect(netnsName('a1b2c3', 'e1000')).not.toBe(netnsName('a1b2c3', 'virtio-net'));
    for (const n of [netnsName('a1b2c3'), netnsName('a1b2c3', 'vhost-net'), netnsName('a1b2c3', 'e1000')]) expect(tagOfNetns(n)).toBe('a1b2c3');
    for (const n of ['iopath-a1b2c', 'iopath-lab', 'other-a1b2c3', 'iopath--a1b2c3']) expect(tagOfNetns(n)).toBeUndefined();
    expect(bridgeName('a1b2c3')).toBe('iopa1b2c3br');
    expect(bridgeName('a1b2c3').length).toBeLessThanOrEqual(15);
  });

  it('rejects indexes it cannot map', () => {
    expect(() => guestIdentity(-1, 'x')).toThrow(InternalError);
    expect(() => guestIdentity(1.5, 'x')).toThrow(InternalError);
  });
});
