// Every network I/O path iopath can measure, by id. Adding a path means adding a module and a line
// here; nothing else in the harness names a backend.

import { e1000 } from './e1000.ts';
import type { NicBackend } from './types.ts';
import { vhostNet } from './vhost-net.ts';
import { vhostUserTestpmd } from './vhost-user-testpmd.ts';
import { vhostUserTs } from './vhost-user-ts.ts';
import { virtioNet } from './virtio-net.ts';

export const backends = {
  e1000,
  'virtio-net': virtioNet,
  'vhost-net': vhostNet,
  'vhost-user-ts': vhostUserTs,
  'vhost-user-testpmd': vhostUserTestpmd,
} as const satisfies Record<string, NicBackend>;

export type BackendId = keyof typeof backends;

/** Ids in the order reports list them: from the most emulated path to the most direct. */
export const backendIds = Object.keys(backends) as BackendId[];

export function isBackendId(id: string): id is BackendId {
  return Object.hasOwn(backends, id);
}
