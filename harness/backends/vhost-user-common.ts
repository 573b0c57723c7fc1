// What both vhost-user paths share: the guest side (shared memory, a vhost-user netdev on a UNIX
// socket) and the QEMU 7.2 MSI-X workaround under software emulation.

import type { GuestIdentity } from '../host/identity.ts';
import type { NicConfig } from '../vm/qemu-args.ts';
import { virtioVectors, type NicEnv } from './types.ts';

/**
 * QEMU before 8.0 under TCG segfaults in msix_set_vector_notifiers (from vhost_net_start) when the
 * guest starts a vhost-user virtio-net device with MSI-X; legacy INTx (`vectors=0`) avoids it. Under
 * KVM, and on QEMU 8.0 and later, MSI-X stays on. (HOST-NOTES.md; fixed upstream in 8.0.)
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
