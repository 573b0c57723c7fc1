// A port's socket file appears only once it accepts connections. The harness starts QEMU, and the
// tests connect, as soon as the files exist; a socket bound but not yet listening would refuse them
// (ECONNREFUSED, seen once in CI). Here a busy loop connects the instant each file appears, over
// several switch starts, and no connection may be refused; nothing but the sockets is left beside them.

import { existsSync, readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { native, nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('listening-socket readiness test', nativeUnavailableReason());

addon.describe('a port socket file', () => {
  it('accepts a connection the instant it appears', async () => {
    const refused: string[] = [];
    let connected = 0;
    for (let start = 0; start < 12; start++) {
      const sw = new SwitchProcess(8);
      try {
        const pending = new Set(sw.sockets);
        const deadline = Date.now() + 20000;
        // Busy-wait on purpose: the connect must follow the file's appearance by microseconds.
        while (pending.size > 0 && Date.now() < deadline && sw.child.exitCode === null) {
          for (const s of pending) {
            if (!existsSync(s)) continue;
            pending.delete(s);
            try {
              native().closeFd(native().connectUnix(s, true));
              connected++;
            } catch (err) {
              refused.push(`${s}: ${(err as Error).message}`);
            }
          }
        }
        expect(pending.size, `sockets never appeared:\n${sw.log}`).toBe(0);
        expect(readdirSync(sw.dir).filter((f) => f.endsWith('.sock')).sort()).toEqual(sw.sockets.map((s) => s.slice(sw.dir.length + 1)).sort());
        expect(readdirSync(sw.dir).filter((f) => f.includes('.listening-'))).toEqual([]);
      } finally {
        await sw.stop();
      }
    }
    console.log(`${connected} connections, each made as its socket file appeared; refused: ${refused.length}`);
    expect(refused).toEqual([]);
  });
});
