// QEMU's own list of a device's properties (test/fixtures/qemu-device-help, captured from QEMU 7.2)
// parsed into names and types, and profile values checked against those types.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coerceValue, parseDeviceHelp, settable } from '../../harness/vm/device-help.ts';

const fixture = (driver: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'qemu-device-help', `${driver}.txt`), 'utf8');
const virtioHelp = () => parseDeviceHelp('virtio-net-pci', fixture('virtio-net-pci'));
const e1000Help = () => parseDeviceHelp('e1000', fixture('e1000'));

describe('-device <driver>,help', () => {
  it('lists every property of virtio-net-pci with its type and default', () => {
    const help = virtioHelp();
    expect(help.properties.size).toBeGreaterThan(60);
    expect(help.properties.get('event_idx')).toEqual({ name: 'event_idx', type: 'bool', default: 'true' });
    expect(help.properties.get('rx_queue_size')).toEqual({ name: 'rx_queue_size', type: 'uint16', default: '256' });
    expect(help.properties.get('disable-legacy')).toEqual({ name: 'disable-legacy', type: 'OnOffAuto', default: 'auto' });
    expect(help.properties.get('tx')).toEqual({ name: 'tx', type: 'str' });
    for (const p of ['mrg_rxbuf', 'indirect_desc', 'packed', 'csum', 'guest_csum', 'host_tso4', 'guest_tso4', 'mq', 'tx_queue_size']) expect(help.properties.has(p), p).toBe(true);
    // A QOM child is listed, but cannot be set on the command line.
    expect(settable(help.properties.get('virtio-backend')!)).toBe(false);
  });

  it('lists e1000 without any virtio property', () => {
    const help = e1000Help();
    expect(help.properties.get('mitigation')).toEqual({ name: 'mitigation', type: 'bool', default: 'true' });
    expect(help.properties.has('event_idx')).toBe(false);
    expect(help.properties.has('mq')).toBe(false);
  });

  it('refuses output that lists no property', () => {
    expect(() => parseDeviceHelp('virtio-net-pci', "qemu-system-x86_64: -device nosuch,help: Device 'nosuch' not found\n")).toThrow(/listed no property/);
  });
});

describe('profile values against property types', () => {
  const p = (name: string) => virtioHelp().properties.get(name)!;

  it('takes booleans as booleans or on/off', () => {
    expect(coerceValue(p('event_idx'), false)).toEqual({ value: false });
    expect(coerceValue(p('event_idx'), 'on')).toEqual({ value: true });
    expect(coerceValue(p('event_idx'), 'maybe')).toEqual({ error: expect.stringMatching(/"maybe" is not a boolean/) });
    expect(coerceValue(p('event_idx'), 1)).toEqual({ error: expect.stringMatching(/not a boolean/) });
  });

  it('takes integers within the range of their type', () => {
    expect(coerceValue(p('rx_queue_size'), 1024)).toEqual({ value: 1024 });
    expect(coerceValue(p('rx_queue_size'), '512')).toEqual({ value: 512 });
    expect(coerceValue(p('rx_queue_size'), 70000)).toEqual({ error: '70000 is out of range for uint16 (0 to 65535)' });
    expect(coerceValue(p('rx_queue_size'), 1.5)).toEqual({ error: expect.stringMatching(/not an integer/) });
    expect(coerceValue(p('x-txburst'), -1)).toEqual({ value: -1 });
  });

  it('takes on, off and auto for OnOffAuto, strings for str, and nothing for a child', () => {
    expect(coerceValue(p('disable-legacy'), 'auto')).toEqual({ value: 'auto' });
    expect(coerceValue(p('disable-legacy'), true)).toEqual({ value: 'on' });
    expect(coerceValue(p('disable-legacy'), 'sometimes')).toEqual({ error: expect.stringMatching(/not one of on, off, auto/) });
    expect(coerceValue(p('tx'), 'bh')).toEqual({ value: 'bh' });
    expect(coerceValue(p('virtio-backend'), 'x')).toEqual({ error: expect.stringMatching(/cannot be set/) });
  });
});
