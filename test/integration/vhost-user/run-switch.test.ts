// runSwitch as the CLI calls it (in process): sockets created 0600, features logged per
// connection, counters readable through readSwitchCounters, a clean stop on abort that removes the
// sockets, and usage errors for a missing socket directory.

import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { UsageError } from '../../../harness/errors.ts';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { diffCounters, readSwitchCounters, runSwitch } from '../../../harness/vhost-user/switch-main.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend, until } from '../../fixtures/vhost-user/frontend.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('runSwitch tests', nativeUnavailableReason());

addon.describe('runSwitch', () => {
  it('serves until aborted, then removes its sockets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-vu-run-'));
    const sockets = [join(dir, 'a.sock'), join(dir, 'b.sock')];
    const statsFile = join(dir, 'stats.json');
    const lines: string[] = [];
    const ac = new AbortController();
    const done = runSwitch({ sockets, statsFile, log: (l) => lines.push(l), signal: ac.signal });
    try {
      await until(() => sockets.every((s) => existsSync(s)), 10000, 'sockets');
      for (const s of sockets) expect(statSync(s).mode & 0o777).toBe(0o600);
      const a = FakeFrontend.connect(sockets[0]!);
      const b = FakeFrontend.connect(sockets[1]!);
      await a.setup();
      await b.setup();
      const before = await readSwitchCounters(statsFile, { pid: process.pid });
      a.sendFrame(etherFrame('02:00:00:00:00:02', '02:00:00:00:00:01', 60));
      await b.receiveFrames(1);
      const s = await readSwitchCounters(statsFile, { pid: process.pid });
      expect(s.seq).toBeGreaterThan(before.seq);
      expect(s.ports[0]!.counters.rxPackets).toBe(1);
      expect(s.ports[1]!.counters.txBytes).toBe(60);
      const w = diffCounters(before, s);
      expect(w.seconds).toBeGreaterThan(0);
      expect(w.ports.map((p) => [p.delta.rxPackets, p.delta.txPackets])).toEqual([[1, 0], [0, 1]]);
      expect(lines.join('\n')).toMatch(/port 0: negotiated features 0x[0-9a-f]+: .*VERSION_1/);
      a.close();
      b.close();
    } finally {
      ac.abort();
      await done;
    }
    expect(sockets.some((s) => existsSync(s))).toBe(false);
    const final = await readSwitchCounters(statsFile);
    expect(final.ports.map((p) => p.counters.connections)).toEqual([1, 1]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a socket directory that does not exist', async () => {
    await expect(runSwitch({ sockets: ['/nonexistent-iopath-dir/a.sock'] })).rejects.toThrow(UsageError);
  });
});
