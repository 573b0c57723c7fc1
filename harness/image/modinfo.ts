// Kernel modules of an unpacked Debian kernel package, without depmod: each module's own
// `.modinfo` section names the modules it depends on (`depends=a,b`), which is enough to load a
// wanted set with insmod in dependency order.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HostError, ParseError } from '../errors.ts';

const ET_REL = 1;

/** The key=value strings of a module's `.modinfo` section (keys may repeat, e.g. `alias`). */
export function modinfo(buf: Buffer, what = 'kernel module'): [string, string][] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ParseError(what, 'not an ELF file (compressed modules are not supported)', '');
  if (buf[4] !== 2 || buf[5] !== 1) throw new ParseError(what, 'only 64-bit little-endian ELF is supported', '');
  if (buf.readUInt16LE(0x10) !== ET_REL) throw new ParseError(what, 'not a relocatable object (a .ko is one)', '');
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    if (at + 64 > buf.length) throw new ParseError(what, `section header ${i} outside the file`, '');
    return { name: buf.readUInt32LE(at), offset: Number(buf.readBigUInt64LE(at + 24)), size: Number(buf.readBigUInt64LE(at + 32)) };
  };
  const names = section(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const nameEnd = buf.indexOf(0, names.offset + s.name);
    if (buf.toString('latin1', names.offset + s.name, nameEnd) !== '.modinfo') continue;
    return buf
      .toString('latin1', s.offset, s.offset + s.size)
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
  }
  throw new ParseError(what, 'no .modinfo section', '');
}

/** The modules a module needs loaded first, from its `depends=` entry. */
export function moduleDepends(buf: Buffer, what?: string): string[] {
  const depends = modinfo(buf, what).find(([k]) => k === 'depends')?.[1] ?? '';
  return depends
    .split(',')
    .map((d) => normaliseModuleName(d.trim()))
    .filter(Boolean);
}

/** Module names are written with `-` or `_` interchangeably (kvm-amd.ko is module kvm_amd). */
export function normaliseModuleName(name: string): string {
  return name.replace(/-/g, '_');
}

/** Every `.ko` file under a kernel's module tree, by normalised module name. */
export async function indexModules(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.ko')) out.set(normaliseModuleName(e.name.slice(0, -3)), p);
    }
  };
  await walk(dir);
  return out;
}

/**
 * The wanted modules and everything they depend on, each after its dependencies (depth first, in
 * the order wanted). `dependsOf` returns a module's direct dependencies.
 */
export async function loadOrder(wanted: readonly string[], dependsOf: (name: string) => Promise<string[]>): Promise<string[]> {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new HostError(`kernel modules depend on each other in a circle: ${[...chain, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const dep of await dependsOf(name)) await visit(dep, [...chain, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of wanted) await visit(normaliseModuleName(name), []);
  return order;
}

/** Load order of `wanted` in an unpacked module tree, reading each module's dependencies from its file. */
export async function resolveModules(index: ReadonlyMap<string, string>, wanted: readonly string[], kernel: string): Promise<{ name: string; path: string }[]> {
  const pathOf = (name: string) => {
    const path = index.get(name);
    if (!path) throw new HostError(`kernel ${kernel} has no module ${name}.ko (built in, renamed, or compressed)`);
    return path;
  };
  const order = await loadOrder(wanted, async (name) => moduleDepends(await readFile(pathOf(name)), `${name}.ko`));
  return order.map((name) => ({ name, path: pathOf(name) }));
}
