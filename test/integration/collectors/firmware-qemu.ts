// Real QEMU guests that run only their firmware (SeaBIOS, and iPXE when a NIC is present), for the
// collector integration tests: they boot in milliseconds, need no image, and under this host's PVM
// KVM they are the only guests that run at all (docs/host-notes.md). Started paused (-S) so a window can
// open before the firmware runs; owned by a Scope so every QEMU is killed.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, sleep, startDaemon, type Daemon } from '../../../harness/host/proc.ts';
import type { Scope } from '../../../harness/host/scope.ts';
import { QmpClient } from '../../../harness/vm/qmp.ts';

export const QEMU = 'qemu-system-x86_64';

export interface FirmwareGuest {
  daemon: Daemon;
  qmp: QmpClient;
  pid: number;
  dir: string;
}

export async function startFirmwareGuest(scope: Scope, o: { accel: 'kvm' | 'tcg'; name: string; extraArgs?: string[] }): Promise<FirmwareGuest> {
  const dir = mkdtempSync(join(tmpdir(), `iopath-fw-${o.name}-`));
  // Registered first, so it runs last: after QEMU is stopped.
  scope.defer(`remove ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'qmp.sock');
  const argv = [
    QEMU,
    '-accel', o.accel,
    '-nodefaults', '-vga', 'none', '-display', 'none',
    '-m', '64',
    '-name', `guest=${o.name}`,
    '-S',
    '-qmp', `unix:${socket},server=on,wait=off`,
    ...(o.extraArgs ?? []),
  ];
  const daemon = startDaemon(scope, { name: `qemu ${o.name}`, argv, logFile: join(dir, 'qemu.log') });
  const qmp = await QmpClient.connect(socket, { timeoutMs: 15_000 });
  scope.defer(`close QMP of ${o.name}`, () => qmp.close());
  return { daemon, qmp, pid: daemon.pid, dir };
}

/** Let the paused guest run its firmware. */
export async function resume(guest: FirmwareGuest): Promise<void> {
  await guest.qmp.execute('cont');
}

/** Why real tests cannot run here, or undefined when they can. */
export async function qemuMissing(): Promise<string | undefined> {
  try {
    await runCommand([QEMU, '--version'], { timeoutMs: 10_000 });
    return undefined;
  } catch (err) {
    return `${QEMU} is not usable here (${(err as Error).message.split('\n')[0]})`;
  }
}

/** Whether QEMU can start a KVM guest here (probed by starting one, not assumed from /dev/kvm). */
export async function kvmMissing(scope: Scope): Promise<string | undefined> {
  if (!existsSync('/dev/kvm')) return '/dev/kvm does not exist';
  const missing = await qemuMissing();
  if (missing) return missing;
  const probe = scope.child('kvm probe');
  try {
    const guest = await startFirmwareGuest(probe, { accel: 'kvm', name: 'kvm-probe' });
    await resume(guest);
    await sleep(300);
    if (!guest.daemon.running) return `QEMU with -accel kvm exited (${JSON.stringify(guest.daemon.exitInfo)})`;
    const status = await guest.qmp.execute<{ status: string }>('query-status');
    if (status.status !== 'running') return `a KVM guest does not run here (status ${status.status})`;
    return undefined;
  } catch (err) {
    return `QEMU with -accel kvm failed: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    await probe.close().catch(() => undefined);
  }
}

export function notRoot(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'needs root (perf tracepoints per process, debugfs)';
}
