// KVM_GET_STATS_FD contents decoded exactly as the decoded JSON beside each capture, and checked
// against the statistics catalogue.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kvmX86Stats } from '../../../harness/collectors/kvm-stats-catalog.ts';
import { decodeKvmBinaryStats } from '../../../harness/collectors/parse/kvm-binary-stats.ts';
import { ParseError } from '../../../harness/errors.ts';
import { fixtureJson, fixturePath, fixtureText } from './fixtures.ts';

const CATALOG_TYPE: Record<string, string> = { cumulative: 'cumulative', instant: 'instant', peak: 'peak', 'log-hist': 'histogram', 'linear-hist': 'histogram' };

for (const which of ['vm', 'vcpu'] as const) {
  describe(`decodeKvmBinaryStats: ${which}`, () => {
    const bin = readFileSync(fixturePath('kvm-binary-stats', `kvm-binary-stats_${which}.bin`));
    const expected = fixtureJson('kvm-binary-stats', `kvm-binary-stats_${which}.decoded.json`);

    it('matches the decoded JSON field by field', () => {
      expect(decodeKvmBinaryStats(bin)).toEqual(expected);
    });

    it('agrees with the catalogue on every type, scope and exponent', () => {
      const decoded = decodeKvmBinaryStats(bin);
      for (const d of decoded.descriptors) {
        const info = kvmX86Stats[d.name];
        expect(info, d.name).toBeDefined();
        expect(info!.type, d.name).toBe(CATALOG_TYPE[d.type]);
        expect(info!.scope, d.name).toBe(which);
        expect(info!.exponent, d.name).toBe(d.exponent);
      }
    });

    it('rejects a truncated buffer with ParseError', () => {
      expect(() => decodeKvmBinaryStats(bin.subarray(0, bin.length - 8))).toThrow(ParseError);
      expect(() => decodeKvmBinaryStats(bin.subarray(0, 10))).toThrow(ParseError);
    });
  });
}

describe('decodeKvmBinaryStats: values', () => {
  it('reads little-endian u64 values at data_offset + offset', () => {
    const bin = Buffer.from(readFileSync(fixturePath('kvm-binary-stats', 'kvm-binary-stats_vcpu.bin')));
    const decoded = decodeKvmBinaryStats(bin);
    const exits = decoded.descriptors.find((d) => d.name === 'exits')!;
    bin.writeBigUInt64LE(5560788n, decoded.header.data_offset + exits.offset);
    const hist = decoded.descriptors.find((d) => d.name === 'halt_wait_hist')!;
    bin.writeBigUInt64LE(7n, decoded.header.data_offset + hist.offset + 2 * 8);
    const again = decodeKvmBinaryStats(bin);
    expect(again.descriptors.find((d) => d.name === 'exits')!.value).toBe(5560788);
    expect((again.descriptors.find((d) => d.name === 'halt_wait_hist')!.value as number[])[2]).toBe(7);
  });
});

describe('the statistics catalogue', () => {
  it('lists exactly the statistics of kvm-x86-stats-names.md with their type, scope and exponent', () => {
    const md = fixtureText('kvm-binary-stats', 'kvm-x86-stats-names.md');
    const rows: Record<string, { type: string; scope: string; exponent: number }> = {};
    let scope = '';
    for (const line of md.split('\n')) {
      const heading = /^## (vm|vcpu) stats/.exec(line);
      if (heading) scope = heading[1]!;
      const row = /^\| (\w+) \| (cumulative|instant|peak|log-hist|linear-hist) \| \w+ \| 10\^(-?\d+) \|/.exec(line);
      if (row) rows[row[1]!] = { type: CATALOG_TYPE[row[2]!]!, scope, exponent: Number(row[3]) };
    }
    expect(Object.keys(rows)).toHaveLength(16 + 47);
    expect(kvmX86Stats).toEqual(rows);
  });
});
