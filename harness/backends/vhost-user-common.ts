// What both vhost-user paths share: the guest side (shared memory, a vhost-user netdev on a UNIX
// socket), the QEMU 7.2 MSI-X workaround under software emulation, the wait for a switch's sockets,
// and the switch port metrics both switches report.

import { existsSync } from 'node:fs';
import { TimeoutError, ToolError } from '../errors.ts';
import { sleep, type Daemon } from '../host/proc.ts';
import type { GuestIdentity } from '../host/identity.ts';
import type { MetricName } from '../metrics.ts';
import type { NicConfig } from '../vm/qemu-args.ts';
import { virtioVectors, type NicEnv } from './types.ts';

/**
 * QEMU before 8.0 under TCG segfaults in msix_set_vector_notifiers (from vhost_net_start) when the
 * guest starts a vhost-user virtio-net-pci device with MSI-X; legacy INTx (`vectors=0`) avoids it. Under
 * KVM, and on QEMU 8.0 and later, MSI-X stays on (docs/host-notes.md, "vhost-user").
 */
export function needsMsixWorkaround(env: Pick<NicEnv, 'accel' | 'qemuVersion'>): boolean {
  return env.accel === 'tcg' && env.qemuVersion.major < 8;
}

export const MSIX_NOTE =
  'virtio-net-pci with vectors=0 (legacy INTx instead of MSI-X): QEMU before 8.0 crashes under TCG when a vhost-user device uses MSI-X; interrupts cost more this way';

/** A vhost-user NIC connecting (as client) to `socket`; guest RAM becomes a shareable memfd. */
export function vhostUserNic(guest: GuestIdentity, socket: string, env: Pick<NicEnv, 'accel' | 'qemuVersion' | 'queues'>): NicConfig {
  const queues = env.queues ?? 1;
  return {
    chardevs: [{ backend: 'socket', id: 'vhostuser0', props: { path: socket } }],
    netdevs: [{ type: 'vhost-user', id: 'net0', props: { chardev: 'vhostuser0', queues } }],
    devices: [{ driver: 'virtio-net-pci', props: { netdev: 'net0', mac: guest.mac, mq: queues > 1 ? true : undefined, vectors: needsMsixWorkaround(env) ? 0 : virtioVectors(queues) } }],
    sharedMemory: true,
  };
}

/** Port counters every vhost-user switch reports over a window (dims: port, direction). */
export const SWITCH_PORT_METRICS: readonly MetricName[] = ['switchPackets', 'switchBytes', 'switchDrops'];

/** Wait until a switch has created every socket; fails early when it exits, and after `budgetMs`. */
export async function waitForSockets(what: string, daemon: Daemon, sockets: readonly string[], budgetMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + budgetMs;
  while (!sockets.every((s) => existsSync(s))) {
    if (!daemon.running) throw new ToolError(`${what} exited during start-up (${JSON.stringify(daemon.exitInfo)}); see its log`);
    if (Date.now() > deadline) throw new TimeoutError(`${what} sockets`, budgetMs);
    await sleep(50, signal);
  }
}
