// The guest image: a Debian kernel and an initramfs (busybox, iperf3, sockperf, ethtool, the NIC
// drivers and the control agent) built from Debian packages without root, and cached under a
// content hash of the recipe, the guest files and the resolved package versions.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile, readlink, lstat, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { HostError } from '../errors.ts';
import { runCommand } from '../host/proc.ts';
import { readLabMarker } from '../lab/marker.ts';
import { projectRoot } from '../paths.ts';
import { cpioNewc } from './cpio.ts';
import { elfDependencies } from './elf.ts';
import { InitramfsTree, unpackPackages } from './initramfs.ts';
import { writeBootKernel, type BootKernel, type KernelBoot } from './kernel.ts';
import { indexModules } from './modinfo.ts';
import { loadRecipe, readRecipeFile, type Recipe } from './recipe.ts';

export { loadRecipe, type Recipe } from './recipe.ts';

/** Bump when the builder's output changes for the same recipe. */
const BUILDER_VERSION = 2;

export interface GuestImage {
  hash: string;
  dir: string;
  /** The kernel file QEMU boots: the uncompressed ELF (PVH) or the bzImage (see kernel.ts). */
  kernel: string;
  kernelBoot: KernelBoot;
  initrd: string;
  /** Kernel release inside the guest, e.g. `6.1.0-56-amd64`. */
  guestKernel: string;
  cmdline: string;
  packages: Record<string, string>;
  /** True when the image was found in the cache. */
  cached: boolean;
}

export interface ImageOptions {
  imagesDir?: string;
  cacheDir?: string;
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Rebuild even when the cache has the image. */
  force?: boolean;
}

const APT_FIX = 'apt-get update && apt-get install -y apt dpkg';

/** Package name -> candidate version, kernel meta-package resolved to the real kernel package. */
export async function resolvePackages(recipe: Recipe, signal?: AbortSignal): Promise<Record<string, string>> {
  const depends = await runCommand(['apt-cache', 'depends', recipe.kernelPackage], { signal, fix: APT_FIX });
  const kernel = /Depends: (linux-image-\S+)/.exec(depends.stdout)?.[1];
  if (!kernel) {
    throw new HostError(`apt-cache does not know ${recipe.kernelPackage}; the package lists may be missing`, 'apt-get update');
  }
  const names = [kernel, ...recipe.packages];
  const show = await runCommand(['apt-cache', 'show', '--no-all-versions', ...names], { signal, fix: 'apt-get update' });
  const versions: Record<string, string> = {};
  for (const stanza of show.stdout.split(/\n\n+/)) {
    const pkg = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    if (pkg && version && names.includes(pkg) && !versions[pkg]) versions[pkg] = version;
  }
  const unknown = names.filter((n) => !versions[n]);
  if (unknown.length) throw new HostError(`apt-cache has no candidate for ${unknown.join(', ')}`, 'apt-get update');
  return versions;
}

/** Hash of everything the image is made of. */
export async function imageHash(imagesDir: string, recipe: Recipe, versions: Record<string, string>): Promise<string> {
  const h = createHash('sha256');
  h.update(`builder ${BUILDER_VERSION}\n`);
  h.update(JSON.stringify(recipe));
  for (const file of Object.values(recipe.files).sort()) {
    h.update(`\n${file}\n`);
    h.update(readRecipeFile(imagesDir, file));
  }
  for (const name of Object.keys(versions).sort()) h.update(`\n${name}=${versions[name]}`);
  return h.digest('hex').slice(0, 16);
}

