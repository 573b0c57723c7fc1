import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUN_SCHEMA, type RunRecord } from '../../harness/run/record.ts';
import { RunStore } from '../../harness/run/store.ts';
import { HostError } from '../../harness/errors.ts';

function record(): RunRecord {
  return { schema: RUN_SCHEMA, run: 'r1', status: 'running', startedAt: new Date().toISOString(), argv: [], profile: { name: 'p', path: '/p', hash: 'h', plan: {} }, backends: [], phases: [], notes: [] };
}

describe('results store', () => {
  it('appends one JSON object per sample line with the contract fields', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'iopath-store-')), 'r1');
    const store = new RunStore(dir, 'r1', 'host1');
    store.append({ backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: true }, [{ metric: 'throughput', value: 1e9, unit: 'bit/s', source: 'iperf3' }]);
    store.append({ backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false }, [
      { metric: 'throughput', value: 2e9, unit: 'bit/s' },
      { metric: 'retransmits', value: 3, unit: 'count' },
    ]);
    const lines = readFileSync(join(dir, 'samples.ndjson'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatchObject({ run: 'r1', host: 'host1', backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false, metric: 'throughput', unit: 'bit/s', value: 2e9 });
    expect(typeof lines[1].time).toBe('string');
    store.close();
  });

  it('writes only what the report could read back, naming what it refused', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'iopath-store-')), 'r1');
    const store = new RunStore(dir, 'r1', 'h');
    const at = { backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false };
    const out = store.append(at, [
      { metric: 'throughput', value: NaN, unit: 'bit/s', source: 'iperf3' },
      // A producer that got the unit wrong: the type allows any unit, the schema knows the metric's.
      { metric: 'throughput', value: 5, unit: 'count', source: 'iperf3' },
      { metric: 'retransmits', value: 3, unit: 'count' },
    ]);
    expect(out.records.map((r) => r.metric)).toEqual(['retransmits']);
    expect(out.rejected).toEqual([expect.stringMatching(/throughput from iperf3 not recorded: value: /), expect.stringMatching(/unit: unit is not the unit metrics\.ts gives/)]);
    expect(readFileSync(join(dir, 'samples.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(1);
    store.close();
  });

  it('replaces run.json atomically and leaves no temporary files', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'iopath-store-')), 'r1');
    const rec = record();
    const store = new RunStore(dir, 'r1', 'h');
    store.save(rec);
    rec.status = 'complete';
    store.save(rec);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')).status).toBe('complete');
    expect(readdirSync(dir).sort()).toEqual(['run.json', 'samples.ndjson']);
    expect(store.saveRaw('e1000/raw/x.json', '{}')).toBe('e1000/raw/x.json');
    store.log('an error in full\n  at somewhere');
    expect(readFileSync(join(dir, 'run.log'), 'utf8')).toBe('an error in full\n  at somewhere\n');
    store.close();
  });

  it('says which folder is not writable and how to fix it', () => {
    expect(() => new RunStore('/proc/iopath-cannot-write/r1', 'r1', 'h')).toThrow(HostError);
    expect(() => new RunStore('/proc/iopath-cannot-write/r1', 'r1', 'h')).toThrow(/cannot write results to \/proc\/iopath-cannot-write\/r1/);
  });
});
