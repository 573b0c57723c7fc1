// Every network I/O path iopath can measure, by id. Adding a path means adding its module and a line
// to this list; nothing else in the harness names a path (docs/design.md, "One place per path").

import type { ExtraProbes } from '../host/facts.ts';
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

/** Every path, in the order reports list them (their `presentation.order`). */
export const pathList: readonly NicBackend[] = Object.values(backends).sort((a, b) => a.presentation.order - b.presentation.order);

/** Ids in the order reports list them: from the most emulated path to the most direct. */
export const backendIds = pathList.map((p) => p.id) as BackendId[];

export function isBackendId(id: string): id is BackendId {
  return Object.hasOwn(backends, id);
}

/** The devices and tools that these paths' requirements read, for `probeHost`. */
export function pathProbes(paths: readonly NicBackend[] = pathList): ExtraProbes {
  return {
    devices: [...new Set(paths.flatMap((p) => p.hostProbes?.devices ?? []))],
    tools: [...new Map(paths.flatMap((p) => p.hostProbes?.tools ?? []).map((t) => [t.program, t])).values()],
  };
}

/** Debian packages that these paths need, each once. */
export function pathPackages(paths: readonly NicBackend[] = pathList): string[] {
  return [...new Set(paths.flatMap((p) => p.debianPackages))];
}
