// The lab image: the initramfs of the nested KVM lab's first-level VM (L1). It pairs with the guest
// image's own kernel (same Debian package, same version), adds busybox, the KVM, vhost_net, tun,
// bridge and 9p modules with their dependencies, and images/lab/init. Built from Debian packages
// without root and cached under a hash of the guest image, the lab recipe and the init script.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HostError, UsageError } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import type { GuestImage } from './build.ts';
import { cpioNewc } from './cpio.ts';
import { InitramfsTree, unpackPackages } from './initramfs.ts';
import { indexModules, resolveModules } from './modinfo.ts';

/** Bump when the builder's output changes for the same inputs. */
const LAB_BUILDER_VERSION = 1;

export interface LabRecipe {
  /** Modules to load (their dependencies are found and loaded first). */
  modules: string[];
  /** Files taken from the unpacked packages, at the same path in L1 (busybox). */
  programs: string[];
  /** PID 1, relative to images/. */
  init: string;
  cmdline: string;
}

export interface LabImage {
  hash: string;
  dir: string;
  /** The guest image's kernel: L1 boots the very kernel its guests boot. */
  kernel: string;
  initrd: string;
  /** Kernel release, e.g. `6.1.0-57-amd64`. */
  kernelRelease: string;
  /** Modules in the order L1 loads them. */
  modules: string[];
  cmdline: string;
  cached: boolean;
}

export interface LabImageOptions {
  imagesDir?: string;
  cacheDir?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
  force?: boolean;
}

export async function loadLabRecipe(imagesDir: string): Promise<LabRecipe> {
  const path = join(imagesDir, 'lab', 'recipe.json');
  let raw: Partial<LabRecipe>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Partial<LabRecipe>;
  } catch (err) {
    throw new UsageError(`cannot read the lab recipe ${path}: ${(err as Error).message}`);
  }
  const missing = (['modules', 'programs', 'init', 'cmdline'] as const).filter((k) => raw[k] === undefined);
  if (missing.length) throw new UsageError(`${path}: missing ${missing.join(', ')}`);
  return raw as LabRecipe;
}

/** The guest image's kernel package and busybox, at the versions the guest image was built from. */
export function labPackages(guest: Pick<GuestImage, 'packages'>): Record<string, string> {
  const kernel = Object.keys(guest.packages).find((p) => p.startsWith('linux-image-'));
  const busybox = guest.packages['busybox-static'];
  if (!kernel || !busybox) throw new HostError('the guest image manifest names no kernel package or no busybox-static', 'iopath image build --force');
  return { [kernel]: guest.packages[kernel]!, 'busybox-static': busybox };
}

export async function labImageHash(guest: Pick<GuestImage, 'hash'>, recipe: LabRecipe, init: Buffer): Promise<string> {
  const h = createHash('sha256');
  h.update(`lab builder ${LAB_BUILDER_VERSION}\nguest image ${guest.hash}\n`);
  h.update(JSON.stringify(recipe));
  h.update(init);
  return h.digest('hex').slice(0, 16);
}

/** The cached lab image for this guest image, built first when missing. */
export async function ensureLabImage(guest: GuestImage, options: LabImageOptions = {}): Promise<LabImage> {
  const imagesDir = options.imagesDir ?? join(projectRoot, 'images');
  const cacheDir = options.cacheDir ?? join(imagesDir, 'cache');
  const log = options.log ?? (() => undefined);
  const recipe = await loadLabRecipe(imagesDir);
  const init = await readFile(join(imagesDir, recipe.init)).catch((err: Error) => {
    throw new UsageError(`cannot read the lab's init ${join(imagesDir, recipe.init)}: ${err.message}`);
  });
  const hash = await labImageHash(guest, recipe, init);
  const dir = join(cacheDir, `lab-${hash}`);
  const manifestPath = join(dir, 'manifest.json');
  const image = (m: { kernelRelease: string; modules: string[] }, cached: boolean): LabImage => ({
    hash,
    dir,
    kernel: guest.kernel,
    initrd: join(dir, 'initrd.img'),
    kernelRelease: m.kernelRelease,
    modules: m.modules,
    cmdline: recipe.cmdline,
    cached,
  });
  if (!options.force && existsSync(manifestPath)) {
    return image(JSON.parse(await readFile(manifestPath, 'utf8')) as { kernelRelease: string; modules: string[] }, true);
  }
  log(`building lab image ${hash} (L1 initramfs for kernel ${guest.guestKernel})`);
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  try {
    await mkdir(work, { recursive: true });
    const built = await build(recipe, labPackages(guest), init, work, options.signal);
    if (built.kernelRelease !== guest.guestKernel) {
      throw new HostError(`the lab's modules are for kernel ${built.kernelRelease}, the guest image's kernel is ${guest.guestKernel}`, 'iopath image build --force');
    }
    const manifest = { hash, guestImage: guest.hash, kernelRelease: built.kernelRelease, modules: built.modules, builtAt: new Date().toISOString() };
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(join(work, 'debs'), { recursive: true, force: true });
    await rm(join(work, 'root'), { recursive: true, force: true });
    if (options.force) await rm(dir, { recursive: true, force: true });
    try {
      await rename(work, dir);
    } catch (err) {
      if (!existsSync(manifestPath)) throw err; // another build of the same hash won the race
      await rm(work, { recursive: true, force: true });
    }
    log(`lab image ${hash} ready (${built.modules.length} modules, initramfs ${(built.initrdBytes / 1e6).toFixed(1)} MB)`);
    return image(built, false);
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

async function build(
  recipe: LabRecipe,
  packages: Record<string, string>,
  init: Buffer,
  work: string,
  signal?: AbortSignal,
): Promise<{ kernelRelease: string; modules: string[]; initrdBytes: number }> {
  const { root, kernelRelease } = await unpackPackages(packages, work, signal);
  const modules = await resolveModules(await indexModules(join(root, 'lib', 'modules', kernelRelease, 'kernel')), recipe.modules, kernelRelease);
  const tree = InitramfsTree.withBasics(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/proc', '/sys', '/dev', '/tmp', '/etc/iopath', '/lib/modules']);
  for (const program of recipe.programs) {
    const data = await readFile(join(root, program)).catch(() => {
      throw new HostError(`the lab recipe needs ${program}, which the packages ${Object.keys(packages).join(', ')} do not contain`);
    });
    tree.addFile(`/${program}`, data, 0o755);
  }
  for (const m of modules) tree.addFile(`/lib/modules/${m.name}.ko`, await readFile(m.path), 0o644);
  tree.addFile('/etc/iopath/modules', Buffer.from(modules.map((m) => m.name).join('\n') + '\n'), 0o644);
  tree.addFile('/init', init, 0o755);
  const initrd = gzipSync(cpioNewc(tree.entries), { level: 6 });
  await writeFile(join(work, 'initrd.img'), initrd);
  return { kernelRelease, modules: modules.map((m) => m.name), initrdBytes: initrd.length };
}
