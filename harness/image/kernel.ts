// The guest kernel in the form QEMU boots fastest.
//
// A Debian kernel package ships a bzImage: a real-mode loader plus the kernel compressed with xz.
// Every boot first decompresses that kernel inside the guest, and under TCG this is slow: 2.7 s of
// the 5.4 s from QEMU's start to the agent's banner on a 2-core host (docs/host-notes.md, "Boot").
// QEMU can instead load the uncompressed ELF kernel straight into guest memory and enter it through
// its PVH entry point, a Xen ELF note (XEN_ELFNOTE_PHYS32_ENTRY) that kernels built with CONFIG_PVH
// carry, as Debian's amd64 kernels do. So the image builder decompresses the kernel once, on the
// host, and the guests boot that. A kernel that cannot be booted so (no PVH note, a compression
// this host has no tool for) is booted as the bzImage it came as, and the image says why.

import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { onPath } from '../host/facts.ts';
import { runCommand } from '../host/proc.ts';
import { hasPvhEntry } from './elf.ts';

/** How the image's kernel is booted: the uncompressed ELF through PVH, or the bzImage as shipped. */
export type KernelBoot = 'pvh' | 'bzimage';

export interface BootKernel {
  /** File name inside the image folder. */
  file: string;
  boot: KernelBoot;
  /** Why the bzImage is booted, when it is. */
  reason?: string;
}

interface Compression {
  name: string;
  magic: Buffer;
  /** Tool that decompresses `<file><suffix>` in place to `<file>`, or undefined to use zlib. */
  tool?: { argv: string[]; suffix: string; pkg: string };
}

const COMPRESSIONS: Compression[] = [
  { name: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), tool: { argv: ['xz', '-d', '-q'], suffix: '.xz', pkg: 'xz-utils' } },
  { name: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), tool: { argv: ['zstd', '-d', '-q', '--rm'], suffix: '.zst', pkg: 'zstd' } },
  { name: 'gzip', magic: Buffer.from([0x1f, 0x8b]) },
];

export interface BzImagePayload {
  /** The compressed kernel, without the 4-byte size that the kernel build appends to it. */
  data: Buffer;
  /** Size of the kernel once decompressed, from that appended field. */
  size: number;
  compression: string | undefined;
}

/**
 * The compressed kernel inside a bzImage, located by the setup header's payload fields (boot
 * protocol 2.08 and later): it starts `payload_offset` bytes into the protected-mode part, which
 * follows the (setup_sects + 1) sectors of real-mode code.
 */
export function bzImagePayload(image: Buffer): BzImagePayload | undefined {
  if (image.length < 0x250 || image.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  if (image.readUInt16LE(0x206) < 0x208) return undefined;
  const setupSectors = image[0x1f1] || 4;
  const start = (setupSectors + 1) * 512 + image.readUInt32LE(0x248);
  const length = image.readUInt32LE(0x24c);
  if (length < 8 || start + length > image.length) return undefined;
  const payload = image.subarray(start, start + length);
  const compression = COMPRESSIONS.find((c) => payload.subarray(0, c.magic.length).equals(c.magic))?.name;
  return { data: payload.subarray(0, length - 4), size: payload.readUInt32LE(length - 4), compression };
}

/**
 * Write the kernel the guests will boot into `dir`: `vmlinux` (uncompressed, PVH entry) when the
 * bzImage allows it, else `vmlinuz` (the bzImage itself).
 */
export async function writeBootKernel(bzImage: Buffer, dir: string, signal?: AbortSignal): Promise<BootKernel> {
  const asShipped = async (reason: string): Promise<BootKernel> => {
    await rm(join(dir, 'vmlinux'), { force: true });
    await writeFile(join(dir, 'vmlinuz'), bzImage);
    return { file: 'vmlinuz', boot: 'bzimage', reason };
  };
  const payload = bzImagePayload(bzImage);
  if (!payload) return asShipped('the kernel is not a bzImage with payload fields (boot protocol 2.08 or later)');
  const format = COMPRESSIONS.find((c) => c.name === payload.compression);
  if (!format) return asShipped('the kernel is compressed in a format the image builder does not decompress');
  const out = join(dir, 'vmlinux');
  if (format.tool) {
    if (!onPath(format.tool.argv[0]!)) return asShipped(`the kernel is compressed with ${format.name} and ${format.tool.argv[0]} is not installed (apt-get install -y ${format.tool.pkg})`);
    await writeFile(out + format.tool.suffix, payload.data);
    await runCommand([...format.tool.argv, out + format.tool.suffix], { signal, fix: `apt-get install -y ${format.tool.pkg}` });
    await rm(out + format.tool.suffix, { force: true });
  } else {
    await writeFile(out, gunzipSync(payload.data));
  }
  const kernel = await readFile(out);
  if (kernel.length !== payload.size) return asShipped(`the decompressed kernel is not the ${payload.size} bytes its bzImage announces`);
  if (!hasPvhEntry(kernel)) return asShipped('the kernel has no PVH entry point (built without CONFIG_PVH)');
  return { file: 'vmlinux', boot: 'pvh' };
}
