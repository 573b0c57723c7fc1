// Host network identities derived from an index and the run's tag, so every name, address and MAC
// of a run is predictable, unique per run, and recognisable as iopath's (the tag is in each name).

import { InternalError } from '../errors.ts';

/** The guests of the default topology: A runs the servers, B the clients. */
export const GUEST_NAMES = ['a', 'b'] as const;

export interface GuestIdentity {
  index: number;
  /** `a`, `b`, ... */
  name: string;
  mac: string;
  ip: string;
  prefix: number;
  /** Name of the tap device for tap-based paths (at most 15 characters, the kernel's limit). */
  tap: string;
}

/** Private subnet inside the run's own network namespace; it never touches the host's networks. */
const SUBNET = '10.99.0';
export const HOST_SIDE_IP = `${SUBNET}.254`;
export const PREFIX = 24;

export function guestIdentity(index: number, tag: string): GuestIdentity {
  if (!Number.isInteger(index) || index < 0 || index > 200) throw new InternalError(`guest index ${index} out of range`);
  const name = index < 26 ? String.fromCharCode(97 + index) : `g${index}`;
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    index,
    name,
    // 52:54:00 is QEMU's locally administered prefix; the next byte is a fixed iopath marker.
    mac: `52:54:00:1a:${hex(index >> 8)}:${hex((index & 0xff) + 1)}`,
    ip: `${SUBNET}.${index + 1}`,
    prefix: PREFIX,
    tap: `iop${tag}t${index}`,
  };
}

/** Name of the run's network namespace. */
export function netnsName(tag: string): string {
  return `iopath-${tag}`;
}

/** Name of the bridge inside the namespace. */
export function bridgeName(tag: string): string {
  return `iop${tag}br`;
}
