// A short variant sweep on real guests (TCG, a real namespace per series, measured in rounds):
// virtio-net with QEMU's defaults, with event_idx off and with a 9000-byte MTU. The negotiated features read back
// from the guests show event_idx gone in its variant only, the MTU variant's guests run their
// interfaces at 9000 bytes, and the report keeps both variants as series of their own beside the path.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { buildReportModel } from '../../harness/report/build.ts';
import { renderReports } from '../../harness/report/index.ts';
import { loadRun } from '../../harness/report/load.ts';
import { runBench } from '../../harness/run/runner.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('variant sweep on real guests', whyNoGuests());

describe('variants of virtio-net on real guests', () => {
  guests.it('negotiate what their device properties say, and are reported as series beside the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-variants-'));
    const profile = join(dir, 'sweep.yaml');
    writeFileSync(
      profile,
      [
        'backends: [virtio-net]',
        'repetitions: 2',
        'warmup: 0',
        'accel: tcg',
        'order: rounds',
        'guest: { memoryMiB: 384 }',
        'scenarios:',
        '  - { kind: tcp-stream, durationSec: 2, omitSec: 0 }',
        'variants:',
        '  virtio-net:',
        '    - { name: no-event-idx, device: { event_idx: off } }',
        '    - { name: mtu9000, mtu: 9000 }',
      ].join('\n'),
    );
    const plan = resolvePlan(loadProfile(profile));
    expect(plan.backends).toEqual(['virtio-net', 'virtio-net~no-event-idx', 'virtio-net~mtu9000']);
    const warnings: string[] = [];
    const outcome = await runBench({ plan, argv: ['test'], resultsRoot: join(dir, 'results'), signal: new AbortController().signal, reporter: { warn: (t) => warnings.push(t) } });
    expect(outcome.record.status, outcome.record.error).toBe('complete');
    expect(warnings.filter((w) => /not followed/.test(w))).toEqual([]);

    const run = JSON.parse(readFileSync(join(outcome.runDir, 'run.json'), 'utf8')) as typeof outcome.record;
    // Each variant is brought up like a path: all three series up at once, measured round by round.
    expect(run.schedule?.mode, run.schedule?.reason).toBe('rounds');
    const byId = (id: string) => run.backends.find((b) => b.id === id)!;
    const path = byId('virtio-net');
    const noIdx = byId('virtio-net~no-event-idx');
    const mtu = byId('virtio-net~mtu9000');
    for (const b of [path, noIdx, mtu]) expect(b.status, `${b.id}: ${b.reason ?? ''}`).toBe('ok');

    // Negotiated features, read back in both guests: event_idx (bit 29) only where it was not switched off.
    for (const g of ['a', 'b']) {
      expect(path.features![g], g).toContain('virtio:RING_EVENT_IDX');
      expect(noIdx.features![g], g).not.toContain('virtio:RING_EVENT_IDX');
      expect(mtu.features![g], g).toContain('virtio:RING_EVENT_IDX');
      expect(noIdx.negotiated![g]!.virtioBits![29]).toBe('0');
      expect(path.negotiated![g]!.virtioBits![29]).toBe('1');
      // ethtool -k answered in the guest image.
      expect(Object.keys(path.negotiated![g]!.offloads ?? {}).length, g).toBeGreaterThan(0);
    }
    const bits = (b: typeof path) => b.features!.a!.filter((f) => f !== 'virtio:RING_EVENT_IDX');
    expect(bits(noIdx)).toEqual(bits(path));
    expect(noIdx.variant).toMatchObject({ of: 'virtio-net', name: 'no-event-idx', device: { event_idx: false } });
    expect(noIdx.variant!.refused ?? []).toEqual([]);
    expect(mtu.variant).toMatchObject({ of: 'virtio-net', name: 'mtu9000', mtu: 9000 });
    expect(noIdx.presentation).toMatchObject({ variantOf: 'virtio-net', variant: 'no-event-idx' });

    // Each series measured traffic of its own.
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    for (const id of plan.backends) {
      const tput = samples.filter((s) => s.backend === id && s.metric === 'throughput' && !s.warmup);
      expect(tput, id).toHaveLength(2);
      for (const t of tput) expect(t.value, id).toBeGreaterThan(1e6);
      console.log(`${id}: ${tput.map((t) => (t.value / 1e9).toFixed(2)).join(', ')} Gbit/s`);
    }
    // The MTU variant's guests run their interfaces at 9000 bytes (read back in the guests; with
    // segmentation offloads on, packet sizes at the NIC are super-packets on every series alike).
    for (const g of ['a', 'b']) {
      expect(mtu.negotiated![g]!.mtu, g).toBe(9000);
      expect(path.negotiated![g]!.mtu, g).toBe(1500);
    }

    // The report: three series of throughput, each variant linked to its path, in its shade.
    const model = buildReportModel([loadRun(outcome.runDir)], { generatedAt: new Date().toISOString() });
    const series = model.series.filter((s) => s.metric === 'throughput' && s.scenario === 'tcp-stream').map((s) => s.backend);
    expect(series).toEqual(expect.arrayContaining(plan.backends));
    for (const id of ['virtio-net~no-event-idx', 'virtio-net~mtu9000']) {
      const look = model.paths.find((p) => p.id === id)!;
      expect(look).toMatchObject({ variantOf: 'virtio-net' });
      expect(look.color).not.toBe(model.paths.find((p) => p.id === 'virtio-net')!.color);
      expect(model.backends.find((b) => b.id === id)?.variant?.of).toBe('virtio-net');
    }
    const out = join(dir, 'report');
    await renderReports([outcome.runDir], out, { pdf: false });
    const stats = JSON.parse(readFileSync(join(out, 'stats.json'), 'utf8')) as unknown;
    expect(JSON.stringify(stats)).toContain('virtio-net~no-event-idx');
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('virtio-net~mtu9000');

    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 900_000);
});
