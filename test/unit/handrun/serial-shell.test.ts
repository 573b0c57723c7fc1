// The console driver against a real shell on a pipe (the same protocol a guest's serial console
// speaks, minus the terminal's echo, which run() must cope with either way), and the hand pair's
// command lines.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backends } from '../../../harness/backends/registry.ts';
import { handArgv, handNic, setUpCommand } from '../../../harness/handrun/bare-pair.ts';
import { SerialShell } from '../../../harness/handrun/serial-shell.ts';
import { startDaemon } from '../../../harness/host/proc.ts';
import { Scope } from '../../../harness/host/scope.ts';

let scope: Scope | undefined;
afterEach(async () => {
  await scope?.close();
  scope = undefined;
});

function shell(argv: string[]): SerialShell {
  scope = new Scope('test');
  const dir = mkdtempSync(join(tmpdir(), 'iopath-shell-'));
  scope.defer('remove log dir', () => rmSync(dir, { recursive: true, force: true }));
  return new SerialShell('t', startDaemon(scope, { name: 'sh', argv, logFile: join(dir, 'log'), interactive: true }));
}

describe('SerialShell', () => {
  it('runs commands one after the other and returns each one\'s status and output', async () => {
    const sh = shell(['sh']);
    await sh.waitReady(5000);
    expect(await sh.run('echo hello; echo world', 5000)).toEqual({ status: 0, output: 'hello\nworld\n' });
    expect((await sh.run('false', 5000)).status).toBe(1);
    expect((await sh.run('printf "{\\"a\\": 1}"', 5000)).output).toBe('{"a": 1}');
  });

  it('drops the echo of the typed line when the terminal echoes it', async () => {
    // `sh -v` prints each line it reads before running it, as a console's echo does.
    const sh = shell(['sh', '-v']);
    await sh.waitReady(5000);
    expect((await sh.run('echo only-this', 5000)).output.trim()).toBe('only-this');
  });

  it('a command that does not finish in time is an error naming it', async () => {
    const sh = shell(['sh']);
    await expect(sh.run('sleep 5', 300)).rejects.toThrow(/`sleep 5` did not finish within 0 s/);
  });

  it('a shell that exits is reported, not waited for', async () => {
    const sh = shell(['sh']);
    await expect(sh.run('exit 3', 5000)).rejects.toThrow(/exited/);
  });

  it('refuses a command of several lines', async () => {
    const sh = shell(['sh']);
    await expect(sh.run('echo a\necho b', 5000)).rejects.toThrow(/one line/);
  });
});

describe('the hand pair', () => {
  const e1000 = handNic(backends.e1000);
  const o = { nic: e1000, image: { kernel: '/k', initrd: '/i' }, memoryMiB: 512, tag: '1', logDir: '/tmp' };
  it('takes its NIC from the path\'s own QEMU options; a path that is not one NIC on a tap is refused', () => {
    expect(e1000).toEqual({ path: 'e1000', driver: 'e1000', tapProps: {} });
    expect(handNic(backends['virtio-net'])).toEqual({ path: 'virtio-net', driver: 'virtio-net-pci', tapProps: { vhost: false } });
    expect(() => handNic(backends['vhost-user-ts'])).toThrow(/one QEMU NIC on a tap; vhost-user-ts is not one/);
  });
  it('a short command line as typed by hand: no agent port, no monitor, no tracing', () => {
    const argv = handArgv(o, 1, 'tap1');
    expect(argv.join(' ')).toBe(
      'qemu-system-x86_64 -accel tcg -m 512M -nodefaults -display none -serial stdio -kernel /k -initrd /i -append console=ttyS0 quiet rdinit=/bin/busybox -- sh ' +
        '-netdev tap,id=n0,ifname=tap1,script=no,downscript=no -device e1000,netdev=n0,mac=52:54:00:1b:00:02',
    );
    expect(handArgv({ ...o, nic: handNic(backends['virtio-net']), extraQemuArgs: ['-cpu', 'max'] }, 0, 'tap0').slice(-6)).toEqual([
      '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off', '-device', 'virtio-net-pci,netdev=n0,mac=52:54:00:1b:00:01', '-cpu', 'max',
    ]);
  });
  it('the console set-up loads the image\'s drivers and gives each guest its address', () => {
    expect(setUpCommand(1)).toMatch(/insmod \/lib\/modules\/\$m\.ko.*ip addr add 10\.98\.0\.2\/24 dev eth0$/);
  });
});

describe('the agreement line', () => {
  it('pairs round medians and says whether iopath and the hand run agree', async () => {
    const { formatAgreement } = await import('../../../harness/commands/handrun.ts');
    const agree = formatAgreement('e1000', { hand: [[0.9e9, 0.91e9, 0.89e9], [0.88e9], [0.92e9]], iopath: [[0.9e9], [0.885e9], [0.915e9]] }, 0.05);
    expect(agree).toMatch(/^e1000: hand median 0\.900 Gbit\/s \(n=5\), iopath median 0\.900 Gbit\/s \(n=3\)/);
    expect(agree).toMatch(/iopath\/hand 1\.00\d over 3 rounds .*agree within ±5 %/);
    const apart = formatAgreement('e1000', { hand: [[0.9e9], [0.91e9], [0.89e9]], iopath: [[0.75e9], [0.76e9], [0.74e9]] }, 0.05);
    expect(apart).toMatch(/DISAGREE by more than ±5 %/);
    const wide = formatAgreement('e1000', { hand: [[0.9e9], [0.9e9]], iopath: [[0.8e9], [0.95e9]] }, 0.05);
    expect(wide).toMatch(/too wide to decide/);
  });
});
