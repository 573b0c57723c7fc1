// The debugfs collector against the recorded layout of /sys/kernel/debug/kvm with two VMs, rebuilt
// as real files: per-VM directories only, cumulative statistics only, and every way of being
// unavailable said in words.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DebugfsCollector, describeReadError, vmDirectories } from '../../../harness/collectors/debugfs.ts';
import { kvmX86Stats } from '../../../harness/collectors/kvm-stats-catalog.ts';
import type { CollectorTarget, Window } from '../../../harness/collectors/types.ts';
import type { QmpClient } from '../../../harness/vm/qmp.ts';
import { buildDebugfsTree, parseLsListing, setCounter } from './debugfs-tree.ts';
import { fixtureText } from './fixtures.ts';

const listing = fixtureText('debugfs', 'debugfs_kvm_layout_2vms.txt');
const entries = parseLsListing(listing);
const roots: string[] = [];
const tree = () => {
  const root = buildDebugfsTree(entries);
  roots.push(root);
  return root;
};
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// The debugfs collector never talks to QMP; targets only need a guest name and a QEMU pid.
const target = (guest: string, qemuPid: number): CollectorTarget => ({ guest, qemuPid, qmp: undefined as unknown as QmpClient });
const window: Window = { kind: 'measure', backend: 'e1000', scenario: 'tcp', rep: 0, warmup: false };
const noMounts = () => {
  const dir = mkdtempSync(join(tmpdir(), 'iopath-mounts-'));
  roots.push(dir);
  writeFileSync(join(dir, 'mounts'), 'proc /proc proc rw 0 0\n');
  return join(dir, 'mounts');
};

describe('the recorded layout', () => {
  it('has two VM directories with vCPU folders and the host-wide sums at the top', () => {
    const root = tree();
    expect(vmDirectories(join(root, 'kvm'), 17367)).toEqual([join(root, 'kvm', '17367-13')]);
    expect(vmDirectories(join(root, 'kvm'), 17378)).toEqual([join(root, 'kvm', '17378-13')]);
    expect(entries.filter((e) => e.directory).map((e) => e.path)).toEqual([
      'kvm/17367-13',
      'kvm/17378-13',
      'kvm/17367-13/vcpu0',
      'kvm/17367-13/vcpu1',
      'kvm/17378-13/vcpu0',
      'kvm/17378-13/vcpu1',
    ]);
    expect(entries.find((e) => e.path === 'kvm/17367-13/exits')!.mode).toBe(0o644);
    expect(entries.find((e) => e.path === 'kvm/17367-13/pages_4k')!.mode).toBe(0o444);
  });

  it('modes agree with the catalogue: 0444 files are instant statistics', () => {
    for (const e of entries.filter((x) => /^kvm\/17367-13\/[a-z_0-9]+$/.test(x.path) && !x.directory)) {
      const name = e.path.split('/').pop()!;
      const info = kvmX86Stats[name];
      if (!info) continue;
      expect(e.mode === 0o444, name).toBe(info.type === 'instant');
    }
  });
});

