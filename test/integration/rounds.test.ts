// A short real bench in interleaved rounds, as a user starts it: two paths (e1000 and testpmd's
// busy-polling vhost-user), two repetitions. run.json gives the rounds in alternating order, each
// path's guests booted once and kept up across both rounds (stopped between their turns), testpmd
// quieted while e1000 is measured, and the wall-time account; nothing is left behind.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { onPath } from '../../harness/host/facts.ts';
import { runRecordSchema } from '../../harness/run/record.ts';
import { describeWall } from '../../harness/run/wall.ts';
import { benchProfile } from '../helpers/cli.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('rounds integration', whyNoGuests() ?? (onPath('dpdk-testpmd') ? undefined : 'needs dpdk-testpmd (apt-get install -y dpdk-dev)'));

describe('a bench in rounds', () => {
  guests.it('boots each path once, alternates the paths over two rounds, quiets testpmd between its turns', async () => {
    const { status, stderr, runDir: found } = await benchProfile('backends: [e1000, vhost-user-testpmd]\nrepetitions: 2\nwarmup: 1\naccel: tcg\norder: rounds\nscenarios:\n  - kind: tcp-stream\n    durationSec: 2\n    omitSec: 0\n', 'rounds');
    expect(status, stderr.slice(-3000)).toBe(0);
    const runDir = found!;
    const record = runRecordSchema.parse(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')));
    expect(record.status).toBe('complete');
    expect(record.schedule).toMatchObject({ requested: 'rounds', mode: 'rounds' });
    expect(record.schedule!.steps.map((s) => `${s.round} ${s.backend} ${s.warmup ? 'w' : ''}${s.rep} ${s.status}`)).toEqual([
      '0 e1000 w0 ok',
      '0 e1000 0 ok',
      '0 vhost-user-testpmd w0 ok',
      '0 vhost-user-testpmd 0 ok',
      '1 vhost-user-testpmd 1 ok',
      '1 e1000 1 ok',
    ]);
    // One boot per path, before the first repetition; each guest's init ran once (its serial log).
    const boots = record.phases.filter((p) => p.phase === 'boot');
    expect(boots.map((p) => p.backend)).toEqual(['e1000', 'vhost-user-testpmd']);
    const firstStep = Date.parse(record.schedule!.steps[0]!.startedAt);
    for (const b of boots) expect(Date.parse(b.startedAt!) + b.ms).toBeLessThanOrEqual(firstStep);
    for (const b of record.backends) {
      const serials = b.files.filter((f) => /serial-/.test(f));
      expect(serials).toHaveLength(2);
      for (const f of serials) expect(readFileSync(join(runDir, f), 'utf8').match(/^iopath-init: kernel \S+ up/gm) ?? [], f).toHaveLength(1);
    }
    // testpmd: quiet while its guests boot, woken for the idle baseline that all paths share, parked
    // (quiet, guests stopped) while e1000 is measured, woken for its two visits back to back at the
    // turn of the rounds, parked before e1000's round 1. e1000 is parked (guests stopped) between
    // its turns too: stop, cont, stop, cont (its round 1 ends the run: no parking before teardown).
    const pauses = (b: string) => record.phases.filter((p) => p.phase === 'pause' && p.backend === b);
    expect(pauses('vhost-user-testpmd')).toHaveLength(8);
    expect(pauses('e1000')).toHaveLength(4);
    const testpmdLog = readFileSync(join(runDir, 'vhost-user-testpmd', 'testpmd.log'), 'utf8');
    // A command's echo can follow a prompt that vhost-user log lines already took: count the lines.
    expect(testpmdLog.match(/^(testpmd> )?stop$/gm) ?? []).toHaveLength(3);
    expect(testpmdLog.match(/^(testpmd> )?start$/gm) ?? []).toHaveLength(2);
    // One idle window for both paths, at the same time, after both were up.
    const idle = record.phases.filter((p) => p.phase === 'idle-baseline');
    expect(idle.map((p) => p.backend).sort()).toEqual(['e1000', 'vhost-user-testpmd']);
    const [i0, i1] = idle.map((p) => Date.parse(p.startedAt!));
    expect(Math.abs(i0! - i1!)).toBeLessThan(idle[0]!.ms);
    for (const b of boots) expect(Date.parse(b.startedAt!) + b.ms).toBeLessThanOrEqual(Math.min(i0!, i1!));
    // The wall-time account, from the phases.
    const w = record.wall!;
    expect(w.measuredMs).toBe(record.phases.filter((p) => p.phase === 'window').reduce((a, p) => a + p.ms, 0));
    expect(w.measuredMs).toBeGreaterThanOrEqual(4 * 2000 * 0.9);
    expect(w.outsideFraction).toBeGreaterThan(0);
    expect(w.outsideFraction).toBeLessThan(1);
    expect(stderr).toContain(describeWall(w));
    console.log(describeWall(w));
    expect(leftovers(record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 600_000);
});
