// Path `vhost-net`: virtio-net-pci whose queues the kernel's vhost worker serves (tap, vhost=on).
// QEMU leaves the data path; packets go guest <-> kernel thread `vhost-<qemu pid>` <-> tap. The
// worker's CPU is counted with its QEMU (host-cpu finds `vhost-<pid>` threads of every QEMU).

import { defineTapBackend } from './tap-bridge.ts';
import { virtioVectors } from './types.ts';

const DEVICE = '/dev/vhost-net';

export const vhostNet = defineTapBackend({
  id: 'vhost-net',
  title: 'vhost-net (kernel)',
  summary: 'virtio-net-pci served by the kernel vhost worker (tap, vhost=on): QEMU is off the data path.',
  presentation: { order: 30, color: '#009E73' },
  hostProbes: { devices: [DEVICE] },
  extraRequirements: (host) => {
    const ok = host.devices[DEVICE] === true;
    return [
      {
        what: DEVICE,
        ok,
        detail: ok ? 'present' : 'absent',
        reason: `there is no ${DEVICE} (the vhost_net module is not loaded, or the kernel lacks CONFIG_VHOST_NET)`,
        fix: 'modprobe vhost_net',
      },
    ];
  },
  tapProps: { vhost: true },
  multiQueue: true,
  vhostWorkers: true,
  device: (g, queues) => ({ driver: 'virtio-net-pci', props: { netdev: 'net0', mac: g.mac, mq: queues > 1 ? true : undefined, vectors: virtioVectors(queues) } }),
});
