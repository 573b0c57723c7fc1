// perf script output captured on a development host, read and folded into flame graph stacks.

import { describe, expect, it } from 'vitest';
import { foldStacks, formatFolded, frameKind, parseFolded, parsePerfScript, recordedSampleCount, unfoldFrame } from '../../../harness/collectors/parse/perf-script.ts';
import { fixtureText } from './fixtures.ts';

const script = (name: string) => fixtureText('perf-script', name);
const total = (folded: ReadonlyMap<string, number>) => [...folded.values()].reduce((a, n) => a + n, 0);

describe('parsePerfScript', () => {
  it('reads every record of a shell loop, with perf\'s default fields', () => {
    const r = parsePerfScript(script('sh-loop_cpu-clock_-g.txt'));
    expect(r.warnings).toEqual([]);
    expect(r.samples).toHaveLength(45);
    expect(r.samples.filter((s) => s.comm === 'sh')).toHaveLength(40);
    expect(r.samples.filter((s) => s.comm === 'seq')).toHaveLength(5);
    expect(r.samples[0]).toMatchObject({ comm: 'sh', tid: 32112, time: 51798.501143, period: 2004008, event: 'cpu-clock' });
    expect(r.samples[0]!.pid).toBeUndefined();
    // Innermost first, offsets stripped, the kernel frames told apart from the user ones.
    expect(r.samples[0]!.frames.slice(0, 2)).toEqual([
      { name: 'pvm_irq_enable', kind: 'kernel' },
      { name: '__raw_callee_save_pvm_irq_enable', kind: 'kernel' },
    ]);
    expect(r.samples[0]!.frames.at(-1)).toEqual({ name: '_dl_allocate_tls_storage', kind: 'native' });
  });

  it('keeps a command name with a space and a slash whole, as QEMU names its vCPU threads', () => {
    const r = parsePerfScript(script('comm-with-spaces_CPU-0-TCG_cpu-clock_-g.txt'));
    expect(r.warnings).toEqual([]);
    expect(r.samples).toHaveLength(20);
    expect(r.samples.filter((s) => s.comm === 'CPU 0/TCG')).toHaveLength(15);
    expect(new Set(r.samples.map((s) => s.tid))).toEqual(new Set([32274, 32276]));
  });

  it('reads pid/tid and names JIT frames from V8\'s perf map', () => {
    const r = parsePerfScript(script('node-perf-basic-prof_-p_cpu-clock_-g_first-40-samples.txt'));
    expect(r.warnings).toEqual([]);
    expect(r.samples).toHaveLength(40);
    expect(r.samples.every((s) => s.comm === 'node' && s.pid === s.tid && s.pid! > 0)).toBe(true);
    const jit = r.samples.flatMap((s) => s.frames).filter((f) => f.kind === 'jit');
    expect(jit.length).toBeGreaterThan(100);
    expect(jit.some((f) => /^JS:\*fib \/tmp\/flamefx\/work6\.js:1:13$/.test(f.name))).toBe(true);
    // V8's own C++ and its embedded builtins live in the node binary: native.
    expect(r.samples.flatMap((s) => s.frames).some((f) => f.kind === 'native' && f.name.startsWith('Builtins_'))).toBe(true);
  });

  it('names an unnamed frame after its object', () => {
    const r = parsePerfScript(script('sh-loop_cpu-clock_-g.txt'));
    const names = new Set(r.samples.flatMap((s) => s.frames.map((f) => f.name)));
    expect(names.has('[dash]')).toBe(true);
    expect(names.has('[unknown]')).toBe(true);
  });

  it('keeps what it cannot read as warnings', () => {
    const r = parsePerfScript('garbage line\nsh 1 2.5: 10 cpu-clock:\n\tnot a frame\n\n');
    expect(r.samples).toHaveLength(1);
    expect(r.warnings).toEqual(['unreadable line: garbage line', 'unreadable frame line: not a frame']);
  });
});

