// What each guest's NIC negotiated, read inside the guest, so a reader can see that two paths were
// compared like for like: the virtio feature bits from sysfs, or for other NICs the driver and the
// offloads ethtool reports as on.

import type { Endpoint } from './endpoint.ts';
import { decodeVirtioFeatures, featureBits, featureOfProperty } from '../vm/virtio-features.ts';
import { parseEthtoolFeatures } from './offloads.ts';

/** Decode the sysfs `features` string ('0'/'1' per bit, bit 0 first) to short names (the table is harness/vm/virtio-features.ts). */
export { decodeVirtioFeatures };

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

/** What one guest's NIC negotiated, as read in the guest after its interface came up. */
export interface NicNegotiation {
  /** The virtio feature bits from sysfs ('0'/'1' per bit, bit 0 first), for a virtio NIC. */
  virtioBits?: string;
  /** The driver ethtool names, when the NIC is not virtio. */
  driver?: string;
  /** Every offload `ethtool -k` lists, on or off (absent when ethtool failed). */
  offloads?: Record<string, boolean>;
  /** The interface's MTU as the guest's kernel has it (a variant's MTU is checked against it). */
  mtu?: number;
}

/** Read the NIC's negotiated virtio features (sysfs) and its offloads (`ethtool -k`, in the guest image). */
export async function readNicNegotiation(g: Endpoint, signal?: AbortSignal): Promise<NicNegotiation> {
  if (!g.iface) return {};
  const out: NicNegotiation = {};
  const sysfs = await g.exec(['cat', `/sys/class/net/${g.iface}/device/features`], 10, signal);
  if (sysfs.status === 0 && /^[01]+\s*$/.test(sysfs.stdout)) out.virtioBits = sysfs.stdout.trim();
  else {
    const driver = await g.exec(['ethtool', '--driver', g.iface], 10, signal);
    out.driver = /^driver:\s*(\S+)/m.exec(driver.stdout)?.[1] ?? 'unknown';
  }
  const offloads = await g.exec(['ethtool', '--show-features', g.iface], 10, signal);
  if (offloads.status === 0) out.offloads = Object.fromEntries(parseEthtoolFeatures(offloads.stdout));
  // With segmentation offloads on, packet sizes at the NIC do not show the MTU; the interface does.
  const mtu = await g.exec(['cat', `/sys/class/net/${g.iface}/mtu`], 10, signal);
  if (mtu.status === 0 && /^\d+\s*$/.test(mtu.stdout)) out.mtu = Number(mtu.stdout.trim());
  return out;
}

/** The features run.json lists per guest: the virtio bits' names, or the driver and the offloads that are on. */
export function featureNames(n: NicNegotiation): string[] {
  if (n.virtioBits !== undefined) return decodeVirtioFeatures(n.virtioBits).map((name) => `virtio:${name}`);
  const on = Object.entries(n.offloads ?? {}).filter(([, v]) => v).map(([k]) => `offload:${k}`);
  return [`driver:${n.driver ?? 'unknown'}`, ...on];
}

/** A device property a variant set that a guest's NIC did not end up with. */
export interface Refused {
  guest: string;
  property: string;
  /** The spec name of the feature bit it switches. */
  feature: string;
  asked: boolean;
  negotiated: boolean;
}

/**
 * The properties of `device` that switch a virtio feature bit (harness/vm/virtio-features.ts) and
 * whose bit a guest did not negotiate as asked: asked off but negotiated on (the device or the
 * back-end kept offering it), or asked on but not negotiated (the back-end or the guest's driver
 * does not do it). Guests that exposed no virtio bits are not judged.
 */
export function findRefused(device: Readonly<Record<string, unknown>>, negotiated: Readonly<Record<string, NicNegotiation>>): Refused[] {
  const out: Refused[] = [];
  for (const [guest, n] of Object.entries(negotiated)) {
    if (n.virtioBits === undefined) continue;
    const bits = new Set(featureBits(n.virtioBits));
    for (const [property, value] of Object.entries(device)) {
      const f = featureOfProperty(property);
      if (!f || typeof value !== 'boolean') continue;
      const got = bits.has(f.bit);
      if (got !== value) out.push({ guest, property, feature: f.name, asked: value, negotiated: got });
    }
  }
  return out;
}
