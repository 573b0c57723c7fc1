// Rebuilds the debugfs kvm layout recorded with `ls -l` (fixtures/debugfs) as a real directory tree
// in a temporary folder, so the debugfs collector reads real files with the real names and modes.

import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ListedEntry {
  /** Path relative to the debugfs root, e.g. `kvm/17367-13/exits`. */
  path: string;
  directory: boolean;
  mode: number;
}

/** Parse the `$ ls -l <dir>` sections of the fixture. */
export function parseLsListing(text: string, root = '/sys/kernel/debug'): ListedEntry[] {
  const entries: ListedEntry[] = [];
  let dir: string | undefined;
  for (const line of text.split('\n')) {
    const ls = /^\$ ls -l (\S+)$/.exec(line);
    if (ls) {
      dir = ls[1]!.startsWith(root + '/') ? ls[1]!.slice(root.length + 1) : undefined;
      continue;
    }
    if (line.startsWith('$')) {
      dir = undefined;
      continue;
    }
    const m = /^([d-])([rwx-]{9})\s+\d+\s+\S+\s+\S+\s+\d+\s+\w+\s+\d+\s+[\d:]+\s+(\S+)$/.exec(line);
    if (!m || dir === undefined) continue;
    entries.push({ path: `${dir}/${m[3]}`, directory: m[1] === 'd', mode: modeBits(m[2]!) });
  }
  return entries;
}

function modeBits(rwx: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) if (rwx[i] !== '-') mode |= 1 << (8 - i);
  return mode;
}

/** Create the tree under a new temporary root; every file holds `0`. Returns the root. */
export function buildDebugfsTree(entries: readonly ListedEntry[]): string {
  const root = mkdtempSync(join(tmpdir(), 'iopath-debugfs-'));
  mkdirSync(join(root, 'kvm'));
  for (const e of entries.filter((x) => x.directory)) mkdirSync(join(root, e.path), { recursive: true });
  for (const e of entries.filter((x) => !x.directory)) {
    writeFileSync(join(root, e.path), '0\n');
    chmodSync(join(root, e.path), e.mode);
  }
  return root;
}

/** Write a counter the way debugfs presents it (decimal and a newline). */
export function setCounter(root: string, path: string, value: number): void {
  writeFileSync(join(root, path), `${value}\n`);
}
