// tcg-trace's sampling: the events are on for a slice of every period and the counts are scaled to
// the whole window. A scripted QEMU stands in for the real one (its QMP answers, and an emulated
// device that logs an access every 10 ms to the current log file while the event is on); the clock is
// vitest's, so the slices are exact. The real QEMU is in test/integration/collectors.

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TcgTraceCollector } from '../../../harness/collectors/tcg-trace.ts';
import type { CollectorTarget, Window } from '../../../harness/collectors/types.ts';
import { regionRole } from '../../../harness/report/costs.ts';

const window: Window = { kind: 'measure', backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false };
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'iopath-trace-sampling-'));
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

/** A QEMU whose e1000 is accessed every 10 ms; the access is logged when the event is on. */
function scriptedQemu(): { target: CollectorTarget; toggles: number; enabled: Set<string> } {
  const traceFile = join(dir, 'a.trace');
  writeFileSync(traceFile, '');
  const state = { file: traceFile, on: new Set<string>(), toggles: 0, enabled: new Set<string>() };
  setInterval(() => {
    if (state.on.has('memory_region_ops_write')) appendFileSync(state.file, "memory_region_ops_write cpu 0 mr 0x1 addr 0x0 value 0x0 size 4 name 'e1000-mmio'\n");
  }, 10);
  const qmp = {
    execute: async (command: string, args?: Record<string, unknown>) => {
      if (command === 'human-monitor-command') state.file = String(args!['command-line']).replace(/^logfile /, '');
      if (command === 'trace-event-set-state') {
        if (args!.enable) {
          state.on.add(String(args!.name));
          state.enabled.add(String(args!.name));
        } else state.on.delete(String(args!.name));
        state.toggles++;
      }
      return command === 'human-monitor-command' ? '' : [];
    },
  };
  const result = { target: { guest: 'a', qemuPid: 1, qmp: qmp as unknown as CollectorTarget['qmp'], traceFile }, get toggles() { return state.toggles; }, enabled: state.enabled };
  return result;
}

async function countOver(ms: number, sample?: { periodMs: number; onMs: number } | false): Promise<{ value: number; tracedMs: number; windowMs: number }> {
  const q = scriptedQemu();
  const c = new TcgTraceCollector({ accel: 'tcg', targets: [q.target], dir: join(dir, 'windows'), ...(sample === undefined ? {} : { sample }) });
  expect(await c.availability()).toEqual({ available: true });
  await c.start(window);
  await vi.advanceTimersByTimeAsync(ms);
  const samples = await c.stop(window);
  const e1000 = samples.find((s) => s.dims?.region === 'e1000-mmio');
  return { value: e1000?.value ?? 0, tracedMs: c.lastWindowCost[0]!.tracedMs, windowMs: c.lastWindowCost[0]!.windowMs };
}

describe('tcg-trace events', () => {
  it('turns on only events whose lines are counted: device accesses and kicks, not the device interrupting the guest', async () => {
    const q = scriptedQemu();
    const c = new TcgTraceCollector({ accel: 'tcg', targets: [q.target], dir: join(dir, 'windows'), sample: false });
    await c.start(window);
    await vi.advanceTimersByTimeAsync(100);
    await c.stop(window);
    expect([...q.enabled].sort()).toEqual(['memory_region_ops_read', 'memory_region_ops_write', 'virtio_queue_notify']);
    // Each traced event that is not a memory-region access becomes a region of its own name; the report must count it.
    for (const name of q.enabled) if (!name.startsWith('memory_region_ops_')) expect(regionRole(name), name).toEqual({ counted: true });
    for (const name of ['virtio_notify', 'virtio_notify_irqfd']) expect(regionRole(name).counted, name).toBe(false);
  });
});

describe('tcg-trace sampling', () => {
  it('traces the whole window when sampling is off: the exact count', async () => {
    const r = await countOver(4000, false);
    expect(r.value).toBeGreaterThanOrEqual(399);
    expect(r.value).toBeLessThanOrEqual(400);
    expect(r.tracedMs).toBe(4000);
  });

  it('traces 250 ms of every second and scales the count to the window', async () => {
    const r = await countOver(4000, { periodMs: 1000, onMs: 250 });
    expect(r.tracedMs).toBe(1000);
    expect(r.windowMs).toBe(4000);
    // 100 logged accesses in the traced quarter, times four.
    expect(r.value).toBeGreaterThanOrEqual(392);
    expect(r.value).toBeLessThanOrEqual(408);
  });

  it("by default traces an eighth of every second, from the window's start", async () => {
    const r = await countOver(4000);
    expect(r.tracedMs).toBe(500);
    expect(r.windowMs).toBe(4000);
    expect(r.value).toBeGreaterThanOrEqual(384);
    expect(r.value).toBeLessThanOrEqual(416);
  });

  it('a window that ends inside a slice counts the part of the slice it traced', async () => {
    const r = await countOver(1100, { periodMs: 1000, onMs: 250 });
    expect(r.tracedMs).toBe(350);
    expect(r.value).toBeGreaterThanOrEqual(1100 / 10 - 4);
    expect(r.value).toBeLessThanOrEqual(1100 / 10 + 4);
  });
});
