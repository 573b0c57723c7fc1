// Real software-emulation collectors on a QEMU started with -accel tcg, an e1000 and its firmware:
// iPXE in the e1000 option ROM reads and writes the NIC's registers, so the window must count
// `e1000-mmio` device accesses from QEMU's own trace events, and only inside the window; the
// emulation keeps the vCPU thread busy, so host-cpu must see its CPU time.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { collectorArgs, CollectorGroup, createCollectors, type CollectorStatus, type WindowResult } from '../../../harness/collectors/index.ts';
import { TcgTraceCollector } from '../../../harness/collectors/tcg-trace.ts';
import type { Window } from '../../../harness/collectors/types.ts';
import { sleep } from '../../../harness/host/proc.ts';
import { Scope } from '../../../harness/host/scope.ts';
import type { Sample } from '../../../harness/samples.ts';
import { needs } from '../../helpers/host.ts';
import { qemuMissing, resume, startFirmwareGuest, type FirmwareGuest } from './firmware-qemu.ts';

const tcg = needs('TCG collector tests', await qemuMissing());

const measure: Window = { kind: 'measure', backend: 'e1000', scenario: 'firmware', rep: 0, warmup: false };
const idle: Window = { ...measure, kind: 'idle' };
const sum = (samples: Sample[], pred: (s: Sample) => boolean) => samples.filter(pred).reduce((a, s) => a + s.value, 0);

tcg.describe('collectors on a TCG guest whose e1000 firmware polls the NIC', () => {
  const scope = new Scope('collectors on TCG firmware');
  let guest: FirmwareGuest;
  let dir: string;
  let traceFile: string;
  let group: CollectorGroup;
  let trace: TcgTraceCollector;
  let statuses: CollectorStatus[];
  let busy: WindowResult;
  let paused: WindowResult;
  let traceFileAfter: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iopath-collectors-tcg-'));
    scope.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
    traceFile = join(dir, 'fw.trace');
    guest = await startFirmwareGuest(scope, {
      accel: 'tcg',
      name: 'fw',
      extraArgs: [...collectorArgs('tcg', { traceFile }), '-device', 'e1000,mac=52:54:00:12:34:56'],
    });
    const collectors = createCollectors({
      accel: 'tcg',
      targets: [{ guest: 'fw', qemuPid: guest.pid, qmp: guest.qmp, traceFile }],
      dir: join(dir, 'collectors'),
      scope,
      options: { only: ['tcg-trace', 'host-cpu', 'perf-kvm'] },
    });
    trace = collectors.find((c) => c.id === 'tcg-trace') as TcgTraceCollector;
    group = new CollectorGroup(collectors);
    scope.defer('close collectors', async () => {
      await group.close();
    });
    statuses = await group.prepare();
    for (const s of statuses) console.log(`${s.id}: ${s.availability.available ? 'available' : `unavailable: ${s.availability.reason}`}`);

    // Idle window first, with the guest paused: nothing may be counted.
    await group.start(idle);
    await sleep(500);
    paused = await group.stop(idle);

    // Once resumed, SeaBIOS touches the NIC a few times in its first 0.25 s, then nothing for some
    // 1.7 s; from about 2 s iPXE polls it, some 400,000 accesses a second (measured on this kind of
    // host). The window is long enough that slices of the default sampling land in the polling.
    await group.start(measure);
    await resume(guest);
    await sleep(4000);
    busy = await group.stop(measure);
    const cost = trace.lastWindowCost[0];
    if (cost) console.log(`trace window log: ${cost.bytes} bytes, ${cost.lines} lines, counted in ${cost.countMs} ms`);
    for (const s of busy.samples) console.log(`  ${s.metric} ${JSON.stringify(s.dims)} = ${s.value}`);
    traceFileAfter = readFileSync(traceFile, 'utf8');
  });

  afterAll(() => scope.close());

  it('tcg-trace is available and the KVM collectors say why not', () => {
    expect(statuses.find((s) => s.id === 'tcg-trace')!.availability).toEqual({ available: true });
    const perf = statuses.find((s) => s.id === 'perf-kvm')!.availability;
    expect(perf.available).toBe(false);
    if (!perf.available) expect(perf.reason).toMatch(/TCG/);
    expect(busy.failures).toEqual([]);
  });

  it('counts e1000-mmio device accesses inside the window, labelled as device accesses', () => {
    const e1000 = busy.samples.filter((s) => s.metric === 'deviceAccesses' && s.dims?.region === 'e1000-mmio');
    expect(e1000).toHaveLength(1);
    expect(e1000[0]!.value).toBeGreaterThan(0);
    expect(e1000[0]).toMatchObject({ unit: 'count', source: 'tcg-trace', dims: { guest: 'fw', region: 'e1000-mmio' } });
    expect(busy.samples.some((s) => s.metric === 'exits')).toBe(false);
  });

  it('counts nothing while the guest is paused, and logs nothing between windows', () => {
    expect(sum(paused.samples, (s) => s.metric === 'deviceAccesses')).toBe(0);
    expect(traceFileAfter).not.toMatch(/memory_region_ops_/);
    expect(statSync(traceFile).size).toBe(Buffer.byteLength(traceFileAfter));
  });

  it('removes the per-window logs after counting them', () => {
    expect(trace.lastWindowCost).toHaveLength(1);
    expect(trace.lastWindowCost[0]!.lines).toBeGreaterThan(0);
    expect(readdirSync(join(dir, 'collectors', 'tcg-trace'))).toEqual([]);
  });

  it('host CPU: the busy emulated vCPU thread used CPU time in the window', () => {
    const vcpu = busy.samples.filter((s) => s.metric === 'hostCpu' && s.dims?.role === 'qemu fw' && s.dims.kind === 'vcpu');
    expect(vcpu).toHaveLength(1);
    expect(vcpu[0]!.value).toBeGreaterThan(0);
  });
});
