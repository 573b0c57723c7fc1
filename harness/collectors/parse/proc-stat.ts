// Parser for /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat lines (proc(5)), and the naming of
// threads by what they do for a path. The command name is in parentheses and may itself contain
// spaces and parentheses (QEMU names vCPU threads `CPU 0/KVM`), so fields are counted from the last
// `)`.

import { ParseError } from '../../errors.ts';
import type { ThreadKindRule } from '../types.ts';

export interface TaskStat {
  tid: number;
  comm: string;
  /** R, S, D, Z, ... */
  state: string;
  /** CPU time in user mode, in clock ticks (USER_HZ). */
  utimeTicks: number;
  /** CPU time in kernel mode, in clock ticks. */
  stimeTicks: number;
}

export function parseProcStat(text: string): TaskStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new ParseError('/proc stat line', 'no (comm)', text);
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (rest.length < 13 || !Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new ParseError('/proc stat line', 'fewer than 15 fields', text);
  }
  return { tid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: rest[0]!, utimeTicks: utime, stimeTicks: stime };
}

/**
 * What a thread does, from its name: `vcpu` (QEMU `CPU n/KVM`, `CPU n/TCG`), `vhost` (`vhost-<pid>`
 * kernel workers), `io` (a QEMU main loop, which also runs QEMU's own device emulation, and
 * `IO <name>` iothreads), a kind the process's path declares for its threads (`rules`), `main` (the
 * main thread of any other process), `worker` (thread pools), `other`.
 */
export type ThreadKind = string;

export function classifyThread(comm: string, opts: { isMainThread: boolean; qemu: boolean; rules?: readonly ThreadKindRule[] }): ThreadKind {
  if (/^CPU \d+\/\w+$/.test(comm)) return 'vcpu';
  if (/^vhost-\d+$/.test(comm)) return 'vhost';
  if (opts.qemu && (opts.isMainThread || /^IO /.test(comm))) return 'io';
  const declared = opts.rules?.find((r) => r.comm.test(comm));
  if (declared) return declared.kind;
  if (opts.isMainThread) return 'main';
  if (/^worker$|^worker-\d+$|^pool/.test(comm)) return 'worker';
  return 'other';
}