/** Return the cached image for the current recipe, building it first when it is missing. */
export async function ensureImage(options: ImageOptions = {}): Promise<GuestImage> {
  const imagesDir = options.imagesDir ?? join(projectRoot, 'images');
  const cacheDir = options.cacheDir ?? join(imagesDir, 'cache');
  const log = options.log ?? (() => undefined);
  const prepared = options.force ? undefined : preparedByLab(imagesDir, cacheDir);
  if (prepared) return prepared;
  const recipe = loadRecipe(imagesDir);
  const versions = await resolvePackages(recipe, options.signal);
  const hash = await imageHash(imagesDir, recipe, versions);
  const dir = join(cacheDir, hash);
  const manifestPath = join(dir, 'manifest.json');
  if (!options.force && existsSync(manifestPath)) {
    return fromManifest(dir, JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest);
  }
  log(`building guest image ${hash} from Debian packages (kernel ${Object.keys(versions)[0]})`);
  try {
    await mkdir(cacheDir, { recursive: true });
    await access(cacheDir, constants.W_OK);
  } catch (err) {
    throw new HostError(
      `the guest image must be built, but its cache ${cacheDir} is not writable (${(err as NodeJS.ErrnoException).code})`,
      `build it once as its owner: iopath image build${options.imagesDir ? ` --images-dir ${imagesDir}` : ''}`,
      err,
    );
  }
  const work = `${dir}.tmp-${process.pid}`;
  await rm(work, { recursive: true, force: true });
  try {
    const image = await build(recipe, versions, imagesDir, work, options.signal);
    const manifest: Manifest = {
      hash,
      guestKernel: image.guestKernel,
      kernelFile: image.kernel.file,
      kernelBoot: image.kernel.boot,
      ...(image.kernel.reason ? { kernelBootReason: image.kernel.reason } : {}),
      cmdline: recipe.cmdline,
      packages: versions,
      builtAt: new Date().toISOString(),
    };
    await writeFile(join(work, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    await rm(join(work, 'debs'), { recursive: true, force: true });
    await rm(join(work, 'root'), { recursive: true, force: true });
    if (options.force) await rm(dir, { recursive: true, force: true });
    try {
      await rename(work, dir);
    } catch (err) {
      // Another build of the same hash won the race: use its result.
      if (!existsSync(manifestPath)) throw err;
      await rm(work, { recursive: true, force: true });
    }
    log(`guest image ${hash} ready (kernel ${image.guestKernel}, initramfs ${(image.initrdBytes / 1e6).toFixed(1)} MB)`);
    if (image.kernel.reason) log(`the guests boot the compressed kernel, which is slower under TCG: ${image.kernel.reason}`);
    return { ...fromManifest(dir, manifest), cached: false };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Inside the nested lab, the image that `iopath lab` prepared on the host just before the lab VM
 * booted, from this very recipe folder: found without asking apt again (slow over 9p, and the lab
 * has no network to build with).
 */
function preparedByLab(imagesDir: string, cacheDir: string): GuestImage | undefined {
  const lab = readLabMarker()?.guestImage;
  if (!lab || lab.imagesDir !== imagesDir) return undefined;
  const dir = join(cacheDir, lab.hash);
  try {
    return fromManifest(dir, JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest);
  } catch {
    return undefined;
  }
}

interface Manifest {
  hash: string;
  guestKernel: string;
  kernelFile: string;
  kernelBoot: KernelBoot;
  kernelBootReason?: string;
  cmdline: string;
  packages: Record<string, string>;
  builtAt: string;
}

function fromManifest(dir: string, m: Manifest): GuestImage {
  return {
    hash: m.hash,
    dir,
    kernel: join(dir, m.kernelFile),
    kernelBoot: m.kernelBoot,
    initrd: join(dir, 'initrd.img'),
    guestKernel: m.guestKernel,
    cmdline: m.cmdline,
    packages: m.packages,
    cached: true,
  };
}

async function build(
  recipe: Recipe,
  versions: Record<string, string>,
  imagesDir: string,
  work: string,
  signal?: AbortSignal,
): Promise<{ guestKernel: string; initrdBytes: number; kernel: BootKernel }> {
  const { root, kernelRelease: guestKernel } = await unpackPackages(versions, work, signal);
  const moduleRoot = join(root, 'lib', 'modules');
  const tree = InitramfsTree.withBasics(['/bin', '/sbin', '/usr/bin', '/usr/sbin', '/proc', '/sys', '/dev', '/tmp', '/run', '/etc/iopath', '/lib/modules']);
  const addFile = (path: string, data: Buffer, mode: number) => tree.addFile(path, data, mode);

  // Programs and, transitively, the shared libraries they need.
  const libDirs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib', 'usr/lib'];
  const copied = new Set<string>();
  const findLibrary = (lib: string, neededBy: string): string => {
    const found = libDirs.map((d) => posix.join(d, lib)).find((p) => existsSync(join(root, p)));
    if (!found) {
      throw new HostError(
        `${neededBy} needs ${lib}, which no package in images/recipe.json provides`,
        `add the Debian package that ships ${lib} to "packages" in images/recipe.json`,
      );
    }
    return found;
  };
  // Copy an ELF file to guestPath, then (once each) its interpreter and every library it needs.
  const copyElf = async (rel: string, guestPath: string, mode: number): Promise<void> => {
    const data = await readFile(join(root, await resolveInside(root, rel))).catch(() => {
      throw new HostError(`the recipe needs ${rel}, which no package in images/recipe.json contains`);
    });
    addFile(guestPath, data, mode);
    const deps = elfDependencies(data, rel);
    const wanted = deps.needed.map((lib) => findLibrary(lib, rel));
    if (deps.interpreter) wanted.unshift(deps.interpreter.replace(/^\//, ''));
    for (const lib of wanted) {
      if (copied.has(lib)) continue;
      copied.add(lib);
      await copyElf(lib, '/' + lib, 0o755);
    }
  };
  for (const [guestPath, rel] of Object.entries(recipe.programs)) await copyElf(rel, guestPath, 0o755);

  // Kernel modules, loaded by /init in the recipe's order.
  const modDir = join(moduleRoot, guestKernel, 'kernel');
  const index = await indexModules(modDir);
  for (const m of recipe.modules) {
    const path = index.get(m);
    if (!path) throw new HostError(`kernel ${guestKernel} has no module ${m}.ko (compressed modules are not supported)`);
    addFile(`/lib/modules/${m}.ko`, await readFile(path), 0o644);
  }
  addFile('/etc/iopath/modules', Buffer.from(recipe.modules.join('\n') + '\n'), 0o644);
  for (const [guestPath, rel] of Object.entries(recipe.files)) addFile(guestPath, readRecipeFile(imagesDir, rel), 0o755);

  const initrd = gzipSync(cpioNewc(tree.entries), { level: 6 });
  await writeFile(join(work, 'initrd.img'), initrd);
  const kernel = await writeBootKernel(await readFile(join(root, 'boot', `vmlinuz-${guestKernel}`)), work, signal);
  return { guestKernel, initrdBytes: initrd.length, kernel };
}

/** Follow symlinks inside the unpacked tree (absolute links are relative to the tree). */
async function resolveInside(root: string, rel: string, depth = 0): Promise<string> {
  if (depth > 16) throw new HostError(`symlink loop at ${rel}`);
  const full = join(root, rel);
  const st = await lstat(full);
  if (!st.isSymbolicLink()) return rel;
  const target = await readlink(full);
  const next = target.startsWith('/') ? target.slice(1) : posix.join(posix.dirname(rel), target);
  return resolveInside(root, posix.normalize(next), depth + 1);
}

/** Size of the cached image files, for `doctor` and logs. */
export async function imageSize(image: GuestImage): Promise<number> {
  return (await stat(image.kernel)).size + (await stat(image.initrd)).size;
}

