// Parser for `perf script` output of a `perf record -g` recording, and the folding of its call
// stacks into the lines a flame graph is drawn from: `root;caller;...;callee count`.
//
// A record is a header line (`comm pid/tid time: period event:`, or `comm tid time: ...` with
// perf's default fields) and one line per frame, innermost first: `address symbol+0xoff (dso)`.
// Command names may hold spaces and slashes (QEMU's `CPU 0/TCG`, `IO iothread0`), so the header is
// read from its end: the timestamp is the last `digits.digits:` before the event.
//
// Each folded frame carries its kind as a suffix, as the common flame graph tools mark them:
// `_[k]` kernel, `_[j]` JIT-compiled JavaScript (named through V8's /tmp/perf-<pid>.map), none for
// native code; the renderer colours by it.

/** What ran in a frame. */
export type FrameKind = 'kernel' | 'jit' | 'native';

export interface Frame {
  /** Symbol without its offset; `[dso]` when perf could not name it. */
  name: string;
  kind: FrameKind;
}

export interface StackSample {
  comm: string;
  /** Process id when perf printed `pid/tid`; otherwise undefined (the default fields print only the tid). */
  pid?: number;
  tid: number;
  /** Seconds, perf's clock. */
  time: number;
  /** The event's period (nanoseconds for cpu-clock); 1 when not printed. */
  period: number;
  event: string;
  /** Innermost first, as perf prints them. */
  frames: Frame[];
}

export interface PerfScriptResult {
  samples: StackSample[];
  /** Lines that were neither headers nor frames. */
  warnings: string[];
}

// comm, pid[/tid], optional [cpu], time:, optional period, event:
const HEADER = /^\s*(.*?)\s+(\d+)(?:\/(\d+))?\s+(?:\[(\d+)\]\s+)?(\d+\.\d+):\s+(?:(\d+)\s+)?(\S+?):?\s*$/;
// address, symbol (may hold spaces: `JS:*fib /path/work.js:1:13`), (dso)
const FRAME = /^\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$/;

/** On x86-64 every kernel address lies in the upper half. */
const KERNEL_ADDRESS = 0xffff800000000000n;

/** Read every record of `perf script` output. */
export function parsePerfScript(text: string): PerfScriptResult {
  const samples: StackSample[] = [];
  const warnings: string[] = [];
  let current: StackSample | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    if (current && /^\s/.test(line)) {
      const f = FRAME.exec(line);
      if (f) current.frames.push(frame(f[1]!, f[2]!, f[3]!));
      else warnings.push(`unreadable frame line: ${line.trim()}`);
      continue;
    }
    const h = HEADER.exec(line);
    if (!h) {
      warnings.push(`unreadable line: ${line.trim()}`);
      continue;
    }
    const [, comm, first, second, , time, period, event] = h;
    current = {
      comm: comm!.trim(),
      ...(second === undefined ? { tid: Number(first) } : { pid: Number(first), tid: Number(second) }),
      time: Number(time),
      period: period === undefined ? 1 : Number(period),
      event: event!,
      frames: [],
    };
    samples.push(current);
  }
  return { samples, warnings };
}

function frame(address: string, symbol: string, dso: string): Frame {
  const kind = frameKind(address, symbol, dso);
  // `name+0x1f` -> `name`; an unnamed frame is called after its object, as `[dash]`.
  let name = symbol.replace(/\+0x[0-9a-f]+$/, '');
  if (name === '[unknown]' && dso !== '[unknown]') name = `[${dso.split('/').pop()}]`;
  return { name, kind };
}

/** Kernel by address or object; JIT by V8's perf map (or its `JS:` names); native otherwise. */
export function frameKind(address: string, symbol: string, dso: string): FrameKind {
  let high = false;
  try {
    high = BigInt(`0x${address}`) >= KERNEL_ADDRESS;
  } catch {
    // not hex: leave it to the object name
  }
  if (high || dso.startsWith('[kernel.')) return 'kernel';
  if (/(^|\/)perf-\d+\.map$/.test(dso) || /^(JS|LazyCompile|Function|Script):/.test(symbol)) return 'jit';
  return 'native';
}

const MARK: Record<FrameKind, string> = { kernel: '_[k]', jit: '_[j]', native: '' };

/** A frame as it appears in a folded line: `;` is the separator, so it becomes `:`; the kind is its suffix. */
export function foldedFrame(f: Frame): string {
  return f.name.replace(/;/g, ':').replace(/\s+/g, ' ') + MARK[f.kind];
}

/** The kind a folded frame's suffix marks, and its name without the suffix. */
export function unfoldFrame(folded: string): Frame {
  if (folded.endsWith('_[k]')) return { name: folded.slice(0, -4), kind: 'kernel' };
  if (folded.endsWith('_[j]')) return { name: folded.slice(0, -4), kind: 'jit' };
  return { name: folded, kind: 'native' };
}

export interface FoldOptions {
  /**
   * Frames put above the command name, outermost first (e.g. the process's role, `qemu a`), so
   * threads of the same name in different processes stay apart. Called once per sample.
   */
  roots?: (s: StackSample) => readonly string[];
}

/**
 * Fold samples into stacks, outermost first: `[roots;]comm;outer;...;inner` -> number of samples.
 * Every sample counts 1 (the recording samples at a fixed rate, so a count is a share of CPU time).
 */
export function foldStacks(samples: readonly StackSample[], o: FoldOptions = {}): Map<string, number> {
  const folded = new Map<string, number>();
  for (const s of samples) {
    const parts = [...(o.roots?.(s) ?? []).map((r) => r.replace(/;/g, ':')), s.comm.replace(/;/g, ':')];
    for (let i = s.frames.length - 1; i >= 0; i--) parts.push(foldedFrame(s.frames[i]!));
    const key = parts.join(';');
    folded.set(key, (folded.get(key) ?? 0) + 1);
  }
  return folded;
}

/** Folded stacks as text, one `stack count` line each, sorted (the usual input of flame graph tools). */
export function formatFolded(folded: ReadonlyMap<string, number>): string {
  return [...folded.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([stack, n]) => `${stack} ${n}\n`)
    .join('');
}

/** Read folded lines back (`stack count`, the count after the last space). */
export function parseFolded(text: string): Map<string, number> {
  const folded = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line.trimEnd());
    if (!m) continue;
    folded.set(m[1]!, (folded.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return folded;
}

/** The `(N samples)` perf record prints on stderr when it writes its file, if it did. */
export function recordedSampleCount(stderr: string): number | undefined {
  const m = /Captured and wrote [\d.]+ \w+ .*\((\d+) samples\)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}
