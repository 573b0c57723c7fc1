import { describe, expect, it } from 'vitest';
import { ConsoleSplitter } from '../../../harness/lab/console.ts';
import { longestLockup } from '../../../harness/lab/l1.ts';

function split(chunks: string[]) {
  const out: string[] = [];
  const own: string[] = [];
  const s = new ConsoleSplitter((t) => out.push(t), (l) => own.push(l));
  for (const c of chunks) s.write(c);
  s.end();
  return { out: out.join(''), own, outChunks: out };
}

describe("the lab console's two streams", () => {
  it("sends init's lines and kernel messages to the log, the command's output through", () => {
    const r = split(['iopath-lab: ready after 6.7 s\r\n', 'iopath doctor: vm-lab\r\n  ok   QEMU\r\n', '[   94.036040] reboot: Power down\r\n']);
    expect(r.own).toEqual(['ready after 6.7 s', 'L1 kernel: [   94.036040] reboot: Power down']);
    expect(r.out).toBe('iopath doctor: vm-lab\n  ok   QEMU\n');
  });

  it("recognises init's lines split across chunks", () => {
    const r = split(['iop', 'ath-la', 'b: command exited', ' with status 0\r\n']);
    expect(r.own).toEqual(['command exited with status 0']);
    expect(r.out).toBe('');
  });

  it('passes a partial line of the command at once (a progress line redrawn with CR)', () => {
    const r = split(['\rrep 1/2 e1000', '\rrep 2/2 e1000']);
    expect(r.outChunks).toEqual(['\rrep 1/2 e1000', '\rrep 2/2 e1000']);
  });

  it('gives back what it held when the console closes', () => {
    expect(split(['iopath-l']).out).toBe('iopath-l');
  });
});

describe("L1's soft lockups", () => {
  it('finds the longest one the kernel reported, with its CPU', () => {
    const text = '[  160.78] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [khugepaged:36]\r\n[  188.80] watchdog: BUG: soft lockup - CPU#1 stuck for 48s! [khugepaged:36]\r\n';
    expect(longestLockup(text)).toEqual({ cpu: 1, sec: 48 });
    expect(longestLockup('[ 1.0] nothing to see\n', { cpu: 0, sec: 30 })).toEqual({ cpu: 0, sec: 30 });
    expect(longestLockup('iopath run: ok\n')).toBeUndefined();
  });
});