describe('frameKind', () => {
  it('is kernel by address or object, JIT by perf map, native otherwise', () => {
    expect(frameKind('ffffffff8225f759', 'pvm_irq_enable+0x19', '[kernel.kallsyms]')).toBe('kernel');
    expect(frameKind('ffffffffc0a01234', 'vhost_worker+0x10', '[vhost]')).toBe('kernel');
    expect(frameKind('7f612e7c63d7', '[unknown]', '/tmp/perf-32302.map')).toBe('jit');
    expect(frameKind('1234', 'LazyCompile:*fib work.js:1', '[unknown]')).toBe('jit');
    expect(frameKind('f800000001000000', '[unknown]', '[unknown]')).toBe('native');
    expect(frameKind('14cfd1c', 'Builtins_InterpreterEntryTrampoline+0xdc', '/usr/bin/node')).toBe('native');
  });
});

describe('foldStacks', () => {
  it('folds every sample once, outermost first, under its command name, kernel frames marked', () => {
    const r = parsePerfScript(script('sh-loop_cpu-clock_-g.txt'));
    const folded = foldStacks(r.samples);
    expect(total(folded)).toBe(45);
    expect(folded.get('sh;_dl_allocate_tls_storage;asm_exc_page_fault_[k];exc_page_fault_[k];__raw_callee_save_pvm_irq_enable_[k];pvm_irq_enable_[k]')).toBeGreaterThanOrEqual(1);
    const byComm = (c: string) => [...folded].filter(([k]) => k.split(';')[0] === c).reduce((a, [, n]) => a + n, 0);
    expect(byComm('sh')).toBe(40);
    expect(byComm('seq')).toBe(5);
  });

  it('marks JIT frames and counts identical stacks together', () => {
    const r = parsePerfScript(script('node-perf-basic-prof_-p_cpu-clock_-g_first-40-samples.txt'));
    const folded = foldStacks(r.samples);
    expect(total(folded)).toBe(40);
    expect(folded.size).toBeLessThanOrEqual(40);
    expect([...folded.keys()].some((k) => k.includes(';JS:*fib /tmp/flamefx/work6.js:1:13_[j]'))).toBe(true);
    expect([...folded.keys()].every((k) => k.startsWith('node;'))).toBe(true);
  });

  it('puts the roots a caller gives above the command name, so same-named threads of two processes stay apart', () => {
    const r = parsePerfScript(script('comm-with-spaces_CPU-0-TCG_cpu-clock_-g.txt'));
    const folded = foldStacks(r.samples, { roots: (s) => [s.tid === 32274 ? 'qemu a' : 'qemu b'] });
    const roots = new Map<string, number>();
    for (const [k, n] of folded) roots.set(k.split(';').slice(0, 2).join(';'), (roots.get(k.split(';').slice(0, 2).join(';')) ?? 0) + n);
    expect(Object.fromEntries(roots)).toEqual({ 'qemu a;CPU 0/TCG': 15, 'qemu a;sh': 1, 'qemu b;seq': 4 });
  });

  it('replaces the separator inside names', () => {
    const folded = foldStacks([{ comm: 'a;b', tid: 1, time: 0, period: 1, event: 'cpu-clock', frames: [{ name: 'x;y', kind: 'native' }] }]);
    expect([...folded.keys()]).toEqual(['a:b;x:y']);
  });

  it('round-trips through the text form', () => {
    const folded = foldStacks(parsePerfScript(script('sh-loop_cpu-clock_-g.txt')).samples);
    const text = formatFolded(folded);
    expect(text.split('\n').filter(Boolean).every((l) => /^\S.* \d+$/.test(l))).toBe(true);
    expect(parseFolded(text)).toEqual(folded);
  });
});

describe('unfoldFrame and recordedSampleCount', () => {
  it('reads a frame\'s kind back from its mark', () => {
    expect(unfoldFrame('do_syscall_64_[k]')).toEqual({ name: 'do_syscall_64', kind: 'kernel' });
    expect(unfoldFrame('JS:*fib x.js:1:1_[j]')).toEqual({ name: 'JS:*fib x.js:1:1', kind: 'jit' });
    expect(unfoldFrame('main')).toEqual({ name: 'main', kind: 'native' });
  });

  it('reads the sample count perf record prints', () => {
    expect(recordedSampleCount(script('perf-record_control_STDERR.txt'))).toBe(196);
    expect(recordedSampleCount('Events disabled\n')).toBeUndefined();
  });
});
