// The collector set as the runner sees it: which collectors exist per accelerator, the QEMU options
// they need, and the group that starts and stops them together with failures isolated.

import { describe, expect, it } from 'vitest';
import { collectorArgs, CollectorGroup, createCollectors } from '../../../harness/collectors/index.ts';
import type { Collector, CollectorTarget, Window } from '../../../harness/collectors/types.ts';
import type { Sample } from '../../../harness/samples.ts';
import type { QmpClient } from '../../../harness/vm/qmp.ts';

const window: Window = { kind: 'idle', backend: 'e1000', scenario: 'tcp', rep: 0, warmup: false };

/** A minimal collector that counts calls (the group's contract, not a stand-in for a tool). */
class Counting implements Collector {
  readonly source = 'test';
  calls: string[] = [];
  constructor(
    readonly id: string,
    private readonly behaviour: { available?: boolean; failStart?: boolean; failStop?: boolean } = {},
  ) {}
  async availability() {
    return this.behaviour.available === false ? { available: false as const, reason: `${this.id} cannot` } : { available: true as const };
  }
  async start() {
    this.calls.push('start');
    if (this.behaviour.failStart) throw new Error(`${this.id} start failed`);
  }
  async stop(): Promise<Sample[]> {
    this.calls.push('stop');
    if (this.behaviour.failStop) throw new Error(`${this.id} stop failed`);
    return [{ metric: 'exits', value: 1, unit: 'count', source: this.id }];
  }
  async close() {
    this.calls.push('close');
  }
  notes() {
    return [`${this.id} note`];
  }
}

describe('CollectorGroup', () => {
  it('runs only available collectors and isolates failures per collector', async () => {
    const ok = new Counting('ok');
    const off = new Counting('off', { available: false });
    const badStart = new Counting('bad-start', { failStart: true });
    const badStop = new Counting('bad-stop', { failStop: true });
    const group = new CollectorGroup([ok, off, badStart, badStop]);
    const statuses = await group.prepare();
    expect(statuses.map((s) => [s.id, s.availability.available, s.notes])).toEqual([
      ['ok', true, ['ok note']],
      ['off', false, ['off note']],
      ['bad-start', true, ['bad-start note']],
      ['bad-stop', true, ['bad-stop note']],
    ]);
    await group.start(window);
    const result = await group.stop(window);
    expect(result.samples).toEqual([{ metric: 'exits', value: 1, unit: 'count', source: 'ok' }]);
    expect(result.failures.map((f) => [f.id, f.phase])).toEqual([
      ['bad-start', 'start'],
      ['bad-stop', 'stop'],
    ]);
    expect(result.durationSec).toBeGreaterThanOrEqual(0);
    expect(off.calls).toEqual([]);
    expect(badStart.calls).toEqual(['start']);
    expect(await group.close()).toEqual([]);
    expect(await group.close()).toEqual([]);
    expect(ok.calls).toEqual(['start', 'stop', 'close']);
  });

  it('refuses to start a window while one is running', async () => {
    const group = new CollectorGroup([new Counting('ok')]);
    await group.prepare();
    await group.start(window);
    await expect(group.start(window)).rejects.toThrow(/not stopped/);
  });
});

describe('createCollectors and collectorArgs', () => {
  const targets: CollectorTarget[] = [
    { guest: 'a', qemuPid: 11, qmp: undefined as unknown as QmpClient, traceFile: '/tmp/a.trace' },
    { guest: 'b', qemuPid: 12, qmp: undefined as unknown as QmpClient, traceFile: '/tmp/b.trace' },
  ];

  it('creates all six collectors; the ones that cannot work under TCG say why', async () => {
    const collectors = createCollectors({ accel: 'tcg', targets, dir: '/tmp/iopath-test-collectors' });
    expect(collectors.map((c) => c.id)).toEqual(['perf-kvm', 'perf-kvm-exit-reasons', 'debugfs', 'qmp-stats', 'tcg-trace', 'host-cpu']);
    for (const c of collectors.filter((x) => ['perf-kvm', 'perf-kvm-exit-reasons', 'debugfs', 'qmp-stats'].includes(x.id))) {
      const a = await c.availability();
      expect(a.available, c.id).toBe(false);
      if (!a.available) expect(a.reason, c.id).toMatch(/TCG/);
    }
  });

  it('under KVM, tcg-trace says it is for software emulation only', async () => {
    const [trace] = createCollectors({ accel: 'kvm', targets, dir: '/tmp/iopath-test-collectors', options: { only: ['tcg-trace'] } });
    expect(await trace!.availability()).toMatchObject({ available: false, reason: expect.stringMatching(/software emulation only/) });
  });

  it('QEMU options: thread names always, the trace log under TCG only', () => {
    expect(collectorArgs('kvm', { traceFile: '/r/a.trace' })).toEqual(['-name', 'debug-threads=on']);
    expect(collectorArgs('tcg', { traceFile: '/r/a.trace' })).toEqual(['-name', 'debug-threads=on', '-D', '/r/a.trace']);
    expect(collectorArgs('tcg')).toEqual(['-name', 'debug-threads=on']);
  });
});
