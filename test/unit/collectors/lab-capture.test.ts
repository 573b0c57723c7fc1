// The KVM collectors' parsers on output captured inside the nested KVM lab (test/fixtures/lab, see
// its README): a real KVM with AMD SVM exit reasons, where kvm:kvm_exit fires, debugfs is readable
// and QMP query-stats has the kvm provider, as on a bare-metal AMD host.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DebugfsCollector } from '../../../harness/collectors/debugfs.ts';
import { EXIT_REASONS, reasonCodes, reasonEventSpecs, reasonSamples } from '../../../harness/collectors/exit-reasons.ts';
import { parseKvmExitFormat } from '../../../harness/collectors/parse/kvm-exit-format.ts';
import { parsePerfKvmStat, samplesByKey } from '../../../harness/collectors/parse/perf-kvm-stat.ts';
import { parsePerfStat, totalsByEvent } from '../../../harness/collectors/parse/perf-stat.ts';
import { cumulativeDeltas, parseQueryStats, parseStatsSchemas } from '../../../harness/collectors/parse/qmp-stats.ts';
import { qmpStatSamples, vcpuIndexByQomPath } from '../../../harness/collectors/qmp-stats.ts';
import type { CollectorTarget, Window } from '../../../harness/collectors/types.ts';
import type { QmpClient } from '../../../harness/vm/qmp.ts';
import { buildDebugfsTree, parseLsListing, setCounter } from './debugfs-tree.ts';
import { fixtureText } from './fixtures.ts';

const lab = (name: string) => fixtureText('lab', name);

describe('perf kvm stat on an SVM host', () => {
  it('report: every exit reason of a guest boot by its SVM name, names with a space included', () => {
    const r = parsePerfKvmStat(lab('perf-kvm-stat-report_event-vmexit.stderr.txt'));
    const [table] = r.tables;
    expect(table!.event).toBe('vmexit');
    expect(table!.rows.map((row) => row.key)).toEqual([
      'io',
      'npf',
      'interrupt',
      'msr',
      'cpuid',
      'vintr',
      'write_cr4',
      'read_cr4',
      'hlt',
      'read_cr0',
      'write_cr0',
      'cr0_sel_write',
      'read_dr0',
      'write_dr0',
      'UD excp',
    ]);
    // The rows account for the footer's total: no row was lost.
    expect(table!.totalSamples).toBe(51698);
    expect(r.warnings).toEqual([]);
    expect(samplesByKey(r).get('npf')).toBe(11702);
  });

  it('report --event=ioport and --event=mmio: the PCI config, serial and e1000 register accesses of that boot', () => {
    const io = parsePerfKvmStat(lab('perf-kvm-stat-report_event-ioport.stderr.txt'));
    expect(io.tables[0]!.event).toBe('ioport');
    expect(samplesByKey(io, 'ioport').get('0xcf8:POUT')).toBe(17123);
    expect(samplesByKey(io, 'ioport').get('0x3f8:POUT')).toBe(62);
    expect(io.warnings).toEqual([]);
    const mmio = parsePerfKvmStat(lab('perf-kvm-stat-report_event-mmio.stderr.txt'));
    expect(mmio.tables[0]!.event).toBe('mmio');
    // 0xfebc0000 is the e1000's register BAR: its driver reads the EEPROM by bit-banging EECD
    // (+0x10) and polls STATUS (+0x08), every access an exit.
    const e1000 = [...samplesByKey(mmio, 'mmio')].filter(([k]) => k.startsWith('0xfebc')).reduce((a, [, v]) => a + v, 0);
    expect(e1000).toBeGreaterThan(10_000);
    expect(mmio.warnings).toEqual([]);
  });

  it('live: one table per display with its time stamp; the sum over displays by reason', () => {
    const r = parsePerfKvmStat(lab('perf-kvm-stat-live_-d2.txt'));
    expect(r.tables.length).toBeGreaterThanOrEqual(3);
    expect(r.tables.every((t) => t.event === 'vmexit' && /^\d{2}:\d{2}:\d{2}\.\d+$/.test(t.time ?? ''))).toBe(true);
    const byReason = samplesByKey(r);
    expect([...byReason.keys()]).toEqual(expect.arrayContaining(['msr', 'hlt']));
    expect([...byReason.values()].reduce((a, b) => a + b, 0)).toBe(r.tables.reduce((a, t) => a + (t.totalSamples ?? 0), 0));
  });
});

