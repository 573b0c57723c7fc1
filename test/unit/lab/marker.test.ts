import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeLab, LAB_SCHEMA, labProvenance, readLabMarker, type LabMarker } from '../../../harness/lab/marker.ts';

const marker: LabMarker = {
  schema: LAB_SCHEMA,
  lab: '20261202-172418-f5e324',
  startedAt: '2026-12-02T17:24:18.000Z',
  virtualisation: 'AMD SVM with nested paging, emulated by QEMU TCG (-cpu max)',
  l0: { hostname: 'vm', kernel: '6.18.44', cpuModel: 'AMD EPYC', cpuCount: 2, memoryMiB: 24000, qemuVersion: '7.2.22', accel: 'tcg' },
  l1: { kernel: '6.1.0-57-amd64', cpus: 2, memoryMiB: 3072, image: 'e112272ede5f63f1' },
};

describe('the lab marker', () => {
  it('is found where L1 puts it, and only when it is one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-marker-'));
    expect(readLabMarker(join(dir, 'lab.json'))).toBeUndefined();
    writeFileSync(join(dir, 'lab.json'), JSON.stringify(marker));
    expect(readLabMarker(join(dir, 'lab.json'))).toEqual(marker);
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ schema: 'iopath.run/1' }));
    expect(readLabMarker(join(dir, 'other.json'))).toBeUndefined();
  });

  it('becomes provenance that says what is real and what is not', () => {
    const p = labProvenance(marker);
    expect(p).toMatchObject({ nested: true, lab: marker.lab, l1: marker.l1, l0: marker.l0 });
    expect(p).not.toHaveProperty('schema');
    expect(p.real).toEqual(expect.arrayContaining(['VM exits', 'exit reasons']));
    expect(p.notRepresentative).toEqual(['throughput', 'packet rates', 'latency']);
    expect(describeLab(marker)).toMatch(/not representative of any real host/);
  });
});
