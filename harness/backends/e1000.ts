// Path `e1000`: QEMU emulates an Intel 82540EM. Every register access of the guest driver traps to
// QEMU, which is what makes this path slow and exit-heavy. Host side: a tap on the run's bridge.
// It is the reference: every other path is reported relative to it.

import { defineTapBackend } from './tap-bridge.ts';

export const e1000 = defineTapBackend({
  id: 'e1000',
  title: 'e1000 (emulated)',
  summary: 'Emulated Intel e1000: every NIC register access traps to QEMU; tap into a bridge.',
  // Okabe–Ito vermilion (every path's colour is from that palette, which survives colour blindness).
  presentation: { order: 10, color: '#D55E00', reference: true },
  tapProps: {},
  device: (g) => ({ driver: 'e1000', props: { netdev: 'net0', mac: g.mac } }),
});
