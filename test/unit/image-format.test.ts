import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpioNewc } from '../../harness/image/cpio.ts';
import { elfDependencies } from '../../harness/image/elf.ts';
import { ParseError } from '../../harness/errors.ts';
import { needs } from '../helpers/host.ts';

const cpio = needs('cpio round trip', existsSync('/usr/bin/cpio') || existsSync('/bin/cpio') ? undefined : 'cpio is not installed (apt-get install -y cpio)');
const readelf = needs('ELF comparison', existsSync('/usr/bin/readelf') ? undefined : 'readelf is not installed (apt-get install -y binutils)');

describe('cpio newc writer', () => {
  cpio.it('writes an archive that GNU cpio unpacks identically', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-cpio-'));
    const data = Buffer.from('x'.repeat(1001)); // not a multiple of 4: exercises padding
    const archive = cpioNewc([
      { kind: 'dir', path: '/bin' },
      { kind: 'file', path: '/bin/tool', data, mode: 0o755 },
      { kind: 'symlink', path: '/bin/sh', target: 'tool' },
      { kind: 'file', path: '/etc-empty', data: Buffer.alloc(0) },
    ]);
    writeFileSync(join(dir, 'a.cpio'), archive);
    const list = execFileSync('cpio', ['-it', '--quiet', '-F', join(dir, 'a.cpio')], { encoding: 'utf8' }).trim().split('\n');
    expect(list).toEqual(['bin', 'bin/tool', 'bin/sh', 'etc-empty']);
    execFileSync('cpio', ['-id', '--quiet', '--no-absolute-filenames', '-F', join(dir, 'a.cpio')], { cwd: dir });
    expect(readFileSync(join(dir, 'bin/tool'))).toEqual(data);
    expect(statSync(join(dir, 'bin/tool')).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(dir, 'bin/sh'))).toBe('tool');
    expect(archive.length % 4).toBe(0);
  });
});

describe('ELF dependencies', () => {
  readelf.it('finds the same interpreter and DT_NEEDED entries as readelf', () => {
    const program = process.execPath;
    const deps = elfDependencies(readFileSync(program), program);
    const dynamic = execFileSync('readelf', ['-d', program], { encoding: 'utf8' });
    const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    expect(deps.needed).toEqual(needed);
    const headers = execFileSync('readelf', ['-l', program], { encoding: 'utf8' });
    expect(deps.interpreter).toBe(/Requesting program interpreter: ([^\]]+)\]/.exec(headers)?.[1]);
  });

  it('rejects what is not a 64-bit ELF file', () => {
    expect(() => elfDependencies(Buffer.from('#!/bin/sh\necho hi\n'.padEnd(80)))).toThrow(ParseError);
    const elf32 = Buffer.alloc(64);
    elf32.writeUInt32BE(0x7f454c46, 0);
    elf32[4] = 1;
    elf32[5] = 1;
    expect(() => elfDependencies(elf32)).toThrow(/only 64-bit little-endian/);
  });
});
