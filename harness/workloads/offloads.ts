// Guest NIC offloads through ethtool: turn GSO, TSO, GRO, scatter-gather and checksum offloads off
// (so per-packet costs show), remember what was on, and put it back afterwards.

import { GuestError } from '../errors.ts';
import type { Endpoint } from './endpoint.ts';

/** `ethtool -K` short names and the `ethtool -k` long names they control. */
const OFFLOADS: readonly { short: string; long: string }[] = [
  { short: 'gro', long: 'generic-receive-offload' },
  { short: 'gso', long: 'generic-segmentation-offload' },
  { short: 'tso', long: 'tcp-segmentation-offload' },
  { short: 'sg', long: 'scatter-gather' },
  { short: 'tx', long: 'tx-checksumming' },
  { short: 'rx', long: 'rx-checksumming' },
];

export interface OffloadState {
  /** Short names of the offloads that were on before. */
  wasOn: string[];
  /** Long names still on after trying to turn them off (fixed by the driver). */
  stillOn: string[];
}

/** Parse `ethtool -k` into feature -> on. `[fixed]` features are reported like the others. */
export function parseEthtoolFeatures(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9-]+):\s+(on|off)\b/.exec(line);
    if (m) out.set(m[1]!, m[2] === 'on');
  }
  return out;
}

async function features(g: Endpoint, signal?: AbortSignal): Promise<Map<string, boolean>> {
  if (!g.iface) throw new GuestError(`${g.name}: no interface to change offloads on`);
  const r = await g.exec(['ethtool', '--show-features', g.iface], 15, signal);
  if (r.status !== 0) throw new GuestError(`${g.name}: ethtool --show-features ${g.iface} failed: ${r.stderr.trim()}`);
  return parseEthtoolFeatures(r.stdout);
}

export async function disableOffloads(g: Endpoint, signal?: AbortSignal): Promise<OffloadState> {
  const before = await features(g, signal);
  const wasOn = OFFLOADS.filter((o) => before.get(o.long)).map((o) => o.short);
  // One feature per call: ethtool refuses the whole list when one of them is fixed.
  for (const short of wasOn) await g.exec(['ethtool', '--features', g.iface!, short, 'off'], 15, signal);
  const after = await features(g, signal);
  return { wasOn, stillOn: OFFLOADS.filter((o) => after.get(o.long)).map((o) => o.long) };
}

export async function restoreOffloads(g: Endpoint, state: OffloadState, signal?: AbortSignal): Promise<void> {
  // Checksumming first: segmentation offloads depend on it and are refused while it is off.
  const order = ['tx', 'rx', 'sg', 'tso', 'gso', 'gro'];
  for (const short of order.filter((o) => state.wasOn.includes(o))) {
    await g.exec(['ethtool', '--features', g.iface!, short, 'on'], 15, signal);
  }
}
