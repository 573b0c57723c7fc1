// The image builder's kernel step: the compressed kernel is found inside a bzImage by its setup
// header, decompressed on the host (zlib for gzip, the real xz for xz) and kept only when it is the
// size the bzImage announces and carries a PVH entry; otherwise the bzImage is booted as shipped.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hasPvhEntry } from '../../harness/image/elf.ts';
import { bzImagePayload, writeBootKernel } from '../../harness/image/kernel.ts';
import { needs } from '../helpers/host.ts';

const xz = needs('xz-compressed kernel', existsSync('/usr/bin/xz') ? undefined : 'xz is not installed (apt-get install -y xz-utils)');

function note(name: string, type: number, desc: Buffer): Buffer {
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const head = Buffer.alloc(12);
  head.writeUInt32LE(name.length + 1, 0);
  head.writeUInt32LE(desc.length, 4);
  head.writeUInt32LE(type, 8);
  return Buffer.concat([head, pad(Buffer.from(name + '\0', 'latin1')), pad(desc)]);
}

/** A minimal ELF64 file whose one program header is a PT_NOTE segment holding `notes`. */
function elfWithNotes(notes: Buffer[], body = 4096): Buffer {
  const noteData = Buffer.concat(notes);
  const header = Buffer.alloc(64 + 56);
  header.writeUInt32BE(0x7f454c46, 0);
  header[4] = 2; // 64-bit
  header[5] = 1; // little-endian
  header[6] = 1;
  header.writeBigUInt64LE(64n, 0x20); // e_phoff
  header.writeUInt16LE(56, 0x36); // e_phentsize
  header.writeUInt16LE(1, 0x38); // e_phnum
  header.writeUInt32LE(4, 64); // p_type PT_NOTE
  header.writeBigUInt64LE(BigInt(header.length), 64 + 8); // p_offset
  header.writeBigUInt64LE(BigInt(noteData.length), 64 + 32); // p_filesz
  return Buffer.concat([header, noteData, Buffer.alloc(body, 0x90)]);
}

const entry = Buffer.from([0x00, 0x00, 0x00, 0x01]);
const pvhKernel = elfWithNotes([note('Xen', 6, Buffer.from('linux\0')), note('Xen', 18, entry)]);
const plainKernel = elfWithNotes([note('Xen', 6, Buffer.from('linux\0')), note('GNU', 3, Buffer.alloc(20))]);

/** A bzImage (boot protocol 2.15, one setup sector) around a compressed payload. */
function bzImage(compressed: Buffer, size: number): Buffer {
  const payload = Buffer.concat([compressed, Buffer.alloc(4)]);
  payload.writeUInt32LE(size, compressed.length);
  const offset = 0x40;
  const image = Buffer.alloc(2 * 512 + offset + payload.length + 100);
  image[0x1f1] = 1;
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(0x020f, 0x206);
  image.writeUInt32LE(offset, 0x248);
  image.writeUInt32LE(payload.length, 0x24c);
  payload.copy(image, 2 * 512 + offset);
  return image;
}

describe('the kernel the guests boot', () => {
  it('finds the payload by the setup header and names its compression', () => {
    const p = bzImagePayload(bzImage(gzipSync(pvhKernel), pvhKernel.length))!;
    expect(p.compression).toBe('gzip');
    expect(p.size).toBe(pvhKernel.length);
    expect(bzImagePayload(Buffer.alloc(4096))).toBeUndefined();
  });

  it('reads the PVH entry note, and only that note', () => {
    expect(hasPvhEntry(pvhKernel)).toBe(true);
    expect(hasPvhEntry(plainKernel)).toBe(false);
    expect(hasPvhEntry(Buffer.from('not an ELF file at all, but long enough to be read as one if unchecked'))).toBe(false);
  });

  it('a gzip kernel with a PVH entry is kept uncompressed, byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-kernel-'));
    const boot = await writeBootKernel(bzImage(gzipSync(pvhKernel), pvhKernel.length), dir);
    expect(boot).toEqual({ file: 'vmlinux', boot: 'pvh' });
    expect(readFileSync(join(dir, 'vmlinux')).equals(pvhKernel)).toBe(true);
    expect(existsSync(join(dir, 'vmlinuz'))).toBe(false);
  });

  xz.it('an xz kernel (as Debian ships it) is decompressed with xz', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-kernel-'));
    const compressed = execFileSync('xz', ['-c', '--check=crc32'], { input: pvhKernel });
    const boot = await writeBootKernel(bzImage(compressed, pvhKernel.length), dir);
    expect(boot).toEqual({ file: 'vmlinux', boot: 'pvh' });
    expect(readFileSync(join(dir, 'vmlinux')).equals(pvhKernel)).toBe(true);
    expect(existsSync(join(dir, 'vmlinux.xz'))).toBe(false);
  });

  it('a kernel without a PVH entry is booted as its bzImage, and the image says why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-kernel-'));
    const image = bzImage(gzipSync(plainKernel), plainKernel.length);
    const boot = await writeBootKernel(image, dir);
    expect(boot).toMatchObject({ file: 'vmlinuz', boot: 'bzimage', reason: expect.stringMatching(/no PVH entry point .*CONFIG_PVH/) });
    expect(readFileSync(join(dir, 'vmlinuz')).equals(image)).toBe(true);
    expect(existsSync(join(dir, 'vmlinux'))).toBe(false);
  });

  it('a payload that does not decompress to the announced size is not trusted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-kernel-'));
    const boot = await writeBootKernel(bzImage(gzipSync(pvhKernel), pvhKernel.length + 1), dir);
    expect(boot).toMatchObject({ boot: 'bzimage', reason: expect.stringMatching(new RegExp(`not the ${pvhKernel.length + 1} bytes`)) });
    expect(existsSync(join(dir, 'vmlinux'))).toBe(false);
  });

  it('an unknown compression or a file that is no bzImage is booted as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-kernel-'));
    expect(await writeBootKernel(bzImage(Buffer.from('BZh91AY&SY not really bzip2'), 100), dir)).toMatchObject({ boot: 'bzimage', reason: expect.stringMatching(/format/) });
    expect(await writeBootKernel(Buffer.alloc(2048, 1), dir)).toMatchObject({ boot: 'bzimage', reason: expect.stringMatching(/not a bzImage/) });
  });
});
