// Real collectors around a real window on a QEMU started with -accel kvm that runs only SeaBIOS:
// the window opens while the guest is paused, the firmware then runs inside it, and each collector
// must see its port and MMIO exits through its own source (perf on the QEMU pid, QMP query-stats),
// or say precisely why it cannot (debugfs EPERM or unmounted, kvm:kvm_exit silent on PVM).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DebugfsCollector } from '../../../harness/collectors/debugfs.ts';
import { kvmFlavour, perfInfo } from '../../../harness/collectors/host-probe.ts';
import { collectorArgs, CollectorGroup, createCollectors, type CollectorStatus, type WindowResult } from '../../../harness/collectors/index.ts';
import { KvmStatLiveSession } from '../../../harness/collectors/kvm-stat-live.ts';
import { totalsByEvent } from '../../../harness/collectors/parse/perf-stat.ts';
import { PerfStatSession } from '../../../harness/collectors/perf-session.ts';
import type { Window } from '../../../harness/collectors/types.ts';
import { runCommand, sleep } from '../../../harness/host/proc.ts';
import { Scope } from '../../../harness/host/scope.ts';
import type { Sample } from '../../../harness/samples.ts';
import { needs } from '../../helpers/host.ts';
import { kvmMissing, notRoot, resume, startFirmwareGuest, type FirmwareGuest } from './firmware-qemu.ts';

const probeScope = new Scope('kvm probe');
const dir = mkdtempSync(join(tmpdir(), 'iopath-collectors-kvm-'));
const root = notRoot();
// Root is what `npm test` expects of a CI machine; a KVM that runs guests is not (no virtualization).
const onKvm = root ? needs('KVM collector tests', root) : needs('KVM collector tests', await kvmMissing(probeScope), { ciMayLack: true });
await probeScope.close();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const perf = needs('perf collector tests', onKvm.reason ? undefined : await perfInfo().then(() => undefined, (err: Error) => `perf is not usable: ${err.message}`));

const window: Window = { kind: 'measure', backend: 'firmware', scenario: 'seabios', rep: 0, warmup: false };
const find = (samples: Sample[], dims: Record<string, string | number>) =>
  samples.filter((s) => Object.entries(dims).every(([k, v]) => s.dims?.[k] === v));

