import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrder, modinfo, moduleDepends, normaliseModuleName } from '../../../harness/image/modinfo.ts';
import { ParseError } from '../../../harness/errors.ts';
import { needs } from '../../helpers/host.ts';

const compiler = needs('modinfo of a compiled object', existsSync('/usr/bin/cc') || existsSync('/usr/bin/gcc') ? undefined : 'no C compiler (apt-get install -y gcc)');

/** A relocatable object with a .modinfo section, made by the real toolchain the way a module is. */
function objectWithModinfo(entries: string[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'iopath-modinfo-'));
  const lines = entries.map((e, i) => `static const char m${i}[] __attribute__((section(".modinfo"), used, aligned(1))) = ${JSON.stringify(e)};`);
  writeFileSync(join(dir, 'm.c'), `${lines.join('\n')}\nint f(void) { return 0; }\n`);
  execFileSync('cc', ['-c', '-O0', '-o', join(dir, 'm.o'), join(dir, 'm.c')]);
  return readFileSync(join(dir, 'm.o'));
}

describe('kernel module info', () => {
  compiler.it("reads depends= from a relocatable object's .modinfo section", () => {
    const obj = objectWithModinfo(['license=GPL', 'depends=kvm,ccp', 'name=kvm_amd', 'alias=x86cpu:v*']);
    expect(modinfo(obj)).toEqual([
      ['license', 'GPL'],
      ['depends', 'kvm,ccp'],
      ['name', 'kvm_amd'],
      ['alias', 'x86cpu:v*'],
    ]);
    expect(moduleDepends(obj)).toEqual(['kvm', 'ccp']);
    expect(moduleDepends(objectWithModinfo(['depends=', 'name=tap']))).toEqual([]);
  });

  it('refuses what is not a module, naming the problem', () => {
    expect(() => modinfo(Buffer.from('\x28\xb5\x2f\xfd'.padEnd(80)), 'vhost.ko.zst')).toThrow(/compressed modules are not supported/);
    expect(() => modinfo(readFileSync('/bin/sh'), 'sh')).toThrow(ParseError);
    expect(() => modinfo(readFileSync('/bin/sh'), 'sh')).toThrow(/not a relocatable object/);
  });

  it('writes module names with underscores', () => {
    expect(normaliseModuleName('kvm-amd')).toBe('kvm_amd');
  });
});

describe('module load order', () => {
  const graph: Record<string, string[]> = {
    kvm_amd: ['kvm', 'ccp'],
    kvm: ['irqbypass'],
    irqbypass: [],
    ccp: [],
    vhost_net: ['vhost', 'tap', 'tun'],
    vhost: ['vhost_iotlb'],
    vhost_iotlb: [],
    tap: [],
    tun: [],
  };
  const deps = async (m: string) => graph[m] ?? [];

  it('puts every module after its dependencies, each once, in the order wanted', async () => {
    const order = await loadOrder(['kvm-amd', 'vhost_net', 'kvm'], deps);
    expect(order).toEqual(['irqbypass', 'kvm', 'ccp', 'kvm_amd', 'vhost_iotlb', 'vhost', 'tap', 'tun', 'vhost_net']);
  });

  it('names a dependency circle instead of looping', async () => {
    await expect(loadOrder(['a'], async (m) => ({ a: ['b'], b: ['c'], c: ['a'] })[m] ?? [])).rejects.toThrow('a -> b -> c -> a');
  });
});
