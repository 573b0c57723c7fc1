// What the switch offers and accepts (docs/vhost-user.md §0, §1.5, §2.2), and readable names for logs.

import { bit, F, PF } from './protocol/messages.ts';

/** Phase 1: the ring features. */
export const RING_FEATURES = bit(F.VERSION_1) | bit(F.MRG_RXBUF) | bit(F.INDIRECT_DESC) | bit(F.EVENT_IDX);
/** Phase 2: checksum and TSO offloads, forwarded untouched between ports that both negotiated them. */
export const OFFLOAD_FEATURES =
  bit(F.CSUM) | bit(F.GUEST_CSUM) | bit(F.HOST_TSO4) | bit(F.HOST_TSO6) | bit(F.GUEST_TSO4) | bit(F.GUEST_TSO6);
/**
 * IN_ORDER (virtio 1.1 §2.6.9): the device uses buffers in the order they were made available. The
 * switch always does (it never completes a chain out of order: held frames stay unconsumed, drops
 * are returned in place), so offering it costs nothing and lets DPDK virtio-user take its faster
 * in-order paths. QEMU 7.2 does not pass it to vhost-user back-ends, so guests never see it.
 */
export const IN_ORDER_FEATURE = bit(F.IN_ORDER);
/** Everything offered by a one-queue-pair port. PROTOCOL_FEATURES (bit 30) lets the front-end negotiate REPLY_ACK and MQ. */
export const DEFAULT_FEATURES = RING_FEATURES | OFFLOAD_FEATURES | IN_ORDER_FEATURE | bit(F.PROTOCOL_FEATURES);
/** Protocol features: REPLY_ACK and MQ only (never INBAND_NOTIFICATIONS, see §0). */
export const PROTOCOL_FEATURES = bit(PF.MQ) | bit(PF.REPLY_ACK);
/** Queue pairs each port serves unless told otherwise (the answer to GET_QUEUE_NUM). */
export const DEFAULT_QUEUE_PAIRS = 4;
/** Most queue pairs a port may serve (the virtio net device allows 0x8000; the switch has one data thread). */
export const MAX_QUEUE_PAIRS = 16;

/**
 * The virtio features a port serving `queuePairs` offers: the defaults, plus VIRTIO_NET_F_MQ when
 * there is more than one pair (§0: offer MQ only with GET_QUEUE_NUM > 1). The control queue that
 * MQ needs is the front-end's own (QEMU and virtio-user emulate it), so CTRL_VQ is not offered.
 */
export function offeredFeatures(queuePairs: number, base: bigint = DEFAULT_FEATURES): bigint {
  return queuePairs > 1 ? base | bit(F.MQ) : base & ~bit(F.MQ);
}

/**
 * Spec dependencies (virtio 1.1 §5.1.3.1): a feature is only meaningful with the one it requires.
 * A front-end may ack one without the other all the same: with `csum=off` on its device QEMU 7.2
 * still offers HOST_TSO4/6, and Linux's driver acks them (it then sends no TSO frame, having no
 * checksum offload). Refusing the set would end the connection and the path; the switch instead
 * takes such a feature as not negotiated, and the per-frame checks of the header do the rest.
 */
const DEPENDS: [number, number][] = [
  [F.HOST_TSO4, F.CSUM],
  [F.HOST_TSO6, F.CSUM],
  [F.GUEST_TSO4, F.GUEST_CSUM],
  [F.GUEST_TSO6, F.GUEST_CSUM],
];

/** Why `acked` cannot be accepted when `offered` was offered (a bit never offered), or undefined. */
export function featureProblem(acked: bigint, offered: bigint): string | undefined {
  const extra = acked & ~offered;
  if (extra !== 0n) return `features never offered: ${featureNames(extra)}`;
  return undefined;
}

/** The acked features the switch acts on: those whose required feature was acked too; and, in words, the rest. */
export function usableFeatures(acked: bigint): { usable: bigint; ignored: string[] } {
  let usable = acked;
  const ignored: string[] = [];
  for (const [f, needs] of DEPENDS) {
    if ((acked & bit(f)) !== 0n && (acked & bit(needs)) === 0n) {
      usable &= ~bit(f);
      ignored.push(`${nameOf(f)} without ${nameOf(needs)}`);
    }
  }
  return { usable, ignored };
}

function nameOf(b: number): string {
  for (const [name, v] of Object.entries(F)) if (v === b) return name;
  return `bit${b}`;
}

/** "VERSION_1 MRG_RXBUF ..." for a feature word. */
export function featureNames(bits: bigint): string {
  const names: string[] = [];
  for (let b = 0; b < 64; b++) if ((bits & bit(b)) !== 0n) names.push(nameOf(b));
  return names.join(' ') || '(none)';
}

export function protocolFeatureNames(bits: bigint): string {
  const names: string[] = [];
  for (const [name, v] of Object.entries(PF)) if ((bits & bit(v)) !== 0n) names.push(name);
  return names.join(' ') || '(none)';
}
