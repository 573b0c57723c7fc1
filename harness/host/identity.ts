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

/**
 * Name of a network namespace of the run: one per tap path (`path` given), since several paths'
 * guests are up at once when the run measures in rounds. The tag stays last: recovery and the
 * leftover checks find a run's namespaces by it.
 */
export function netnsName(tag: string, path?: string): string {
  return path ? `iopath-${path}-${tag}` : `iopath-${tag}`;
}

/** The run tag in the name of one of iopath's network namespaces, or undefined for any other name. */
export function tagOfNetns(name: string): string | undefined {
  return /^iopath-(?:[a-z0-9][a-z0-9-]*-)?([0-9a-f]{6})$/.exec(name)?.[1];
}

/** Name of the bridge inside the namespace. */
export function bridgeName(tag: string): string {
  return `iop${tag}br`;
}
