// What the lab VM sees of the host: the host's root file system read-only, the lab's own exchange
// folder, and writable shares for everything the command inside writes (the project's results/
// and reports/, and the folders its --results-dir, --reports-dir and --out flags name), mounted at
// the same paths. Everything else inside is read-only, or tmpfs (/tmp, /run, /var/tmp); a checkout
// under one of those gets a read-only share of its own.

import { mkdirSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { UsageError } from '../errors.ts';
import type { Share } from './l1-args.ts';

/** Folders L1 covers with tmpfs: whatever the host keeps there is hidden inside. */
export const TMPFS_PATHS = ['/tmp', '/run', '/var/tmp', '/dev/shm'] as const;

/** Flags of iopath commands that name a folder the command writes. */
export const OUTPUT_FLAGS = ['--results-dir', '--reports-dir', '--out'] as const;

export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The folders the command writes: the defaults, plus what its output flags name (relative to cwd). */
export function outputFolders(args: readonly string[], cwd: string, defaults: readonly string[]): string[] {
  const found = [...defaults];
  args.forEach((a, i) => {
    for (const flag of OUTPUT_FLAGS) {
      if (a === flag && args[i + 1] !== undefined) found.push(resolve(cwd, args[i + 1]!));
      else if (a.startsWith(`${flag}=`)) found.push(resolve(cwd, a.slice(flag.length + 1)));
    }
  });
  return found;
}

/**
 * The writable shares for these folders: each folder once, none inside another (the outer one is
 * writable already), parents before children. Folders are created on the host when missing.
 */
export function writableShares(folders: readonly string[]): Share[] {
  const unique = [...new Set(folders.map((f) => resolve(f)))].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const f of unique) {
    if (/[\n\r]/.test(f)) throw new UsageError(`the lab cannot share a folder whose name holds a line break: ${JSON.stringify(f)}`);
    if (f === '/') throw new UsageError('the lab cannot make the whole root file system writable', 'pass a folder of its own to --results-dir, --reports-dir or --out');
    if (kept.some((k) => isInside(f, k))) continue;
    kept.push(f);
  }
  return kept.map((hostPath, i) => {
    mkdirSync(hostPath, { recursive: true });
    return { tag: `rw${i}`, hostPath, mountPath: hostPath, readonly: false };
  });
}

/**
 * The share that keeps a checkout visible inside when it lies under a folder L1 covers with tmpfs
 * (a clone under /tmp, as CI machines often make): the checkout, read-only, at its own path over
 * the tmpfs. Undefined when the host's root shows it already.
 */
export function checkoutShare(projectRoot: string): Share | undefined {
  if (!TMPFS_PATHS.some((p) => isInside(projectRoot, p))) return undefined;
  if (/[\n\r]/.test(projectRoot)) throw new UsageError(`the lab cannot share a checkout whose path holds a line break: ${JSON.stringify(projectRoot)}`);
  return { tag: 'checkout', hostPath: projectRoot, mountPath: projectRoot, readonly: true };
}
