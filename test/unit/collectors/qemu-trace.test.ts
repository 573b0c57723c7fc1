// QEMU 7.2 `log` trace backend lines (recorded from TCG guests on the development machine: SeaBIOS
// and iPXE with an e1000, and a Linux guest with virtio-net under iperf3) counted by region.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countTraceLines, TraceLineCounter } from '../../../harness/collectors/parse/qemu-trace.ts';
import { countFile } from '../../../harness/collectors/tcg-trace.ts';

const RECORDED = `memory_region_ops_write cpu 0 mr 0x5611184526d0 addr 0x70 value 0x8f size 1 name 'rtc-index'
memory_region_ops_read cpu 0 mr 0x5611184525c0 addr 0x71 value 0x0 size 1 name 'rtc'
memory_region_ops_read cpu 0 mr 0x561117c056d0 addr 0x92 value 0x0 size 1 name 'port92'
memory_region_ops_write cpu 0 mr 0x561117c056d0 addr 0x92 value 0x2 size 1 name 'port92'
memory_region_ops_write cpu 0 mr 0x56176c6080e0 addr 0x20 value 0x20 size 1 name 'pic'
virtio_queue_notify vdev 0x55f8998a0500 n 1 vq 0x7f67ff7b70a8
virtio_queue_notify vdev 0x55f8998a0500 n 1 vq 0x7f67ff7b70a8
virtio_notify vdev 0x55f8998a0500 vq 0x7f67ff7b70a8
virtio_notify vdev 0x55f8998a0500 vq 0x7f67ff7b7010
memory_region_ops_write cpu -1 mr 0x55f898d19de0 addr 0xfee01004 value 0x29 size 4 name 'apic-msi'
memory_region_ops_write cpu 0 mr 0x55f898d19de0 addr 0xfee000b0 value 0x0 size 4 name 'apic-msi'
memory_region_ops_read cpu 0 mr 0x55f898c5b240 addr 0x2fa value 0xc4 size 1 name 'serial'
memory_region_ops_read cpu 0 mr 0x55f899481260 addr 0xfed000f0 value 0xbadee20d size 4 name 'hpet'
`;

describe('countTraceLines', () => {
  it('counts accesses by region and virtio notifications by event', () => {
    const c = countTraceLines(RECORDED);
    expect(Object.fromEntries(c.byRegion)).toEqual({
      'rtc-index': 1,
      rtc: 1,
      port92: 2,
      pic: 1,
      virtio_queue_notify: 2,
      virtio_notify: 2,
      'apic-msi (from device)': 1,
      'apic-msi': 1,
      serial: 1,
      hpet: 1,
    });
    expect(c).toMatchObject({ reads: 4, writes: 5, lines: 13, otherLines: 0 });
  });

  it('accepts the pid@time: prefix of -msg timestamp=on and keeps other log lines apart', () => {
    const c = countTraceLines(
      "1234@1690000000.123456:memory_region_ops_read cpu 0 mr 0x1 addr 0x8 value 0x80080783 size 4 name 'e1000-mmio'\n" +
        'qemu-system-x86_64: warning: nic e1000.0 has no peer\n' +
        'virtio_set_status vdev 0x55 val 15\n',
    );
    expect(Object.fromEntries(c.byRegion)).toEqual({ 'e1000-mmio': 1 });
    expect(c.otherLines).toBe(2);
  });

  it('gives the same counts however the text is split into chunks', () => {
    const whole = countTraceLines(RECORDED);
    const counter = new TraceLineCounter();
    for (let i = 0; i < RECORDED.length; i += 7) counter.push(RECORDED.slice(i, i + 7));
    expect(counter.end()).toEqual(whole);
  });

  it('counts a file in a stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-trace-'));
    try {
      const file = join(dir, 'w.trace.log');
      writeFileSync(file, RECORDED.repeat(5000));
      const c = await countFile(file);
      expect(c.lines).toBe(13 * 5000);
      expect(c.byRegion.get('port92')).toBe(10_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
