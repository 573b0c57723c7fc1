// Reads the exit-reason names and codes out of the kvm:kvm_exit tracepoint's format file
// (tracefs `events/kvm/kvm_exit/format`). Its print format carries two `__print_symbolic` tables:
// the first decodes VMX basic exit reasons (`exit_reason & 0xffff`, used when isa == 1), the second
// SVM exit codes. The exit-reason collector needs the codes to build one tracepoint filter per reason.

import { ParseError } from '../../errors.ts';

export interface ExitReasonTables {
  /** Intel VMX basic exit reasons, e.g. IO_INSTRUCTION -> 30. */
  vmx: Map<string, number>;
  /** AMD SVM exit codes, e.g. io -> 0x7b. */
  svm: Map<string, number>;
}

/** Parse the format file. Throws ParseError when the two symbolic tables are not there. */
export function parseKvmExitFormat(text: string): ExitReasonTables {
  const fmt = text.slice(text.indexOf('print fmt:'));
  const tables: Map<string, number>[] = [];
  let at = 0;
  for (;;) {
    const start = fmt.indexOf('__print_symbolic(', at);
    if (start < 0) break;
    const end = matchingParen(fmt, start + '__print_symbolic'.length);
    if (end < 0) break;
    tables.push(symbolPairs(fmt.slice(start, end)));
    at = end;
  }
  const [vmx, svm] = tables;
  if (!vmx || !svm || vmx.size === 0 || svm.size === 0) {
    throw new ParseError('kvm:kvm_exit format', 'expected a VMX and an SVM __print_symbolic table', text);
  }
  return { vmx, svm };
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i;
  }
  return -1;
}

/** `{ 30, "IO_INSTRUCTION" }`, `{ 0x040 + 14, "PF excp" }`, `{ -1, "invalid_guest_state" }`. */
function symbolPairs(text: string): Map<string, number> {
  const pairs = new Map<string, number>();
  for (const m of text.matchAll(/\{\s*([-\w\s+]+?)\s*,\s*"([^"]+)"\s*\}/g)) {
    const code = m[1]!
      .split('+')
      .map((part) => Number(part.trim()))
      .reduce((a, b) => a + b, 0);
    if (Number.isFinite(code) && !pairs.has(m[2]!)) pairs.set(m[2]!, code);
  }
  return pairs;
}
