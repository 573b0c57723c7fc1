// Limits of the command-line flags that no profile field covers (the bench flags are checked by the
// profile schema itself, in plan.ts), and the checks of paths given on the command line. Every
// problem is a UsageError (exit 2) that names the flag.

import { lstatSync } from 'node:fs';
import { z } from 'zod';
import { UsageError } from '../errors.ts';
import { kindOf } from './user-file.ts';

/** Set (to anything but "0") to keep iopath from installing Debian packages, as --no-install does. */
export const NO_INSTALL_ENV = 'IOPATH_NO_INSTALL';

export const overheadLimits = {
  /** On/off pairs of measured repetitions per path. */
  rounds: z.number().int().min(1).max(100),
  /** A throughput ratio: above 0, at most 1. */
  goal: z.number().gt(0).max(1),
  /** An agreement band: iopath/hand within ±tolerance. */
  tolerance: z.number().gt(0).lt(1),
  /** Guest memory of a hand-run pair, MiB. */
  memoryMiB: z.number().int().min(64).max(65536),
};

/**
 * Defaults of `iopath overhead`: enough on/off pairs for the interval to resolve a 3 % difference
 * (narrower than ±3 %) at the largest spread of pairs' log ratios measured on a 2-core TCG host
 * (0.080: 31 pairs; the smaller one measured, 0.026, needs 6), and the goal the collectors should keep.
 */
export const overheadDefaults = { rounds: 32, goal: 0.97 } as const;

/** Collectors `iopath overhead --collectors` can switch on (the ids of harness/collectors). */
export const overheadCollectorIds: readonly string[] = ['perf-kvm', 'perf-kvm-exit-reasons', 'debugfs', 'qmp-stats', 'tcg-trace', 'host-cpu', 'guest-nic'];

/** A comma-separated list of collector ids, each one known. */
export function checkCollectorIds(list: string, known: readonly string[]): string[] {
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new UsageError(`--collectors ${JSON.stringify(list)}: name at least one collector (known: ${known.join(', ')})`);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length) throw new UsageError(`--collectors: unknown collector ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return ids;
}

export const switchLimits = {
  statsIntervalMs: z.number().int().min(10).max(3_600_000),
};

/** Bytes of a UNIX socket path (sun_path holds 108, the last one for the terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

/** A numeric flag checked by its schema; the message names the flag and the value given. */
export function checkNumber(name: string, value: unknown, schema: z.ZodType<number>): number {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new UsageError(`--${name} ${Array.isArray(value) ? value.join(' ') : String(value)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
}

/** `iopath switch`: socket paths that fit a UNIX socket and are free or sockets; a stats file that is a file. */
export function checkSwitchArgs(sockets: readonly string[], stats: string | undefined, statsIntervalMs: number | undefined): void {
  if (statsIntervalMs !== undefined) checkNumber('stats-interval-ms', statsIntervalMs, switchLimits.statsIntervalMs);
  for (const s of sockets) {
    if (Buffer.byteLength(s) > MAX_SOCKET_PATH_BYTES) throw new UsageError(`--socket ${s}: ${Buffer.byteLength(s)} bytes, more than the ${MAX_SOCKET_PATH_BYTES} a UNIX socket path may have`, 'choose a shorter path');
    const kind = existingKind(s);
    if (kind && kind !== 'a socket') throw new UsageError(`--socket ${s}: the path exists and is ${kind}, not a socket`, 'choose a path that does not exist yet');
  }
  if (new Set(sockets).size !== sockets.length) throw new UsageError('--socket: the same path is given twice');
  if (stats !== undefined) {
    const kind = existingKind(stats);
    if (kind && kind !== 'a regular file') throw new UsageError(`--stats ${stats}: the path exists and is ${kind}, not a regular file`, 'choose a file path');
  }
}

function existingKind(path: string): string | undefined {
  try {
    const st = lstatSync(path);
    return kindOf(st);
  } catch {
    return undefined;
  }
}
