// What the guest image and the lab image are both made of: Debian packages fetched with
// `apt-get download` and unpacked with `dpkg-deb` (no root needed), one kernel among them, and an
// initramfs tree written as cpio entries with every parent directory listed once.

import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { HostError } from '../errors.ts';
import { runCommand } from '../host/proc.ts';
import type { CpioEntry } from './cpio.ts';

/** Fetch `name=version` packages into `work/debs` and unpack them into `work/root`; returns the root and the one kernel release in it. */
export async function unpackPackages(versions: Record<string, string>, work: string, signal?: AbortSignal): Promise<{ root: string; kernelRelease: string }> {
  const debs = join(work, 'debs');
  const root = join(work, 'root');
  await mkdir(debs, { recursive: true });
  await mkdir(root, { recursive: true });
  const specs = Object.entries(versions).map(([name, version]) => `${name}=${version}`);
  // As root, apt drops to the _apt user for downloads, which cannot write our folder; downloading
  // as the invoking user is what `apt-get download` does for non-root users anyway.
  await runCommand(['apt-get', 'download', '-o', 'APT::Sandbox::User=root', ...specs], {
    cwd: debs,
    signal,
    timeoutMs: 10 * 60_000,
    fix: 'apt-get update',
  });
  for (const deb of (await readdir(debs)).filter((f) => f.endsWith('.deb'))) {
    await runCommand(['dpkg-deb', '-x', join(debs, deb), root], { signal });
  }
  const moduleRoot = join(root, 'lib', 'modules');
  const releases = existsSync(moduleRoot) ? await readdir(moduleRoot) : [];
  const kernelRelease = releases[0];
  if (!kernelRelease || releases.length !== 1) throw new HostError(`expected one kernel in the unpacked packages, found ${releases.join(', ') || 'none'}`);
  return { root, kernelRelease };
}

/** An initramfs being assembled: directories are added once each, parents first. */
export class InitramfsTree {
  readonly entries: CpioEntry[] = [];
  #dirs = new Set<string>();

  /** A tree with these directories, /dev/console and /dev/null (what PID 1 needs before devtmpfs). */
  static withBasics(dirs: readonly string[]): InitramfsTree {
    const tree = new InitramfsTree();
    for (const d of dirs) tree.addDir(d);
    tree.entries.push({ kind: 'chardev', path: '/dev/console', major: 5, minor: 1 });
    tree.entries.push({ kind: 'chardev', path: '/dev/null', major: 1, minor: 3, mode: 0o666 });
    return tree;
  }

  addDir(path: string): void {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const p = '/' + parts.slice(0, i).join('/');
      if (!this.#dirs.has(p)) {
        this.#dirs.add(p);
        this.entries.push({ kind: 'dir', path: p });
      }
    }
  }

  addFile(path: string, data: Buffer, mode: number): void {
    this.addDir(posix.dirname(path));
    this.entries.push({ kind: 'file', path, data, mode });
  }
}
