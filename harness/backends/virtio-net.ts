// Path `virtio-net`: a paravirtual virtio-net-pci device whose queues QEMU itself services in
// userspace (tap with vhost=off). One notification per batch, but every packet crosses QEMU.

import { defineTapBackend } from './tap-bridge.ts';
import { virtioVectors } from './types.ts';

export const virtioNet = defineTapBackend({
  id: 'virtio-net',
  title: 'virtio-net (QEMU userspace)',
  summary: 'virtio-net-pci served by QEMU in userspace (tap, vhost=off): every packet crosses QEMU.',
  presentation: { order: 20, color: '#0072B2' },
  tapProps: { vhost: false },
  multiQueue: true,
  device: (g, queues) => ({ driver: 'virtio-net-pci', props: { netdev: 'net0', mac: g.mac, mq: queues > 1 ? true : undefined, vectors: virtioVectors(queues) } }),
});
