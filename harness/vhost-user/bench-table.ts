// The summary of `npm run bench:switch`: per mode, frame size and queue pairs, the median (and
// best) of the repetitions of frames per second per CPU-second of the switch, beside testpmd's vhost
// PMD measured in the same run and role, their ratio, and how each switch scales from one queue
// pair to two. Pure functions over the measurements, so the table is unit-tested.

import type { Kind, Measurement, Mode } from './bench-rig.ts';

export interface Cell {
  /** Frames per second forwarded (front-end received). */
  pps: number;
  /** Frames per second per CPU-second of the switch: the figure that other work on the host cannot inflate. */
  ppsPerCpu: number;
  cpu: number;
  reps: number;
}

export interface Row {
  mode: Mode;
  size: number;
  queues: number;
  ts?: Cell;
  testpmd?: Cell;
  /** ts / testpmd in frames per switch CPU-second. */
  ratio?: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Frames per switch CPU-second of one measurement (NaN if the CPU could not be read). */
export function perCpu(m: Measurement): number {
  return m.cpu > 0 ? m.pps / m.cpu : NaN;
}

function cell(ms: readonly Measurement[], pick: (xs: number[]) => number): Cell | undefined {
  if (ms.length === 0) return undefined;
  return { pps: pick(ms.map((m) => m.pps)), ppsPerCpu: pick(ms.map(perCpu)), cpu: pick(ms.map((m) => m.cpu)), reps: ms.length };
}

/** One row per (mode, size, queues) present, in the order given; `pick` is median or best. */
export function summarise(results: readonly Measurement[], pick: (xs: number[]) => number = median): Row[] {
  const rows: Row[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    const key = `${r.mode}/${r.size}/${r.queues}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const of = (k: Kind) => cell(results.filter((x) => x.kind === k && x.mode === r.mode && x.size === r.size && x.queues === r.queues), pick);
    const ts = of('ts');
    const testpmd = of('testpmd');
    const row: Row = { mode: r.mode, size: r.size, queues: r.queues };
    if (ts) row.ts = ts;
    if (testpmd) row.testpmd = testpmd;
    if (ts && testpmd && testpmd.ppsPerCpu > 0) row.ratio = ts.ppsPerCpu / testpmd.ppsPerCpu;
    rows.push(row);
  }
  return rows;
}

/** Per switch, mode and size: frames per CPU-second with 2 queue pairs over 1 (when both were run). */
export function scaling(rows: readonly Row[]): { mode: Mode; size: number; ts?: number; testpmd?: number }[] {
  const out: { mode: Mode; size: number; ts?: number; testpmd?: number }[] = [];
  for (const one of rows.filter((r) => r.queues === 1)) {
    const two = rows.find((r) => r.queues === 2 && r.mode === one.mode && r.size === one.size);
    if (!two) continue;
    const s: { mode: Mode; size: number; ts?: number; testpmd?: number } = { mode: one.mode, size: one.size };
    if (one.ts && two.ts) s.ts = two.ts.ppsPerCpu / one.ts.ppsPerCpu;
    if (one.testpmd && two.testpmd) s.testpmd = two.testpmd.ppsPerCpu / one.testpmd.ppsPerCpu;
    out.push(s);
  }
  return out;
}

const mpps = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : (x / 1e6).toFixed(2));
const fix = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(2));

/** The table as printed. */
export function formatTable(rows: readonly Row[], title: string): string {
  const head = ['mode', 'frame', 'queues', 'ts Mpps', 'ts CPU', 'ts Mpps/CPU', 'testpmd Mpps', 'testpmd CPU', 'testpmd Mpps/CPU', 'ratio/CPU'];
  const body = rows.map((r) => [
    r.mode,
    `${r.size} B`,
    String(r.queues),
    mpps(r.ts?.pps),
    r.ts ? `${(100 * r.ts.cpu).toFixed(0)}%` : '-',
    mpps(r.ts?.ppsPerCpu),
    mpps(r.testpmd?.pps),
    r.testpmd ? `${(100 * r.testpmd.cpu).toFixed(0)}%` : '-',
    mpps(r.testpmd?.ppsPerCpu),
    fix(r.ratio),
  ]);
  const lines = [title, ...grid([head, ...body])];
  const sc = scaling(rows);
  if (sc.length > 0) {
    lines.push('', 'multi-queue scaling, 1 -> 2 queue pairs (Mpps per switch CPU, 2 pairs / 1 pair):');
    lines.push(...grid([['mode', 'frame', 'iopath switch', 'testpmd vhost PMD'], ...sc.map((s) => [s.mode, `${s.size} B`, fix(s.ts), fix(s.testpmd)])]));
  }
  return lines.join('\n');
}

function grid(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((v, c) => (c < 3 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  '));
}
