// Killing the switch mid-traffic: the front-ends see a clean EOF, never a hang; a restarted switch
// on the same socket paths (stale socket files replaced) serves the front-ends again.

import { expect, it } from 'vitest';
import { nativeUnavailableReason } from '../../../harness/vhost-user/native.ts';
import { etherFrame } from '../../fixtures/vhost-user/frames.ts';
import { FakeFrontend, until } from '../../fixtures/vhost-user/frontend.ts';
import { SwitchProcess } from '../../fixtures/vhost-user/switch-process.ts';
import { needs } from '../../helpers/host.ts';

const addon = needs('switch kill tests', nativeUnavailableReason());

addon.describe('killing the switch mid-traffic', () => {
  it('gives the front-ends EOF, and a restarted switch serves them again', async () => {
    const sw = await SwitchProcess.start(2);
    const a = FakeFrontend.connect(sw.sockets[0]!);
    const b = FakeFrontend.connect(sw.sockets[1]!);
    await a.setup({ rxBuffers: 200 });
    await b.setup({ rxBuffers: 200 });
    let sent = 0;
    const traffic = setInterval(() => {
      for (let i = 0; i < 20 && a.tx.freeCount > 0; i++, sent++) a.sendFrame(etherFrame('02:00:00:00:00:02', '02:00:00:00:00:01', 200, sent));
      a.txCompleted();
    }, 1);
    await until(() => b.receive().length > 0, 3000, 'traffic');
    const exit = await sw.kill();
    expect(exit.signal).toBe('SIGKILL');
    await until(() => a.closedByPeer() && b.closedByPeer(), 3000, 'EOF at both front-ends');
    clearInterval(traffic);
    a.close();
    b.close();

    // The dead switch left its socket files behind; a new one on the same paths replaces them.
    const sw2 = await restartOn(sw.sockets);
    try {
      const a2 = FakeFrontend.connect(sw.sockets[0]!);
      const b2 = FakeFrontend.connect(sw.sockets[1]!);
      await a2.setup();
      await b2.setup();
      const f = etherFrame('02:00:00:00:00:02', '02:00:00:00:00:01', 100);
      a2.sendFrame(f);
      const [got] = await b2.receiveFrames(1);
      expect(got!.frame).toEqual(f);
      a2.close();
      b2.close();
    } finally {
      await sw2.stop();
      await sw.stop();
    }
  });
});

async function restartOn(sockets: string[]) {
  const { spawn } = await import('node:child_process');
  const { existsSync } = await import('node:fs');
  const main = new URL('../../../harness/vhost-user/switch-main.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...sockets.flatMap((s) => ['--socket', s])], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // The stale files exist already: wait until the new switch answers on them.
  await until(() => sockets.every((s) => existsSync(s)), 10000, 'sockets');
  await until(
    () => {
      try {
        FakeFrontend.connect(sockets[0]!).close();
        return true;
      } catch {
        return false;
      }
    },
    20000,
    'restarted switch to listen',
  );
  await new Promise((r) => setTimeout(r, 200)); // let it notice the probe connection closing
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
