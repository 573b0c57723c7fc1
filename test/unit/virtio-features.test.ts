// The virtio feature table: bit numbers from the spec, the QEMU property of each, decoding of the
// guest's sysfs features string, and which of a variant's properties the guests did not get.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeviceHelp } from '../../harness/vm/device-help.ts';
import { decodeVirtioFeatures, featureBits, featureOfProperty, featureShortName, VIRTIO_FEATURES } from '../../harness/vm/virtio-features.ts';
import { featureNames, findRefused } from '../../harness/workloads/features.ts';

/** A sysfs features string with exactly these bits set (64 bits, as the kernel prints them). */
const bitsOf = (...bits: number[]) => Array.from({ length: 64 }, (_, i) => (bits.includes(i) ? '1' : '0')).join('');

/** What a Linux 6.1 guest negotiated with QEMU 7.2's virtio-net-pci on a tap (vhost=off), read from sysfs. */
const DEFAULTS = bitsOf(0, 1, 2, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 27, 28, 29, 32);

describe('virtio feature table', () => {
  it('has the spec numbers of the bits a variant switches', () => {
    const bit = (name: string) => VIRTIO_FEATURES.find((f) => f.name === name)?.bit;
    expect(bit('VIRTIO_NET_F_CSUM')).toBe(0);
    expect(bit('VIRTIO_NET_F_GUEST_CSUM')).toBe(1);
    expect(bit('VIRTIO_NET_F_GUEST_TSO4')).toBe(7);
    expect(bit('VIRTIO_NET_F_HOST_TSO4')).toBe(11);
    expect(bit('VIRTIO_NET_F_MRG_RXBUF')).toBe(15);
    expect(bit('VIRTIO_NET_F_MQ')).toBe(22);
    expect(bit('VIRTIO_RING_F_INDIRECT_DESC')).toBe(28);
    expect(bit('VIRTIO_RING_F_EVENT_IDX')).toBe(29);
    expect(bit('VIRTIO_F_VERSION_1')).toBe(32);
    expect(bit('VIRTIO_F_RING_PACKED')).toBe(34);
    expect(new Set(VIRTIO_FEATURES.map((f) => f.bit)).size).toBe(VIRTIO_FEATURES.length);
  });

  it('maps every feature property to a property QEMU 7.2 lists for virtio-net-pci (or to a newer one)', () => {
    const help = parseDeviceHelp('virtio-net-pci', readFileSync(join(import.meta.dirname, '..', 'fixtures', 'qemu-device-help', 'virtio-net-pci.txt'), 'utf8'));
    const newer = ['guest_uso4', 'guest_uso6', 'host_uso'];
    for (const f of VIRTIO_FEATURES.filter((x) => x.property && !newer.includes(x.property))) expect(help.properties.get(f.property!)?.type, f.property).toBe('bool');
    expect(featureOfProperty('event_idx')?.name).toBe('VIRTIO_RING_F_EVENT_IDX');
    expect(featureOfProperty('rx_queue_size')).toBeUndefined();
  });

  it('decodes the sysfs string, bit 0 first, to the short names run.json has always used', () => {
    expect(featureBits(bitsOf(0, 29, 34))).toEqual([0, 29, 34]);
    expect(decodeVirtioFeatures(bitsOf(0, 1, 15, 28, 29, 32, 34))).toEqual(['CSUM', 'GUEST_CSUM', 'MRG_RXBUF', 'RING_INDIRECT_DESC', 'RING_EVENT_IDX', 'VERSION_1', 'RING_PACKED']);
    expect(featureShortName(4)).toBe('bit4');
    expect(decodeVirtioFeatures('garbage')).toEqual([]);
    expect(featureNames({ virtioBits: bitsOf(0, 32) })).toEqual(['virtio:CSUM', 'virtio:VERSION_1']);
    expect(featureNames({ driver: 'e1000', offloads: { 'tcp-segmentation-offload': true, 'rx-checksumming': false } })).toEqual(['driver:e1000', 'offload:tcp-segmentation-offload']);
  });
});

describe('properties the guests did not get', () => {
  it('finds nothing when the bits follow the properties', () => {
    const off29 = DEFAULTS.slice(0, 29) + '0' + DEFAULTS.slice(30);
    expect(findRefused({ event_idx: false }, { a: { virtioBits: off29 }, b: { virtioBits: off29 } })).toEqual([]);
    expect(findRefused({ packed: true }, { a: { virtioBits: bitsOf(34) } })).toEqual([]);
  });

  it('names a property asked off whose bit was negotiated, and one asked on that was not, per guest', () => {
    const refused = findRefused({ event_idx: false, packed: true, rx_queue_size: 1024 }, { a: { virtioBits: DEFAULTS }, b: { virtioBits: DEFAULTS } });
    expect(refused).toEqual([
      { guest: 'a', property: 'event_idx', feature: 'VIRTIO_RING_F_EVENT_IDX', asked: false, negotiated: true },
      { guest: 'a', property: 'packed', feature: 'VIRTIO_F_RING_PACKED', asked: true, negotiated: false },
      { guest: 'b', property: 'event_idx', feature: 'VIRTIO_RING_F_EVENT_IDX', asked: false, negotiated: true },
      { guest: 'b', property: 'packed', feature: 'VIRTIO_F_RING_PACKED', asked: true, negotiated: false },
    ]);
  });

  it('does not judge a guest whose NIC exposes no virtio bits', () => {
    expect(findRefused({ event_idx: false }, { a: { driver: 'e1000', offloads: {} } })).toEqual([]);
  });
});
