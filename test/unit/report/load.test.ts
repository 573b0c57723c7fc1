import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, IopathError } from '../../../harness/errors.ts';
import { loadRun } from '../../../harness/report/load.ts';
import { metrics } from '../../../harness/metrics.ts';
import { RUN_SCHEMA } from '../../../harness/run/record.ts';
import { fixture } from './helpers.ts';

describe('fixture runs follow the results contract', () => {
  for (const name of ['tcg-dev-a-1', 'tcg-dev-a-2', 'kvm-bench-b', 'partial-dev-a']) {
    it(`${name}: every sample is a known metric with the catalogue's unit`, () => {
      const run = loadRun(fixture(name));
      expect(run.record.schema).toBe(RUN_SCHEMA);
      expect(run.problems).toEqual([]);
      expect(run.samples.length).toBeGreaterThan(50);
      for (const s of run.samples) {
        expect(Object.keys(metrics)).toContain(s.metric);
        expect(s.unit).toBe(metrics[s.metric as keyof typeof metrics].unit);
        expect(s.run).toBe(run.record.run);
        expect(s.host).toBe(run.host);
      }
      expect(run.samples.some((s) => s.warmup)).toBe(true);
    });
  }
});

describe('loadRun', () => {
  it('reads a complete run as not partial', () => {
    const run = loadRun(fixture('tcg-dev-a-1'));
    expect(run.partial).toBe(false);
    expect(run.host).toBe('dev-a');
    expect(run.record.backends.map((b) => [b.id, b.status])).toEqual([
      ['e1000', 'ok'],
      ['virtio-net', 'ok'],
      ['vhost-net', 'skipped'],
    ]);
  });

  it('tolerates an interrupted run: no end time, running backends, a cut-off last line', () => {
    const run = loadRun(fixture('partial-dev-a'));
    expect(run.partial).toBe(true);
    expect(run.partialReasons.join('\n')).toMatch(/last line of samples\.ndjson \(line \d+\) is cut off/);
    expect(run.partialReasons.join('\n')).toMatch(/status is "interrupted"/);
    expect(run.partialReasons.join('\n')).toMatch(/no end time/);
    expect(run.partialReasons.join('\n')).toMatch(/virtio-net is still "running"/);
    expect(run.samples.length).toBeGreaterThan(0);
  });

  it('reports malformed sample lines and keeps the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-load-'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ schema: RUN_SCHEMA, run: 'r', status: 'complete', startedAt: '2025-01-01T00:00:00Z', endedAt: '2025-01-01T00:01:00Z', argv: [], profile: { name: 'p', path: 'p', hash: 'h', plan: {} }, backends: [], phases: [], notes: [] }));
    const good = { run: 'r', backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false, metric: 'throughput', unit: 'bit/s', value: 1, time: 't' };
    writeFileSync(join(dir, 'samples.ndjson'), [JSON.stringify(good), '{not json', JSON.stringify({ ...good, value: 'fast' }), JSON.stringify(good)].join('\n') + '\n');
    const run = loadRun(dir);
    expect(run.samples).toHaveLength(2);
    expect(run.problems.map((p) => p.message)).toEqual([expect.stringMatching(/line 2 is not JSON/), expect.stringMatching(/line 3 is not a sample \(value/)]);
    expect(run.partial).toBe(false);
    expect(run.host).toBe('unknown host');
  });

  it('ignores, with a problem each, a sample whose metric is not in the catalogue or whose unit is not its metric\'s', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-load-'));
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ schema: RUN_SCHEMA, run: 'r', status: 'complete', startedAt: '2025-01-01T00:00:00Z', endedAt: '2025-01-01T00:01:00Z', profile: { name: 'p', path: 'p', hash: 'h', plan: {} } }));
    const good = { run: 'r', backend: 'e1000', scenario: 'tcp-stream', rep: 0, warmup: false, metric: 'throughput', unit: 'bit/s', value: 1, time: 't' };
    writeFileSync(join(dir, 'samples.ndjson'), [good, { ...good, metric: 'thruput' }, { ...good, unit: 'pkt/s' }].map((x) => JSON.stringify(x)).join('\n') + '\n');
    const run = loadRun(dir);
    expect(run.samples).toHaveLength(1);
    expect(run.problems.map((p) => p.message)).toEqual([expect.stringMatching(/line 2 is not a sample \(metric: /), expect.stringMatching(/line 3 is not a sample \(unit: unit is not the unit/)]);
  });

  it('takes how a path looks from run.json, else from its descriptor (older runs)', () => {
    const old = loadRun(fixture('tcg-dev-a-1'));
    expect(old.paths.find((p) => p.id === 'e1000')).toMatchObject({ order: 10, reference: true, color: expect.stringMatching(/^#/) });
    const dir = mkdtempSync(join(tmpdir(), 'iopath-load-'));
    const presentation = { order: 1, color: '#123456' };
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ schema: RUN_SCHEMA, run: 'r', status: 'complete', startedAt: 't', endedAt: 't', profile: { name: 'p', path: 'p', hash: 'h', plan: {} }, backends: [{ id: 'e1000', title: 'e', status: 'ok', presentation }, { id: 'gone', title: 'g', status: 'ok' }] }));
    writeFileSync(join(dir, 'samples.ndjson'), '');
    expect(loadRun(dir).paths).toEqual([{ id: 'e1000', ...presentation }, { id: 'gone' }]);
  });

  it('refuses a folder that is not a run with a usage error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-load-'));
    expect(() => loadRun(dir)).toThrow(/has no run\.json/);
    expect(() => loadRun(join(dir, 'nope'))).toThrow(/is not a run folder/);
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ schema: 'other/1' }));
    try {
      loadRun(dir);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IopathError);
      expect((err as IopathError).exitCode).toBe(ExitCode.usage);
      expect((err as Error).message).toMatch(/not an iopath\.run\/1 record: schema/);
    }
  });
});