describe('the kvm_exit tracepoint of the lab kernel (6.1)', () => {
  const format = lab('tracefs_kvm_exit_format.txt');

  it('names every SVM exit code the exit-reason collector filters on, with the codes it assumes', () => {
    const tables = parseKvmExitFormat(format);
    expect(tables.svm.get('io')).toBe(0x7b);
    expect(tables.svm.get('npf')).toBe(0x400);
    expect(tables.vmx.get('IO_INSTRUCTION')).toBe(30);
    expect(Object.fromEntries(reasonCodes('svm', format))).toEqual(EXIT_REASONS.svm);
    expect(Object.fromEntries(reasonCodes('vmx', format))).toEqual(EXIT_REASONS.vmx);
  });
});

describe('perf stat on the kvm tracepoints, per QEMU process', () => {
  it('CSV with control FIFOs (-D -1): the perf-kvm events of one guest over a TCP window', () => {
    const totals = totalsByEvent(parsePerfStat(lab('perf-stat_kvm-events_-p_-D-1_control_csv.txt')));
    expect(totals.get('kvm:kvm_exit')).toBe(6867);
    expect(totals.get('kvm:kvm_mmio')).toBe(1001);
    expect(totals.get('kvm:kvm_msr')).toBe(1769);
  });

  it('one filtered kvm_exit counter per SVM reason: every exit of the window has a named reason', () => {
    const reasons = [...reasonCodes('svm').keys()];
    expect(reasonEventSpecs(reasonCodes('svm'))).toHaveLength(reasons.length + 1);
    const totals = totalsByEvent(parsePerfStat(lab('perf-stat_kvm_exit_by-svm-reason_-D-1_control_csv.txt')));
    const samples = reasonSamples('a', totals, reasons);
    const by = Object.fromEntries(samples.map((s) => [s.dims!.reason, s.value]));
    expect(by).toMatchObject({ interrupt: 2559, vintr: 1038, hlt: 504, msr: 1774, npf: 1002, other: 0 });
    expect(samples.every((s) => s.metric === 'exits' && s.dims!.guest === 'a' && s.source === 'perf')).toBe(true);
  });

  it('three reasons filtered by hand, the rest falls in "other"', () => {
    const totals = totalsByEvent(parsePerfStat(lab('perf-stat_kvm_exit_filtered-by-reason_csv.txt')));
    const by = Object.fromEntries(reasonSamples('b', totals, ['hlt', 'msr', 'npf']).map((s) => [s.dims!.reason, s.value]));
    expect(by).toEqual({ hlt: 32, msr: 70, npf: 0, other: 4 });
  });

  it('the human form counts the same events', () => {
    const r = parsePerfStat(lab('perf-stat_kvm-events_-p_human.txt'));
    expect(r.format).toBe('human');
    expect(totalsByEvent(r).get('kvm:kvm_exit')).toBe(83);
    expect(r.elapsedSeconds).toBeCloseTo(3.06, 2);
  });
});

