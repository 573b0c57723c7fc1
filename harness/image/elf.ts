// Just enough ELF64 reading to copy a program's shared libraries into the guest image (the program
// interpreter, PT_INTERP, and the DT_NEEDED entries of the dynamic section), and to tell whether a
// kernel can be booted through its PVH entry point.

import { ParseError } from '../errors.ts';

export interface ElfDeps {
  interpreter: string | undefined;
  needed: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PT_NOTE = 4;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

interface ProgramHeader {
  type: number;
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

/** The program headers of a 64-bit little-endian ELF file; a ParseError names what is wrong otherwise. */
function programHeaders(buf: Buffer, what: string): ProgramHeader[] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ParseError(what, 'not an ELF file', '');
  if (buf[4] !== 2 || buf[5] !== 1) throw new ParseError(what, 'only 64-bit little-endian ELF is supported', '');
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const headers: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > buf.length) throw new ParseError(what, 'program header outside the file', '');
    headers.push({ type: buf.readUInt32LE(at), offset: buf.readBigUInt64LE(at + 8), vaddr: buf.readBigUInt64LE(at + 16), filesz: buf.readBigUInt64LE(at + 32) });
  }
  return headers;
}

export function elfDependencies(buf: Buffer, what = 'ELF file'): ElfDeps {
  const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
  let dynamic: { offset: number; size: number } | undefined;
  let interpreter: string | undefined;
  for (const { type, offset, vaddr, filesz } of programHeaders(buf, what)) {
    if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
    if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
    if (type === PT_INTERP) interpreter = cString(buf, Number(offset));
  }
  if (!dynamic) return { interpreter, needed: [] };
  const entries: { tag: bigint; value: bigint }[] = [];
  for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size && at + 16 <= buf.length; at += 16) {
    const tag = buf.readBigInt64LE(at);
    if (tag === DT_NULL) break;
    entries.push({ tag, value: buf.readBigUInt64LE(at + 8) });
  }
  const strtabAddr = entries.find((e) => e.tag === DT_STRTAB)?.value;
  if (strtabAddr === undefined) throw new ParseError(what, 'dynamic section without DT_STRTAB', '');
  const segment = loads.find((l) => strtabAddr >= l.vaddr && strtabAddr < l.vaddr + l.filesz);
  if (!segment) throw new ParseError(what, 'DT_STRTAB outside every PT_LOAD segment', '');
  const strtab = Number(strtabAddr - segment.vaddr + segment.offset);
  const needed = entries.filter((e) => e.tag === DT_NEEDED).map((e) => cString(buf, strtab + Number(e.value)));
  return { interpreter, needed };
}

function cString(buf: Buffer, offset: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 ? buf.length : end);
}

/** Xen ELF note type holding the 32-bit physical entry point that PVH boot jumps to. */
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/** True when an ELF64 kernel carries a PVH entry point (a "Xen" note of type PHYS32_ENTRY). */
export function hasPvhEntry(buf: Buffer, what = 'kernel'): boolean {
  let headers: ProgramHeader[];
  try {
    headers = programHeaders(buf, what);
  } catch (err) {
    if (err instanceof ParseError) return false;
    throw err;
  }
  for (const h of headers.filter((x) => x.type === PT_NOTE)) {
    const start = Number(h.offset);
    const end = Math.min(buf.length, start + Number(h.filesz));
    // Each note: namesz, descsz, type, then the name and the descriptor, each padded to 4 bytes.
    for (let n = start; n + 12 <= end; ) {
      const namesz = buf.readUInt32LE(n);
      const descsz = buf.readUInt32LE(n + 4);
      const type = buf.readUInt32LE(n + 8);
      if (namesz === 4 && type === XEN_ELFNOTE_PHYS32_ENTRY && cString(buf, n + 12) === 'Xen') return true;
      n += 12 + align4(namesz) + align4(descsz);
    }
  }
  return false;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
