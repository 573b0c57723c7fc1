// perf stat output in every form and locale the fixtures hold, parsed to the same numbers.

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../harness/errors.ts';
import { parsePerfStat, totalsByEvent } from '../../../harness/collectors/parse/perf-stat.ts';
import { fixturePath, fixtureText } from './fixtures.ts';

const perf = (name: string) => fixtureText('perf', name);
const totals = (name: string) => Object.fromEntries(totalsByEvent(parsePerfStat(perf(name))));

describe('parsePerfStat: C locale', () => {
  it('reads -x, CSV (system wide)', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_-a_csv_-x-comma.txt'));
    expect(r.format).toBe('csv');
    expect(r.warnings).toEqual([]);
    expect(r.counters.map((c) => [c.event, c.value])).toEqual([
      ['kvm:kvm_exit', 0],
      ['kvm:kvm_mmio', 298995],
      ['kvm:kvm_pio', 299070],
      ['kvm:kvm_userspace_exit', 300755],
      ['kvm:kvm_msr', 298996],
      ['kvm:kvm_entry', 0],
    ]);
    expect(r.counters[1]).toMatchObject({ runtimeNs: 4003626260, percentRunning: 100, status: 'counted', unit: '' });
  });

  it('reads the human table and the elapsed time', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_-a_human_C-locale.txt'));
    expect(r.format).toBe('human');
    expect(r.elapsedSeconds).toBeCloseTo(2.001710714, 9);
    expect(totals('perf-stat_kvm-events_-a_human_C-locale.txt')).toEqual({
      'kvm:kvm_exit': 0,
      'kvm:kvm_mmio': 286608,
      'kvm:kvm_pio': 286681,
      'kvm:kvm_userspace_exit': 288294,
      'kvm:kvm_msr': 286608,
      'kvm:kvm_entry': 0,
    });
    expect(r.warnings).toEqual([]);
  });

  it('reads -j JSON lines, whose counter values are strings', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_-a_json_-j.jsonl'));
    expect(r.format).toBe('json');
    expect(r.counters.map((c) => c.value)).toEqual([0, 295618, 295690, 297356, 295618, 0]);
    expect(r.counters[2]).toMatchObject({ event: 'kvm:kvm_pio', runtimeNs: 4003653882, percentRunning: 100 });
  });

  it('sums -I intervals in CSV, keeping each interval time', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_-p_-I1000_csv.txt'));
    expect(r.counters).toHaveLength(18);
    expect(new Set(r.counters.map((c) => c.time))).toEqual(new Set([1.004200406, 2.005481144, 3.000338909]));
    expect(totals('perf-stat_kvm-events_-p_-I1000_csv.txt')['kvm:kvm_mmio']).toBe(74742 + 74884 + 74281);
  });

  it('sums -I intervals in the human form with its left-padded timestamps', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_-p_-I1000_human.txt'));
    expect(r.format).toBe('human');
    expect(r.counters[0]).toMatchObject({ time: 1.001060982, event: 'kvm:kvm_exit', value: 0 });
    expect(totals('perf-stat_kvm-events_-p_-I1000_human.txt')['kvm:kvm_pio']).toBe(75001 + 75266 + 74270);
    expect(r.warnings).toEqual([]);
  });

  it('reads the -o file with its "# started on" header', () => {
    expect(totals('perf-stat_-o-file_-D-1_control_csv_pvm.txt')).toEqual({ 'kvm:kvm_pio': 106, 'kvm:kvm_mmio': 0 });
  });
});

describe('parsePerfStat: other locales', () => {
  it('en_US: thousands separators in the human form', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_human_en_US-thousands-sep.txt'));
    expect(r.counters.map((c) => c.value)).toEqual([0, 146412, 146452, 147281]);
    expect(r.elapsedSeconds).toBeCloseTo(2.004434102, 9);
  });

  it('de_DE: dot thousands and comma decimals in the human form', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_human_de_DE-dot-thousands-comma-decimal.txt'));
    expect(r.counters.map((c) => c.value)).toEqual([0, 145894, 145928, 146747]);
    expect(r.elapsedSeconds).toBeCloseTo(2.006451872, 9);
    expect(r.warnings.join('\n')).toMatch(/LC_ALL=C/);
  });

  it('de_DE: semicolon CSV with decimal commas', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_csv_-x-semicolon_de_DE.txt'));
    expect(r.counters.map((c) => c.value)).toEqual([0, 150288, 150324, 151172]);
    expect(r.counters[0]!.percentRunning).toBe(100);
    expect(r.warnings.join('\n')).toMatch(/decimal commas/);
  });

  it('de_DE: -x, CSV whose decimal comma adds a field, with a warning', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_csv_-x-comma_de_DE_AMBIGUOUS.txt'));
    expect(r.counters.map((c) => [c.event, c.value])).toEqual([
      ['kvm:kvm_exit', 0],
      ['kvm:kvm_mmio', 145790],
      ['kvm:kvm_pio', 145826],
      ['kvm:kvm_userspace_exit', 146647],
    ]);
    expect(r.counters[1]).toMatchObject({ runtimeNs: 1741352953, percentRunning: 100 });
    expect(r.warnings.join('\n')).toMatch(/collides with the locale's decimal comma/);
  });

  it('de_DE: -j output that is not valid JSON', () => {
    const r = parsePerfStat(perf('perf-stat_kvm-events_json_de_DE_INVALID-JSON.jsonl'));
    expect(r.format).toBe('json');
    expect(r.counters.map((c) => c.value)).toEqual([0, 141289, 141322, 142113]);
    expect(r.counters[1]!.percentRunning).toBe(100);
    expect(r.warnings.join('\n')).toMatch(/LC_ALL=C/);
  });
});

