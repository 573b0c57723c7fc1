// Path `vhost-net`: virtio-net-pci whose queues the kernel's vhost worker serves (tap, vhost=on).
// QEMU leaves the data path; packets go guest <-> kernel thread `vhost-<qemu pid>` <-> tap.

import { readdirSync, readFileSync } from 'node:fs';
import { defineTapBackend } from './tap-bridge.ts';
import { virtioVectors } from './types.ts';

export const vhostNet = defineTapBackend({
  id: 'vhost-net',
  title: 'vhost-net (kernel)',
  summary: 'virtio-net-pci served by the kernel vhost worker (tap, vhost=on): QEMU is off the data path.',
  extraRequirements: (host) => [
    { what: '/dev/vhost-net', ok: host.devVhostNet, reason: 'there is no /dev/vhost-net (the vhost_net module is not loaded, or the kernel lacks CONFIG_VHOST_NET)', fix: 'modprobe vhost_net' },
  ],
  tapProps: { vhost: true },
  multiQueue: true,
  device: (g, queues) => ({ driver: 'virtio-net-pci', props: { netdev: 'net0', mac: g.mac, mq: queues > 1 ? true : undefined, vectors: virtioVectors(queues) } }),
  processes: (guests) =>
    guests.flatMap((g) => [
      // The vhost worker is a kernel thread named after the QEMU it works for; kernels from 6.4 make
      // it a thread of QEMU itself, which the QEMU entry already covers.
      ...vhostWorkers(g.qemuPid).map((pid) => ({ role: `vhost ${g.name}`, pid })),
    ]),
});

/** PIDs of kernel threads named `vhost-<qemuPid>`. */
export function vhostWorkers(qemuPid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === `vhost-${qemuPid}`) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}