describe('debugfs of a VM in the lab', () => {
  // The two `ls -l` listings (the kvm folder, then the VM's folder and its vcpu0) in the form the
  // layout helper reads, and the VM's values read twice, 3 s apart.
  const listing = [
    '$ ls -l /sys/kernel/debug/kvm',
    lab('debugfs_ls-l_kvm.txt'),
    lab('debugfs_ls-l_vm-dir.txt').replace(/^(\/sys\/kernel\/debug\/\S+):$/gm, '$ ls -l $1'),
  ].join('\n');
  const values = (name: string) =>
    new Map(
      lab(name)
        .split('\n')
        .map((l) => l.trim().split(' '))
        .filter((p) => p.length === 2 && /^\d+$/.test(p[1]!))
        .map(([k, v]) => [k!, Number(v)]),
    );
  const roots: string[] = [];
  afterAll(() => {
    for (const r of roots) rmSync(r, { recursive: true, force: true });
  });

  it('gives the deltas of the cumulative statistics of that VM only', async () => {
    const root = buildDebugfsTree(parseLsListing(listing));
    roots.push(root);
    const vm = 'kvm/158-9';
    for (const [k, v] of values('debugfs_vm-values_first.txt')) setCounter(root, join(vm, k), v);
    const target: CollectorTarget = { guest: 'a', qemuPid: 158, qmp: undefined as unknown as QmpClient };
    const c = new DebugfsCollector({ accel: 'kvm', targets: [target], root });
    expect(await c.availability()).toEqual({ available: true });
    expect(c.notes()).toEqual(['statistics of unknown type left out: mmu_rmaps_stat']);
    const window: Window = { kind: 'idle', backend: 'e1000', scenario: 'idle', rep: 0, warmup: false };
    await c.start(window);
    for (const [k, v] of values('debugfs_vm-values_3s-later.txt')) setCounter(root, join(vm, k), v);
    const samples = await c.stop(window);
    const of = (stat: string) => samples.find((s) => s.dims?.stat === stat);
    expect(of('exits')).toMatchObject({ metric: 'exits', value: 400, unit: 'count', source: 'debugfs' });
    expect(of('halt_exits')!.value).toBe(116);
    expect(of('halt_wait_ns')).toMatchObject({ metric: 'kvmStat', unit: 's' });
    expect(of('halt_wait_ns')!.value).toBeCloseTo(14.14, 2);
    // Instant values and peaks are not turned into deltas.
    expect(of('pages_4k')).toBeUndefined();
    expect(of('max_mmu_rmap_size')).toBeUndefined();
  });
});

describe('QMP query-stats of a QEMU under the lab KVM', () => {
  // The wire session: each request (`->`) and its reply (`<-`), greeting first.
  const replies = lab('qmp-session.txt')
    .split('\n')
    .filter((l) => l.startsWith('<- '))
    .map((l) => JSON.parse(l.slice(3)) as Record<string, unknown>)
    .filter((m) => 'return' in m)
    .map((m) => m.return);
  const [, schemasReply, cpusReply, vmReply, vcpuReply, vcpuNamesReply] = replies;

  it('answers with the kvm provider for the VM and its vCPU', () => {
    const schemas = parseStatsSchemas(schemasReply);
    expect(schemas.get('vcpu')!.get('exits')).toEqual({ type: 'cumulative', exponent: 0 });
    expect(schemas.get('vm')!.size).toBeGreaterThan(0);
    const vm = parseQueryStats(vmReply);
    expect(vm.map((e) => e.provider)).toEqual(['kvm']);
    const vcpu = parseQueryStats(vcpuReply);
    expect(vcpu).toHaveLength(1);
    expect(vcpu[0]!.stats.get('exits')).toBeGreaterThan(0);
    expect(vcpuIndexByQomPath(cpusReply).get(vcpu[0]!.qomPath!)).toBe(0);
  });

  it('gives per-vCPU exit deltas between two reads (the second one filtered by name)', () => {
    const schemas = parseStatsSchemas(schemasReply);
    const before = parseQueryStats(vcpuReply);
    const after = parseQueryStats(vcpuNamesReply);
    expect([...after[0]!.stats.keys()].sort()).toEqual(['exits', 'halt_exits', 'io_exits', 'mmio_exits']);
    const deltas = cumulativeDeltas(before, after, schemas.get('vcpu')!);
    expect(deltas.map((d) => d.name).sort()).toEqual(['exits', 'halt_exits', 'io_exits', 'mmio_exits']);
    expect(deltas.every((d) => d.delta >= 0)).toBe(true);
    const samples = qmpStatSamples('a', { vm: [], vcpu: before }, { vm: [], vcpu: after }, schemas, vcpuIndexByQomPath(cpusReply));
    expect(samples.find((s) => s.dims?.stat === 'exits')).toMatchObject({ metric: 'exits', source: 'qmp', dims: { guest: 'a', vcpu: 0 } });
  });
});
