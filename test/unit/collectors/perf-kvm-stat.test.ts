// perf kvm stat tables: Intel and AMD, old and new layouts, live output, the empty PVM tables, and
// the kvm_exit format file that gives the filter strategy its reason codes.

import { describe, expect, it } from 'vitest';
import { reasonCodes, reasonEventSpecs } from '../../../harness/collectors/exit-reasons.ts';
import { parseKvmExitFormat } from '../../../harness/collectors/parse/kvm-exit-format.ts';
import { parsePerfKvmStat, samplesByKey } from '../../../harness/collectors/parse/perf-kvm-stat.ts';
import { ParseError } from '../../../harness/errors.ts';
import { fixtureText } from './fixtures.ts';

const kvm = (name: string) => fixtureText('perf-kvm-stat', name);

describe('parsePerfKvmStat: report tables', () => {
  it('Intel, 20-column layout with Min/Max columns', () => {
    const r = parsePerfKvmStat(kvm('intel_report_vmexit_a.txt'));
    expect(r.tables).toHaveLength(1);
    const t = r.tables[0]!;
    expect(t).toMatchObject({ event: 'vmexit', heading: 'Analyze events for all VMs, all VCPUs:', totalSamples: 25898, totalTimeUs: 68281638.61 });
    expect(t.rows.map((row) => row.key)).toEqual([
      'MSR_WRITE',
      'EXTERNAL_INTERRUPT',
      'PREEMPTION_TIMER',
      'HLT',
      'CPUID',
      'PAUSE_INSTRUCTION',
      'EPT_MISCONFIG',
      'EOI_INDUCED',
      'EXCEPTION_NMI',
    ]);
    expect(t.rows[3]).toEqual({ key: 'HLT', samples: 2232, samplesPercent: 8.62, timePercent: 99.92, minUs: 0.56, maxUs: 1001118.99, avgUs: 30567.94, avgSpreadPercent: 9.88 });
    expect(r.warnings).toEqual([]);
  });

  it('Intel, second capture (IO_INSTRUCTION, APIC_WRITE)', () => {
    const counts = samplesByKey(parsePerfKvmStat(kvm('intel_report_vmexit_b.txt')));
    expect(counts.get('IO_INSTRUCTION')).toBe(10892);
    expect(counts.get('APIC_WRITE')).toBe(6226);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(79744);
  });

  it('Intel, Max Time values that overflow their column', () => {
    const r = parsePerfKvmStat(kvm('intel_report_vmexit_overflowing-columns.txt'));
    const hlt = r.tables[0]!.rows.find((row) => row.key === 'HLT')!;
    expect(hlt).toMatchObject({ samples: 71, timePercent: 100, minUs: 88.9, maxUs: 3315419.6, avgUs: 602567.95 });
    expect(r.tables[0]!.rows.reduce((s, row) => s + row.samples, 0)).toBe(309);
    expect(r.warnings).toEqual([]);
  });

  it('AMD, 40-column layout of newer perf with lower-case reasons', () => {
    const r = parsePerfKvmStat(kvm('amd_report_vmexit_40col-newer-perf.txt'));
    const counts = samplesByKey(r);
    expect([...counts.keys()]).toEqual(['msr', 'interrupt', 'npf', 'hlt', 'vintr', 'hypercall', 'pause']);
    expect(counts.get('npf')).toBe(514902);
    expect(r.tables[0]!.totalSamples).toBe(3351625);
    expect(r.warnings).toEqual([]);
  });

  it('AMD AVIC notes: names wider than the column, several truncated tables without footers', () => {
    const r = parsePerfKvmStat(kvm('amd_report_vmexit_avic.txt'));
    expect(r.tables).toHaveLength(2);
    expect(r.tables.map((t) => t.heading)).toEqual(['AVIC=1 && stimer/synic=0 && vapic=0:', 'AVIC=1 && stimer/synic=1 && vapic=0:']);
    expect(r.tables.every((t) => t.truncated && t.totalSamples === undefined)).toBe(true);
    expect(r.tables[0]!.rows.find((row) => row.key === 'avic_incomplete_ipi')).toMatchObject({ samples: 19679, avgUs: 3.66 });
    expect(r.tables[1]!.rows.map((row) => row.samples)).toEqual([31995, 22915, 8271, 1232]);
  });

  it('old 2012 layout: vmexit, mmio and ioport tables without Min/Max, indented, with notes around', () => {
    const r = parsePerfKvmStat(kvm('old-format_vmexit-mmio-ioport.txt'));
    expect(r.tables.map((t) => t.event)).toEqual(['vmexit', 'mmio', 'ioport', 'vmexit']);
    const [exits, mmio, ioport, vcpu0] = r.tables;
    expect(exits!.rows[0]).toEqual({ key: 'APIC_ACCESS', samples: 65381, samplesPercent: 66.58, timePercent: 5.95, avgUs: 37.72, avgSpreadPercent: 6.54 });
    expect(exits!.totalSamples).toBe(98202);
    expect(mmio!.rows.map((row) => row.key)).toEqual(['0xfee00380:W', '0xfee00300:R', '0xfee00310:W', '0xfee00300:W']);
    expect(ioport!.rows).toEqual([{ key: '0xc090:POUT', samples: 383, samplesPercent: 100, timePercent: 100, avgUs: 89, avgSpreadPercent: 42.94 }]);
    expect(vcpu0!.heading).toBe('Analyze events for VCPU 0:');
    expect(vcpu0!.totalSamples).toBe(10914);
    expect(r.ignored).toContain('# ./perf kvm stat report --event=mmio');
    expect(r.warnings).toEqual([]);
  });

  it('live output: unknown exit codes interleaved, repeated UNKNOWN rows kept apart by code', () => {
    const r = parsePerfKvmStat(kvm('live_unknown-exit-code-interleaved.txt'));
    const rows = r.tables[0]!.rows;
    expect(rows.filter((row) => row.key === 'UNKNOWN').map((row) => [row.unknownCode, row.samples])).toEqual([
      [131072, 3622],
      [327680, 2057],
      [196608, 1401],
      [262144, 1233],
      [65536, 115],
    ]);
    expect(r.warnings.filter((w) => w.startsWith('unknown kvm exit code'))).toHaveLength(5);
    const counts = samplesByKey(r);
    expect(counts.get('INVLPG')).toBe(18940);
    expect(counts.get('UNKNOWN(327680)')).toBe(2057);
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(27549);
  });

  it('live output of this machine: timestamps, clear-screen codes, empty tables summed across displays', () => {
    const r = parsePerfKvmStat(kvm('live_-p_-d1_empty_pvm_STDERR.txt'));
    expect(r.tables).toHaveLength(2);
    expect(r.tables.map((t) => t.time)).toEqual(['16:00:19.592321', '16:00:20.592302']);
    expect(r.tables.every((t) => t.rows.length === 0 && t.totalSamples === 0)).toBe(true);
    expect(samplesByKey(r).size).toBe(0);
    const cleared = parsePerfKvmStat('\x1b[H\x1b[2J\n' + kvm('live_-p_-d1_empty_pvm_STDERR.txt'));
    expect(cleared.tables).toHaveLength(2);
  });

  for (const event of ['vmexit', 'mmio', 'ioport'] as const) {
    it(`the empty ${event} table this PVM host prints`, () => {
      const r = parsePerfKvmStat(kvm(`perf-kvm-stat-report_--event=${event}_empty_pvm_STDERR.txt`));
      expect(r.tables).toEqual([
        { event, heading: 'Analyze events for all VMs, all VCPUs:', rows: [], totalSamples: 0, totalTimeUs: 0, truncated: false },
      ]);
    });
  }

  it('raises ParseError with the raw text when there is no table (perf record stderr)', () => {
    const raw = kvm('perf-kvm-stat-record_STDERR.txt');
    expect(() => parsePerfKvmStat(raw)).toThrow(ParseError);
    try {
      parsePerfKvmStat(raw);
    } catch (err) {
      expect((err as ParseError).raw).toBe(raw);
    }
  });

  it('warns when the rows do not add up to the footer', () => {
    const text = kvm('intel_report_vmexit_b.txt').replace('Total Samples:79744', 'Total Samples:79745');
    expect(parsePerfKvmStat(text).warnings).toEqual(['vmexit table: rows add up to 79744 samples but the footer says 79745']);
  });
});

