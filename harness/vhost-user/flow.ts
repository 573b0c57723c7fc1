// Which receive queue of a multi-queue port a frame goes to: a hash of its flow, so every frame of
// one flow lands on the same queue (in order), and different flows spread over the queues. The
// flow is the IPv4/IPv6 address pair, the protocol, and for unfragmented TCP and UDP the port
// pair; other frames hash by their MAC addresses and ethertype. The hash is symmetric (both
// directions of a connection hash alike), like the Toeplitz key most NICs use for RSS.

/** Bytes of a frame the hash may read: Ethernet + VLAN tag + IPv6 header + the L4 port pair. */
export const FLOW_BYTES = 14 + 4 + 40 + 4;

/** Flow hash of the frame whose first byte is b[at], of which n bytes are readable. */
export function flowHash(b: Uint8Array, at: number, n: number): number {
  if (n < 14) return 0;
  const end = at + n;
  let l3 = at + 14;
  let type = (b[at + 12]! << 8) | b[at + 13]!;
  if (type === 0x8100 && n >= 18) {
    type = (b[at + 16]! << 8) | b[at + 17]!;
    l3 += 4;
  }
  let h: number;
  if (type === 0x0800 && l3 + 20 <= end) {
    const proto = b[l3 + 9]!;
    h = word(b, l3 + 12) ^ word(b, l3 + 16) ^ proto;
    const l4 = l3 + (b[l3]! & 0xf) * 4;
    const fragment = ((b[l3 + 6]! & 0x3f) << 8) | b[l3 + 7]!; // MF flag and offset
    if ((proto === 6 || proto === 17) && fragment === 0 && l4 + 4 <= end) h ^= ports(b, l4);
  } else if (type === 0x86dd && l3 + 40 <= end) {
    const next = b[l3 + 6]!;
    h = next;
    for (let k = 8; k < 40; k += 4) h ^= word(b, l3 + k);
    if ((next === 6 || next === 17) && l3 + 44 <= end) h ^= ports(b, l3 + 40);
  } else {
    h = word(b, at) ^ word(b, at + 6) ^ ((b[at + 4]! << 8) | b[at + 5]!) ^ ((b[at + 10]! << 8) | b[at + 11]!) ^ type;
  }
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}

function word(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** Source and destination port folded so that swapping them gives the same value. */
function ports(b: Uint8Array, at: number): number {
  const s = (b[at]! << 8) | b[at + 1]!;
  const d = (b[at + 2]! << 8) | b[at + 3]!;
  return (s ^ d) | ((s + d) << 16);
}
