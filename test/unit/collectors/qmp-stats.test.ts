// QMP query-stats and query-stats-schemas replies of QEMU 7.2, and the per-vCPU window deltas the
// qmp-stats collector makes of them.

import { describe, expect, it } from 'vitest';
import { qmpStatSamples, vcpuIndexByQomPath } from '../../../harness/collectors/qmp-stats.ts';
import { cumulativeDeltas, parseQueryStats, parseStatsSchemas, unwrapQmpResponse } from '../../../harness/collectors/parse/qmp-stats.ts';
import { ParseError } from '../../../harness/errors.ts';
import { QmpError } from '../../../harness/vm/qmp.ts';
import { fixtureJson, fixtureText } from './fixtures.ts';

const reply = (name: string, command = 'query-stats') => unwrapQmpResponse(command, fixtureJson('qmp', name));
const schemas = () => parseStatsSchemas(reply('qmp_query-stats-schemas_kvm.response.json', 'query-stats-schemas'));

describe('query-stats-schemas', () => {
  it('gives the type of every vm and vcpu statistic', () => {
    const s = schemas();
    expect(s.get('vcpu')!.size).toBe(47);
    expect(s.get('vm')!.size).toBe(16);
    expect(s.get('vcpu')!.get('exits')).toEqual({ type: 'cumulative', exponent: 0 });
    expect(s.get('vcpu')!.get('guest_mode')).toEqual({ type: 'instant', unit: 'boolean', exponent: 0 });
    expect(s.get('vcpu')!.get('halt_wait_ns')).toEqual({ type: 'cumulative', unit: 'seconds', base: 10, exponent: -9 });
    expect(s.get('vcpu')!.get('halt_wait_hist')!.type).toBe('log2-histogram');
    expect(s.get('vm')!.get('max_mmu_rmap_size')!.type).toBe('peak');
  });
});

describe('query-stats', () => {
  it('target vm: one entry without qom-path, stats in reverse descriptor order', () => {
    const [entry, ...rest] = parseQueryStats(reply('qmp_query-stats_vm.response.json'));
    expect(rest).toEqual([]);
    expect(entry!.provider).toBe('kvm');
    expect(entry!.qomPath).toBeUndefined();
    expect([...entry!.stats.keys()][0]).toBe('mmu_kicks_spared');
    expect([...entry!.stats.keys()].at(-1)).toBe('remote_tlb_flush');
    expect(entry!.stats.get('mmu_shadow_zapped')).toBe(36);
  });

  it('target vcpu: entries by qom-path, not index-aligned, with int, bool and histogram values', () => {
    const entries = parseQueryStats(reply('qmp_query-stats_vcpu.response.json'));
    expect(entries.map((e) => e.qomPath)).toEqual(['/machine/unattached/device[2]', '/machine/unattached/device[0]']);
    const first = entries[0]!.stats;
    expect(first.get('guest_mode')).toBe(false);
    expect(first.get('exits')).toBe(46);
    expect(first.get('halt_wait_hist')).toEqual([1, 0, 1, ...new Array(29).fill(0)]);
    expect(entries[1]!.stats.get('mmio_exits')).toBe(32786);
  });

  it('a names filter returns only those statistics', () => {
    const [entry] = parseQueryStats(reply('qmp_query-stats_vcpu_names-filter.response.json'));
    expect([...entry!.stats.keys()]).toEqual(['guest_mode', 'irq_exits', 'halt_exits', 'mmio_exits', 'io_exits', 'exits']);
  });

  it('an unknown name gives an empty list, not an error', () => {
    expect(parseQueryStats(reply('qmp_query-stats_unknown-name_empty-return.response.json'))).toEqual([]);
  });

  it('a bad target is a QMP error', () => {
    expect(() => reply('qmp_query-stats_bad-target_error.response.json')).toThrow(QmpError);
    try {
      reply('qmp_query-stats_bad-target_error.response.json');
    } catch (err) {
      expect((err as QmpError).errorClass).toBe('GenericError');
      expect((err as QmpError).message).toMatch(/does not accept value 'cryptodev'/);
    }
  });

  it('every reply of the recorded QEMU 7.2 session parses', () => {
    const lines = fixtureText('qmp', 'qmp_session_query-stats_qemu7.2.log').split('\n');
    let parsed = 0;
    let errors = 0;
    for (let i = 0; i < lines.length; i++) {
      const sent = lines[i]!;
      if (!sent.startsWith('-> ')) continue;
      const command = (JSON.parse(sent.slice(3)) as { execute: string }).execute;
      const answer = JSON.parse(lines[i + 1]!.slice(3));
      try {
        const ret = unwrapQmpResponse(command, answer);
        if (command === 'query-stats') parseQueryStats(ret);
        if (command === 'query-stats-schemas') parseStatsSchemas(ret);
        parsed++;
      } catch (err) {
        expect(err).toBeInstanceOf(QmpError);
        errors++;
      }
    }
    expect(parsed).toBe(7);
    expect(errors).toBe(1);
  });

  it('rejects a malformed reply with ParseError', () => {
    expect(() => parseQueryStats({ provider: 'kvm' })).toThrow(ParseError);
    expect(() => parseQueryStats([{ provider: 'kvm', stats: [{ name: 'exits', value: 'many' }] }])).toThrow(ParseError);
  });
});