onKvm.describe('collectors on a KVM guest running its firmware', () => {
  const scope = new Scope('collectors on KVM firmware');
  let guest: FirmwareGuest;
  let statuses: CollectorStatus[];
  let result: WindowResult;

  beforeAll(async () => {
    guest = await startFirmwareGuest(scope, { accel: 'kvm', name: 'fw', extraArgs: collectorArgs('kvm') });
    const collectors = createCollectors({
      accel: 'kvm',
      targets: [{ guest: 'fw', qemuPid: guest.pid, qmp: guest.qmp }],
      dir,
      scope,
    });
    const group = new CollectorGroup(collectors);
    scope.defer('close collectors', async () => {
      await group.close();
    });
    statuses = await group.prepare();
    for (const s of statuses) console.log(`${s.id}: ${s.availability.available ? 'available' : `unavailable: ${s.availability.reason}`}${s.notes.length ? ` [${s.notes.join('; ')}]` : ''}`);
    await group.start(window);
    await resume(guest);
    // The window: SeaBIOS probes its devices, finds nothing to boot and keeps retrying.
    await sleep(3000);
    result = await group.stop(window);
    for (const s of result.samples.filter((x) => x.value !== 0 && x.metric !== 'kvmStat')) console.log(`  ${s.metric} ${JSON.stringify(s.dims)} = ${s.value} (${s.source})`);
    if (result.failures.length) console.log(result.failures);
  });

  afterAll(() => scope.close());

  const status = (id: string) => statuses.find((s) => s.id === id)!;

  perf.it('perf counts the port and MMIO exits of the guest\'s own QEMU process', () => {
    expect(status('perf-kvm').availability).toEqual({ available: true });
    expect(result.failures).toEqual([]);
    const pio = find(result.samples, { guest: 'fw', event: 'kvm:kvm_pio' });
    const mmio = find(result.samples, { guest: 'fw', event: 'kvm:kvm_mmio' });
    expect(pio).toHaveLength(1);
    expect(mmio).toHaveLength(1);
    expect(pio[0]!.value + mmio[0]!.value).toBeGreaterThan(0);
    expect(pio[0]!.value).toBeGreaterThan(0);
    expect(find(result.samples, { guest: 'fw', event: 'kvm:kvm_userspace_exit' })[0]!.value).toBeGreaterThan(0);
    if (kvmFlavour() === 'pvm') {
      expect(find(result.samples, { event: 'kvm:kvm_exit' })).toEqual([]);
      expect(status('perf-kvm').notes.join(' ')).toMatch(/kvm:kvm_exit left out: .*PVM/);
    }
  });

  it('QMP query-stats gives non-zero kvm exit statistics per vCPU', () => {
    expect(status('qmp-stats').availability).toEqual({ available: true });
    const exits = find(result.samples, { guest: 'fw', vcpu: 0, stat: 'exits' });
    expect(exits).toHaveLength(1);
    expect(exits[0]!.value).toBeGreaterThan(0);
    expect(exits[0]!.source).toBe('qmp');
  });

  it('debugfs is either readable per VM or says precisely why not', () => {
    const a = status('debugfs').availability;
    if (a.available) {
      expect(find(result.samples, { guest: 'fw', stat: 'exits' })[0]!.value).toBeGreaterThan(0);
    } else {
      console.log(`debugfs: ${a.reason}${a.fix ? ` (fix: ${a.fix})` : ''}`);
      expect(a.reason).toMatch(/EPERM|not mounted|does not exist|no .* directory/);
    }
  });

  it('debugfs mounted at a private mount point: per-VM directory found, read refused or read', async () => {
    // debugfs is one superblock: a second mount shows the same kvm/ tree. Mounting it under a
    // temporary folder exercises the real kernel's answer without touching /sys/kernel/debug.
    const mountPoint = mkdtempSync(join(tmpdir(), 'iopath-debugfs-'));
    try {
      await runCommand(['mount', '-t', 'debugfs', 'none', mountPoint], { timeoutMs: 10_000 });
    } catch (err) {
      console.log(`cannot mount debugfs privately, not checked: ${(err as Error).message.split('\n')[0]}`);
      rmSync(mountPoint, { recursive: true, force: true });
      return;
    }
    try {
      const c = new DebugfsCollector({ accel: 'kvm', targets: [{ guest: 'fw', qemuPid: guest.pid, qmp: guest.qmp }], root: mountPoint });
      const a = await c.availability();
      console.log(`debugfs at ${mountPoint}: ${a.available ? 'readable' : a.reason}`);
      if (a.available) {
        await c.start(window);
        expect((await c.stop(window)).some((s) => s.dims?.stat === 'exits')).toBe(true);
      } else {
        expect(a.reason).toMatch(new RegExp(`${mountPoint}/kvm/${guest.pid}-\\d+/exits fails with EPERM`));
      }
    } finally {
      await runCommand(['umount', mountPoint], { timeoutMs: 10_000 });
      rmSync(mountPoint, { recursive: true, force: true });
    }
  });

  perf.it('exit reasons: per reason where kvm:kvm_exit fires, otherwise unavailable with the reason', () => {
    const a = status('perf-kvm-exit-reasons').availability;
    if (kvmFlavour() === 'vmx' || kvmFlavour() === 'svm') {
      expect(a).toEqual({ available: true });
      const reasons = result.samples.filter((s) => s.dims?.reason !== undefined);
      expect(reasons.reduce((sum, s) => sum + s.value, 0)).toBeGreaterThan(0);
    } else {
      expect(a.available).toBe(false);
      if (!a.available) expect(a.reason).toMatch(/kvm:kvm_exit never fires|no KVM module/);
      expect(result.samples.filter((s) => s.dims?.reason !== undefined)).toEqual([]);
    }
  });

  it('host CPU is accounted to the QEMU process by thread kind', () => {
    expect(status('host-cpu').availability).toEqual({ available: true });
    const cpu = find(result.samples, { role: 'qemu fw' });
    expect(cpu.map((s) => s.dims!.kind)).toContain('vcpu');
    expect(cpu.every((s) => s.metric === 'hostCpu' && s.value >= 0)).toBe(true);
  });
});

(onKvm.reason ? onKvm : perf).describe('the counting mechanisms behind the exit-reason strategies', () => {
  const local = new Scope('exit-reason mechanisms');
  afterAll(() => local.close());

  it('tracepoint filters split one tracepoint by a field, exactly (the filter strategy)', async () => {
    const guest = await startFirmwareGuest(local, { accel: 'kvm', name: 'filters' });
    const session = await PerfStatSession.start({
      perf: 'perf',
      events: [{ event: 'kvm:kvm_pio' }, { event: 'kvm:kvm_pio', filter: 'rw == 0' }, { event: 'kvm:kvm_pio', filter: 'rw == 1' }],
      pid: guest.pid,
      dir,
      label: 'filters',
      scope: local,
    });
    await resume(guest);
    await sleep(2000);
    const totals = totalsByEvent((await session.stop()).result);
    const [all, reads, writes] = [totals.get('kvm:kvm_pio')!, totals.get('kvm:kvm_pio#1')!, totals.get('kvm:kvm_pio#2')!];
    console.log(`kvm:kvm_pio total ${all} = reads ${reads} + writes ${writes}`);
    expect(all).toBeGreaterThan(0);
    expect(reads + writes).toBe(all);
  });

  it('perf kvm stat live runs per pid and its tables parse (the kvm-stat-live strategy)', async () => {
    const guest = await startFirmwareGuest(local, { accel: 'kvm', name: 'live' });
    const session = await KvmStatLiveSession.start({ perf: 'perf', pid: guest.pid, dir, label: 'live', scope: local });
    await resume(guest);
    await sleep(1500);
    const r = await session.stop();
    expect(r.tables.length).toBeGreaterThanOrEqual(1);
    expect(r.tables.every((t) => t.event === 'vmexit')).toBe(true);
    const samples = r.tables.reduce((n, t) => n + t.rows.reduce((m, row) => m + row.samples, 0), 0);
    console.log(`perf kvm stat live: ${r.tables.length} table(s), ${samples} exits (${kvmFlavour()} host)`);
    if (kvmFlavour() === 'pvm') expect(samples).toBe(0);
  });
});
