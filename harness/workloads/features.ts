// What each guest's NIC negotiated, read inside the guest, so a reader can see that two paths were
// compared like for like: the virtio feature bits from sysfs, or for other NICs the driver and the
// offloads ethtool reports as on.

import type { Endpoint } from './endpoint.ts';
import { parseEthtoolFeatures } from './offloads.ts';

/** Feature bit names of virtio (device-independent) and of the virtio network device (virtio 1.2, section 5.1.3). */
const VIRTIO_NET_BITS: Record<number, string> = {
  0: 'CSUM', 1: 'GUEST_CSUM', 2: 'CTRL_GUEST_OFFLOADS', 3: 'MTU', 5: 'MAC', 6: 'GSO', 7: 'GUEST_TSO4', 8: 'GUEST_TSO6',
  9: 'GUEST_ECN', 10: 'GUEST_UFO', 11: 'HOST_TSO4', 12: 'HOST_TSO6', 13: 'HOST_ECN', 14: 'HOST_UFO', 15: 'MRG_RXBUF',
  16: 'STATUS', 17: 'CTRL_VQ', 18: 'CTRL_RX', 19: 'CTRL_VLAN', 20: 'CTRL_RX_EXTRA', 21: 'GUEST_ANNOUNCE', 22: 'MQ',
  23: 'CTRL_MAC_ADDR', 24: 'NOTIFY_ON_EMPTY', 27: 'ANY_LAYOUT', 28: 'RING_INDIRECT_DESC', 29: 'RING_EVENT_IDX',
  32: 'VERSION_1', 33: 'ACCESS_PLATFORM', 34: 'RING_PACKED', 35: 'IN_ORDER', 36: 'ORDER_PLATFORM', 37: 'SR_IOV',
  38: 'NOTIFICATION_DATA', 40: 'RING_RESET', 61: 'RSC_EXT', 62: 'STANDBY', 63: 'SPEED_DUPLEX',
};

/** Decode the sysfs `features` string ('0'/'1' per bit, bit 0 first). */
export function decodeVirtioFeatures(bits: string): string[] {
  const names: string[] = [];
  const clean = bits.trim();
  if (!/^[01]+$/.test(clean)) return names;
  for (let i = 0; i < clean.length; i++) if (clean[i] === '1') names.push(VIRTIO_NET_BITS[i] ?? `bit${i}`);
  return names;
}

/**
 * Ask the guest's NIC for `queues` combined channels (queue pairs) and return how many it runs: the
 * tx queues the kernel shows in sysfs, which is what was negotiated and enabled (1 for a NIC
 * without multi-queue, e.g. an emulated Intel card, whatever was asked).
 */
export async function setNicQueues(g: Endpoint, queues: number, signal?: AbortSignal): Promise<number> {
  if (!g.iface) return 1;
  if (queues > 1) await g.exec(['ethtool', '--set-channels', g.iface, 'combined', String(queues)], 10, signal);
  const r = await g.exec(['ls', `/sys/class/net/${g.iface}/queues`], 10, signal);
  return Math.max(1, r.stdout.split(/\s+/).filter((q) => /^tx-\d+$/.test(q)).length);
}

export async function readNicFeatures(g: Endpoint, signal?: AbortSignal): Promise<string[]> {
  if (!g.iface) return [];
  const sysfs = await g.exec(['cat', `/sys/class/net/${g.iface}/device/features`], 10, signal);
  if (sysfs.status === 0 && /^[01]+\s*$/.test(sysfs.stdout)) return decodeVirtioFeatures(sysfs.stdout).map((n) => `virtio:${n}`);
  const driver = await g.exec(['ethtool', '--driver', g.iface], 10, signal);
  const name = /^driver:\s*(\S+)/m.exec(driver.stdout)?.[1] ?? 'unknown';
  const offloads = await g.exec(['ethtool', '--show-features', g.iface], 10, signal);
  const on = [...parseEthtoolFeatures(offloads.stdout)].filter(([, v]) => v).map(([k]) => `offload:${k}`);
  return [`driver:${name}`, ...on];
}