describe('window deltas', () => {
  // Two replies of the same session, seconds apart: the full vcpu reply, then the filtered one.
  const before = parseQueryStats(reply('qmp_query-stats_vcpu.response.json'));
  const after = parseQueryStats(reply('qmp_query-stats_vcpu_names-filter.response.json'));

  it('only cumulative statistics, matched by qom-path', () => {
    const deltas = cumulativeDeltas(before, after, schemas().get('vcpu')!);
    expect(deltas).toEqual([
      { qomPath: '/machine/unattached/device[0]', name: 'irq_exits', delta: 0, seconds: false },
      { qomPath: '/machine/unattached/device[0]', name: 'halt_exits', delta: 0, seconds: false },
      { qomPath: '/machine/unattached/device[0]', name: 'mmio_exits', delta: 1, seconds: false },
      { qomPath: '/machine/unattached/device[0]', name: 'io_exits', delta: 0, seconds: false },
      { qomPath: '/machine/unattached/device[0]', name: 'exits', delta: 89, seconds: false },
    ]);
  });

  it('nanosecond statistics become seconds', () => {
    const later = parseQueryStats([{ provider: 'kvm', 'qom-path': '/machine/unattached/device[0]', stats: [{ name: 'halt_wait_ns', value: 16907879140 + 2_500_000_000 }] }]);
    const [d] = cumulativeDeltas(before, later, schemas().get('vcpu')!);
    expect(d!.seconds).toBe(true);
    expect(d!.delta).toBeCloseTo(2.5, 9);
  });

  it('samples name each vCPU by its cpu-index from query-cpus-fast', () => {
    const index = vcpuIndexByQomPath([
      { 'thread-id': 9982, 'qom-path': '/machine/unattached/device[0]', 'cpu-index': 0, target: 'x86_64' },
      { 'thread-id': 9983, 'qom-path': '/machine/unattached/device[2]', 'cpu-index': 1, target: 'x86_64' },
    ]);
    const vmBefore = parseQueryStats(reply('qmp_query-stats_vm.response.json'));
    const samples = qmpStatSamples('a', { vm: vmBefore, vcpu: before }, { vm: vmBefore, vcpu: after }, schemas(), index);
    expect(samples.find((s) => s.dims?.stat === 'exits' && s.dims.vcpu === 0)).toEqual({
      metric: 'exits',
      value: 89,
      unit: 'count',
      source: 'qmp',
      dims: { guest: 'a', vcpu: 0, stat: 'exits' },
    });
    const vmStats = samples.filter((s) => s.dims?.vcpu === undefined);
    expect(vmStats.map((s) => s.dims!.stat)).not.toContain('max_mmu_rmap_size');
    expect(vmStats.find((s) => s.dims!.stat === 'mmu_cache_miss')).toMatchObject({ metric: 'kvmStat', value: 0 });
  });
});
