// Reading a file the user named (a profile, a run's records, an image recipe and its files): only a
// regular file, and only up to a size that makes sense for that kind of file. Both are checked
// before a byte is read, so a FIFO, a device or a directory is refused at once (exit 2) instead of
// blocking the event loop or filling memory. Directories the user names get the same check.

import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { UsageError } from '../errors.ts';

/** Size caps by kind of file: far above any real one, far below what would hurt. */
export const MAX_BYTES = {
  /** A profile: a few hundred bytes in practice. */
  profile: 1 << 20,
  /** run.json: grows with backends and repetitions, tens of kB for a full run. */
  runRecord: 64 << 20,
  /** samples.ndjson: a few MB for a long run; V8 strings stop at about 512 MiB. */
  samples: 256 << 20,
  /** images/recipe.json. */
  recipe: 1 << 20,
  /** A file the recipe copies into the guest (init, agent script). */
  recipeFile: 16 << 20,
} as const;

export interface UserFileOptions {
  /** What the file is, in words: "profile", "run record". */
  what: string;
  maxBytes: number;
  /** What to do instead. */
  fix?: string;
}

/** What a non-regular file is, in words. */
export function kindOf(st: Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'of an unknown kind';
}

function describeSize(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${bytes} bytes`;
}

/**
 * The bytes of a regular file of at most `maxBytes`. Anything else is a UsageError naming the
 * file and what it is. The file is looked at (stat) before it is opened, because opening some
 * devices has effects of its own, and again on the open descriptor, in case it was swapped.
 */
export function readUserFile(path: string, o: UserFileOptions): Buffer {
  const refuse = (why: string) => new UsageError(`the ${o.what} ${path} ${why}`, o.fix);
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    throw refuse(`cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const check = (s: Stats) => {
    if (!s.isFile()) throw refuse(`is ${kindOf(s)}, not a regular file`);
    if (s.size > o.maxBytes) throw refuse(`is ${describeSize(s.size)}, more than the ${describeSize(o.maxBytes)} a ${o.what} may have`);
  };
  check(st);
  let fd: number;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not wait.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw refuse(`cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    check(fstatSync(fd));
    // Read until the end, never more than maxBytes + 1: a file that grows while it is read is bounded too.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, o.maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > o.maxBytes) throw refuse(`grew past the ${describeSize(o.maxBytes)} a ${o.what} may have while it was read`);
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

/** A folder the user named: it must exist and be a directory (symbolic links to one are fine). */
export function requireDirectory(path: string, what: string, fix?: string): void {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`the ${what} ${path} ${code === 'ENOENT' ? 'does not exist' : `cannot be used: ${code ?? (err as Error).message}`}`, fix);
  }
  if (!st.isDirectory()) throw new UsageError(`the ${what} ${path} is ${kindOf(st)}, not a directory`, fix);
}