describe('kvm_exit format file', () => {
  const format = kvm('tracefs_kvm_exit_format_6.18-pvm.txt');

  it('yields the VMX and SVM reason tables', () => {
    const t = parseKvmExitFormat(format);
    expect(t.vmx.get('IO_INSTRUCTION')).toBe(30);
    expect(t.vmx.get('EPT_MISCONFIG')).toBe(49);
    expect(t.vmx.get('MSR_WRITE_IMM')).toBe(85);
    expect(t.svm.get('io')).toBe(0x7b);
    expect(t.svm.get('npf')).toBe(0x400);
    expect(t.svm.get('PF excp')).toBe(0x40 + 14);
    expect(t.svm.get('invalid_guest_state')).toBe(-1);
    expect(t.svm.get('vmgexit_hypervisor_feature')).toBe(0x8000fffd);
  });

  it('agrees with the built-in codes of every reason the filter strategy counts', () => {
    for (const isa of ['vmx', 'svm'] as const) {
      expect(reasonCodes(isa, format)).toEqual(reasonCodes(isa));
    }
  });

  it('builds one filtered kvm:kvm_exit counter per reason after the unfiltered total', () => {
    const specs = reasonEventSpecs(new Map([['HLT', 12], ['IO_INSTRUCTION', 30]]));
    expect(specs).toEqual([
      { event: 'kvm:kvm_exit' },
      { event: 'kvm:kvm_exit', filter: 'exit_reason == 12' },
      { event: 'kvm:kvm_exit', filter: 'exit_reason == 30' },
    ]);
  });

  it('rejects a format without the symbolic tables', () => {
    expect(() => parseKvmExitFormat('name: kvm_pio\nprint fmt: "pio_%s"')).toThrow(ParseError);
  });
});