describe('DebugfsCollector', () => {
  it('gives per-VM deltas of cumulative statistics only, never the host-wide sums', async () => {
    const root = tree();
    const c = new DebugfsCollector({ accel: 'kvm', targets: [target('a', 17367), target('b', 17378)], root });
    setCounter(root, 'kvm/17367-13/exits', 1000);
    setCounter(root, 'kvm/17367-13/io_exits', 40);
    setCounter(root, 'kvm/17367-13/halt_wait_ns', 5_000_000_000);
    setCounter(root, 'kvm/17367-13/pages_4k', 9000);
    setCounter(root, 'kvm/17378-13/exits', 7);
    setCounter(root, 'kvm/exits', 123456);
    expect(await c.availability()).toEqual({ available: true });
    expect(c.notes()).toEqual(['statistics of unknown type left out: mmu_rmaps_stat']);

    await c.start(window);
    setCounter(root, 'kvm/17367-13/exits', 1500);
    setCounter(root, 'kvm/17367-13/io_exits', 140);
    setCounter(root, 'kvm/17367-13/halt_wait_ns', 6_500_000_000);
    setCounter(root, 'kvm/17367-13/pages_4k', 1);
    setCounter(root, 'kvm/17378-13/exits', 10);
    setCounter(root, 'kvm/exits', 999999);
    const samples = await c.stop(window);

    const of = (guest: string, stat: string) => samples.find((s) => s.dims?.guest === guest && s.dims.stat === stat);
    expect(of('a', 'exits')).toEqual({ metric: 'exits', value: 500, unit: 'count', source: 'debugfs', dims: { guest: 'a', stat: 'exits' } });
    expect(of('a', 'io_exits')!.value).toBe(100);
    expect(of('a', 'halt_wait_ns')).toMatchObject({ metric: 'kvmStat', unit: 's' });
    expect(of('a', 'halt_wait_ns')!.value).toBeCloseTo(1.5, 9);
    expect(of('a', 'pages_4k')).toBeUndefined();
    expect(of('a', 'max_mmu_rmap_size')).toBeUndefined();
    expect(of('a', 'halt_wait_hist')).toBeUndefined();
    expect(of('b', 'exits')!.value).toBe(3);
    const cumulative = Object.values(kvmX86Stats).filter((i) => i.type === 'cumulative').length;
    expect(samples.filter((s) => s.dims?.guest === 'a')).toHaveLength(cumulative);
  });

  it('unmounted: says so and how to mount it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'iopath-nodebugfs-'));
    roots.push(root);
    const c = new DebugfsCollector({ accel: 'kvm', targets: [target('a', 17367)], root, mountsFile: noMounts() });
    expect(await c.availability()).toEqual({ available: false, reason: `debugfs is not mounted at ${root}`, fix: `mount -t debugfs none ${root}` });
  });

  it('mounted without a kvm folder: the module is not loaded', async () => {
    const root = mkdtempSync(join(tmpdir(), 'iopath-nokvm-'));
    roots.push(root);
    const mounts = join(root, 'mounts');
    writeFileSync(mounts, `debugfs ${root} debugfs rw,relatime 0 0\n`);
    const c = new DebugfsCollector({ accel: 'kvm', targets: [target('a', 17367)], root, mountsFile: mounts });
    const a = await c.availability();
    expect(a).toMatchObject({ available: false, reason: `${join(root, 'kvm')} does not exist: the kvm module is not loaded` });
  });

  it('absent VM directory: the guest does not run under KVM', async () => {
    const c = new DebugfsCollector({ accel: 'kvm', targets: [target('a', 424242)], root: tree() });
    const a = await c.availability();
    expect(a.available).toBe(false);
    if (!a.available) expect(a.reason).toMatch(/no .*\/kvm\/424242-<fd> directory for guest a \(QEMU pid 424242\)/);
  });

  it('under TCG there is nothing to read', async () => {
    const c = new DebugfsCollector({ accel: 'tcg', targets: [target('a', 17367)], root: tree() });
    expect((await c.availability()).available).toBe(false);
  });

  it('a counter that does not hold a number is a read failure', async () => {
    const root = tree();
    writeFileSync(join(root, 'kvm/17367-13/exits'), 'garbage\n');
    const c = new DebugfsCollector({ accel: 'kvm', targets: [target('a', 17367)], root });
    const a = await c.availability();
    expect(a.available).toBe(false);
    if (!a.available) expect(a.reason).toMatch(/not a number/);
  });

  it('start() refuses when unavailable', async () => {
    const c = new DebugfsCollector({ accel: 'tcg', targets: [target('a', 17367)], root: tree() });
    await expect(c.start(window)).rejects.toThrow(/debugfs is not available/);
  });
});

describe('describeReadError', () => {
  // The fixture records `cat: /sys/kernel/debug/kvm/17367-13/exits: Operation not permitted` as root.
  it('EPERM even as root', () => {
    const err = Object.assign(new Error('EPERM: operation not permitted, open'), { code: 'EPERM' });
    expect(listing).toMatch(/17367-13\/exits: Operation not permitted/);
    expect(describeReadError(err, '/sys/kernel/debug/kvm/17367-13/exits')).toMatch(/fails with EPERM .* even as root/);
  });

  it('EACCES asks for root', () => {
    expect(describeReadError(Object.assign(new Error('x'), { code: 'EACCES' }), '/x')).toMatch(/run iopath as root/);
  });
});