describe('parsePerfStat: counters without a count', () => {
  for (const name of ['perf-stat_not-supported_csv.txt', 'perf-stat_not-supported_human.txt', 'perf-stat_not-supported_json.jsonl']) {
    it(`<not supported> in ${name}`, () => {
      const r = parsePerfStat(perf(name));
      expect(r.counters.slice(0, 2).map((c) => [c.event, c.status, c.value])).toEqual([
        ['cycles', 'not-supported', null],
        ['instructions', 'not-supported', null],
      ]);
      const t = totalsByEvent(r);
      expect(t.get('cycles')).toBeNull();
      expect(t.get('kvm:kvm_exit')).toBe(0);
      expect(t.get('kvm:kvm_mmio')).toBeGreaterThan(0);
      expect(r.counters.filter((c) => c.status === 'counted')).toHaveLength(6);
    });
  }

  it('<not counted> for a process that never ran (CSV and human)', () => {
    const csv = parsePerfStat(perf('perf-stat_not-counted_idle-pid_csv.txt'));
    expect(csv.counters.map((c) => c.status)).toEqual(['not-supported', 'not-counted', 'not-counted']);
    const human = parsePerfStat(perf('perf-stat_not-counted_idle-pid_human.txt'));
    expect(human.counters.map((c) => [c.event, c.status])).toEqual([
      ['cycles', 'not-supported'],
      ['instructions', 'not-supported'],
      ['kvm:kvm_pio', 'not-counted'],
    ]);
  });
});

describe('parsePerfStat: results on stderr', () => {
  it('keeps perf\'s own messages as warnings and the counts intact', () => {
    const r = parsePerfStat(perf('perf-stat_STDERR_control-messages-interleaved_csv.txt'));
    expect(r.warnings).toEqual(['Events disabled', 'Events enabled', 'Events disabled']);
    expect(Object.fromEntries(totalsByEvent(r))).toEqual({ 'kvm:kvm_pio': 957, 'kvm:kvm_mmio': 7, 'kvm:kvm_userspace_exit': 893 });
  });

  it('survives warnings between result lines', () => {
    const lines = perf('perf-stat_kvm-events_-a_human_C-locale.txt').split('\n');
    // Messages perf prints on stderr while counting (tools/perf/builtin-stat.c, util/evsel.c).
    lines.splice(4, 0, 'Warning:', 'kvm:kvm_exit event is not supported by the kernel.');
    lines.splice(9, 0, 'Some events weren\'t counted. Try disabling the NMI watchdog:');
    const r = parsePerfStat(lines.join('\n'));
    expect(r.counters).toHaveLength(6);
    expect(r.counters[1]!.value).toBe(286608);
    expect(r.warnings).toEqual(['Warning:', 'kvm:kvm_exit event is not supported by the kernel.', "Some events weren't counted. Try disabling the NMI watchdog:"]);
  });

  it('keeps duplicate events (one tracepoint, several filters) apart by position', () => {
    const t = totalsByEvent(parsePerfStat(perf('perf-stat_kvm_pio_duplicate-events-with-filters_csv.txt')));
    expect(Object.fromEntries(t)).toEqual({ 'kvm:kvm_pio': 448, 'kvm:kvm_pio#1': 749, 'kvm:kvm_pio#2': 1197, 'kvm:kvm_pio#3': 146 });
    expect(t.get('kvm:kvm_pio')! + t.get('kvm:kvm_pio#1')!).toBe(t.get('kvm:kvm_pio#2'));
  });
});

describe('parsePerfStat: failures', () => {
  it('raises ParseError carrying the raw text when there is no counter', () => {
    const raw = 'Error:\nThe sys_perf_event_open() syscall returned with 1 (Operation not permitted)\n';
    try {
      parsePerfStat(raw);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      expect((err as ParseError).raw).toBe(raw);
    }
  });

  it('parses every perf fixture', () => {
    const dir = fixturePath('perf');
    for (const name of readdirSync(dir)) {
      expect(parsePerfStat(perf(name)).counters.length, name).toBeGreaterThan(0);
    }
  });
});
