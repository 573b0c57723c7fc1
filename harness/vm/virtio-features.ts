// The virtio feature bits iopath names, in one table: their number (virtio 1.2, sections 2 and 6
// for the device-independent bits, 5.1.3 for the network device's), their spec name, and the
// property of QEMU's virtio-net-pci that offers or withholds each. The guest's
// /sys/class/net/<if>/device/features is the negotiated set, one '0'/'1' per bit, bit 0 first.

export interface VirtioFeature {
  bit: number;
  /** The spec's name, e.g. `VIRTIO_RING_F_EVENT_IDX`. */
  name: string;
  /** The QEMU virtio-net-pci property that switches the device's offer of this bit, when there is one. */
  property?: string;
}

export const VIRTIO_FEATURES: readonly VirtioFeature[] = [
  { bit: 0, name: 'VIRTIO_NET_F_CSUM', property: 'csum' },
  { bit: 1, name: 'VIRTIO_NET_F_GUEST_CSUM', property: 'guest_csum' },
  { bit: 2, name: 'VIRTIO_NET_F_CTRL_GUEST_OFFLOADS', property: 'ctrl_guest_offloads' },
  { bit: 3, name: 'VIRTIO_NET_F_MTU' },
  { bit: 5, name: 'VIRTIO_NET_F_MAC' },
  { bit: 6, name: 'VIRTIO_NET_F_GSO', property: 'gso' },
  { bit: 7, name: 'VIRTIO_NET_F_GUEST_TSO4', property: 'guest_tso4' },
  { bit: 8, name: 'VIRTIO_NET_F_GUEST_TSO6', property: 'guest_tso6' },
  { bit: 9, name: 'VIRTIO_NET_F_GUEST_ECN', property: 'guest_ecn' },
  { bit: 10, name: 'VIRTIO_NET_F_GUEST_UFO', property: 'guest_ufo' },
  { bit: 11, name: 'VIRTIO_NET_F_HOST_TSO4', property: 'host_tso4' },
  { bit: 12, name: 'VIRTIO_NET_F_HOST_TSO6', property: 'host_tso6' },
  { bit: 13, name: 'VIRTIO_NET_F_HOST_ECN', property: 'host_ecn' },
  { bit: 14, name: 'VIRTIO_NET_F_HOST_UFO', property: 'host_ufo' },
  { bit: 15, name: 'VIRTIO_NET_F_MRG_RXBUF', property: 'mrg_rxbuf' },
  { bit: 16, name: 'VIRTIO_NET_F_STATUS', property: 'status' },
  { bit: 17, name: 'VIRTIO_NET_F_CTRL_VQ', property: 'ctrl_vq' },
  { bit: 18, name: 'VIRTIO_NET_F_CTRL_RX', property: 'ctrl_rx' },
  { bit: 19, name: 'VIRTIO_NET_F_CTRL_VLAN', property: 'ctrl_vlan' },
  { bit: 20, name: 'VIRTIO_NET_F_CTRL_RX_EXTRA', property: 'ctrl_rx_extra' },
  { bit: 21, name: 'VIRTIO_NET_F_GUEST_ANNOUNCE', property: 'guest_announce' },
  { bit: 22, name: 'VIRTIO_NET_F_MQ', property: 'mq' },
  { bit: 23, name: 'VIRTIO_NET_F_CTRL_MAC_ADDR', property: 'ctrl_mac_addr' },
  { bit: 24, name: 'VIRTIO_F_NOTIFY_ON_EMPTY', property: 'notify_on_empty' },
  { bit: 27, name: 'VIRTIO_F_ANY_LAYOUT', property: 'any_layout' },
  { bit: 28, name: 'VIRTIO_RING_F_INDIRECT_DESC', property: 'indirect_desc' },
  { bit: 29, name: 'VIRTIO_RING_F_EVENT_IDX', property: 'event_idx' },
  { bit: 32, name: 'VIRTIO_F_VERSION_1' },
  { bit: 33, name: 'VIRTIO_F_ACCESS_PLATFORM', property: 'iommu_platform' },
  { bit: 34, name: 'VIRTIO_F_RING_PACKED', property: 'packed' },
  { bit: 35, name: 'VIRTIO_F_IN_ORDER' },
  { bit: 36, name: 'VIRTIO_F_ORDER_PLATFORM' },
  { bit: 37, name: 'VIRTIO_F_SR_IOV' },
  { bit: 38, name: 'VIRTIO_F_NOTIFICATION_DATA' },
  { bit: 39, name: 'VIRTIO_F_NOTIF_CONFIG_DATA' },
  { bit: 40, name: 'VIRTIO_F_RING_RESET', property: 'queue_reset' },
  { bit: 52, name: 'VIRTIO_NET_F_VQ_NOTF_COAL' },
  { bit: 53, name: 'VIRTIO_NET_F_NOTF_COAL' },
  { bit: 54, name: 'VIRTIO_NET_F_GUEST_USO4', property: 'guest_uso4' },
  { bit: 55, name: 'VIRTIO_NET_F_GUEST_USO6', property: 'guest_uso6' },
  { bit: 56, name: 'VIRTIO_NET_F_HOST_USO', property: 'host_uso' },
  { bit: 57, name: 'VIRTIO_NET_F_HASH_REPORT', property: 'hash' },
  { bit: 59, name: 'VIRTIO_NET_F_GUEST_HDRLEN' },
  { bit: 60, name: 'VIRTIO_NET_F_RSS', property: 'rss' },
  { bit: 61, name: 'VIRTIO_NET_F_RSC_EXT', property: 'guest_rsc_ext' },
  { bit: 62, name: 'VIRTIO_NET_F_STANDBY', property: 'failover' },
  { bit: 63, name: 'VIRTIO_NET_F_SPEED_DUPLEX' },
];

const byBit = new Map(VIRTIO_FEATURES.map((f) => [f.bit, f]));
const byProperty = new Map(VIRTIO_FEATURES.filter((f) => f.property).map((f) => [f.property!, f]));

/**
 * The short name of a bit as run.json records it (`RING_EVENT_IDX`, `GUEST_CSUM`): the spec name
 * without its `VIRTIO_NET_F_`, `VIRTIO_RING_F_` or `VIRTIO_F_` prefix (`RING_` kept for the ring
 * bits, so the name says what it is about); `bit<n>` for a bit not in the table.
 */
export function featureShortName(bit: number): string {
  const f = byBit.get(bit);
  if (!f) return `bit${bit}`;
  return f.name.replace(/^VIRTIO_NET_F_/, '').replace(/^VIRTIO_RING_F_/, 'RING_').replace(/^VIRTIO_F_/, '');
}

/** The feature a QEMU virtio-net-pci property switches, when it switches one. */
export function featureOfProperty(property: string): VirtioFeature | undefined {
  return byProperty.get(property);
}

/** The bits set in a sysfs `features` string ('0'/'1' per bit, bit 0 first); [] when it is not one. */
export function featureBits(bits: string): number[] {
  const clean = bits.trim();
  if (!/^[01]+$/.test(clean)) return [];
  const out: number[] = [];
  for (let i = 0; i < clean.length; i++) if (clean[i] === '1') out.push(i);
  return out;
}

/** Decode the sysfs `features` string to the bits' short names. */
export function decodeVirtioFeatures(bits: string): string[] {
  return featureBits(bits).map(featureShortName);
}
