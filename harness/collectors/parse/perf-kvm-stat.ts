// Parser for the tables `perf kvm stat report` and `perf kvm stat live` print: VM-EXIT, MMIO Access
// and IO Port Access, in the old (2012, no Min/Max columns) and current layouts, Intel (upper-case
// reasons) and AMD (lower-case) alike. Rows are split on whitespace, never on column positions: the
// name column is 20 wide on older perf and 40 on newer, names overflow it, and large Max Time values
// push the following columns right.

import { ParseError } from '../../errors.ts';

export type KvmStatEvent = 'vmexit' | 'mmio' | 'ioport';

/** One row: an exit reason (vmexit), an address and direction (mmio) or a port and direction (ioport). */
export interface KvmStatRow {
  /** `HLT`, `msr`, `0xfee00380:W`, `0xc090:POUT`, `UNKNOWN`, ... as printed. */
  key: string;
  samples: number;
  samplesPercent: number;
  timePercent: number;
  /** Absent in the old layout. */
  minUs?: number;
  maxUs?: number;
  avgUs: number;
  /** The `( +- x% )` spread of the average. */
  avgSpreadPercent: number;
  /**
   * For `UNKNOWN` rows: the raw exit code from the `unknown kvm exit code:N on VMX` line perf printed
   * just before the row (perf prints it while decoding that row's key).
   */
  unknownCode?: number;
}

export interface KvmStatTable {
  event: KvmStatEvent;
  /** The line that introduced the table, e.g. `Analyze events for all VMs, all VCPUs:`. */
  heading?: string;
  /** Wall-clock stamp `perf kvm stat live` prints before each display, e.g. `16:00:19.592321`. */
  time?: string;
  rows: KvmStatRow[];
  /** From the footer `Total Samples:N, Total events handled time:Xus.` when present. */
  totalSamples?: number;
  totalTimeUs?: number;
  /** The rows were cut short (`........` in pasted output): sums are partial. */
  truncated: boolean;
  /** `Lost events: N` printed by live mode when its ring buffer overflowed. */
  lostEvents?: number;
}

export interface KvmStatResult {
  tables: KvmStatTable[];
  /** Problems worth showing: unknown exit codes, totals that disagree with their rows. */
  warnings: string[];
  /** Lines that were neither tables nor known furniture (commands echoed in pasted notes, ...). */
  ignored: string[];
}

const HEADER = /^\s*(VM-EXIT|MMIO Access|IO Port Access)\s+Samples\s+Samples%\s+Time%\s+(Min Time\s+Max Time\s+)?Avg time\s*$/;
// The key may hold a space (SVM's `UD excp`, `PF excp`): it is everything up to the numbers.
const ROW =
  /^\s*(\S.*?)\s+(\d+)\s+(\d+(?:\.\d+)?)%\s+(\d+(?:\.\d+)?)%\s+(?:(\d+(?:\.\d+)?)us\s*(\d+(?:\.\d+)?)us\s*)?(\d+(?:\.\d+)?)us\s*\(\s*\+-\s*(\d+(?:\.\d+)?)%\s*\)\s*$/;
const FOOTER = /Total Samples:\s*(\d+),\s*Total events handled time:\s*(\d+(?:\.\d+)?)us\./;
const UNKNOWN_CODE = /unknown kvm exit code:\s*(-?\d+) on (\w+)/;
const LIVE_TIME = /^\s*\d{2}:\d{2}:\d{2}\.\d+\s*$/;
const LOST = /Lost events:\s*(\d+)/;

const EVENT_OF: Record<string, KvmStatEvent> = { 'VM-EXIT': 'vmexit', 'MMIO Access': 'mmio', 'IO Port Access': 'ioport' };

/** Parse report or live output. Throws ParseError when no table header is found. */
export function parsePerfKvmStat(text: string, what = 'perf kvm stat output'): KvmStatResult {
  const tables: KvmStatTable[] = [];
  const warnings: string[] = [];
  const ignored: string[] = [];
  let current: KvmStatTable | undefined;
  let heading: string | undefined;
  let time: string | undefined;
  let pendingCode: number | undefined;

  // Strip terminal control sequences (live mode clears the screen before each display).
  const clean = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  for (const raw of clean.split(/\r?\n/)) {
    const line = raw.trimEnd();
    const trimmed = line.trim();
    if (trimmed === '') continue;

    const header = HEADER.exec(line);
    if (header) {
      current = { event: EVENT_OF[header[1]!]!, rows: [], truncated: false };
      if (heading !== undefined) current.heading = heading;
      if (time !== undefined) current.time = time;
      tables.push(current);
      heading = undefined;
      pendingCode = undefined;
      continue;
    }
    const unknown = UNKNOWN_CODE.exec(trimmed);
    if (unknown) {
      pendingCode = Number(unknown[1]);
      warnings.push(trimmed);
      continue;
    }
    const row = ROW.exec(line);
    if (row && current) {
      const r: KvmStatRow = {
        key: row[1]!,
        samples: Number(row[2]),
        samplesPercent: Number(row[3]),
        timePercent: Number(row[4]),
        avgUs: Number(row[7]),
        avgSpreadPercent: Number(row[8]),
      };
      if (row[5] !== undefined) r.minUs = Number(row[5]);
      if (row[6] !== undefined) r.maxUs = Number(row[6]);
      if (pendingCode !== undefined && r.key === 'UNKNOWN') r.unknownCode = pendingCode;
      pendingCode = undefined;
      current.rows.push(r);
      continue;
    }
    const footer = FOOTER.exec(trimmed);
    if (footer && current) {
      current.totalSamples = Number(footer[1]);
      current.totalTimeUs = Number(footer[2]);
      const sum = current.rows.reduce((s, r) => s + r.samples, 0);
      if (!current.truncated && sum !== current.totalSamples) {
        warnings.push(`${current.event} table: rows add up to ${sum} samples but the footer says ${current.totalSamples}`);
      }
      current = undefined;
      continue;
    }
    const lost = LOST.exec(trimmed);
    if (lost) {
      const table = current ?? tables[tables.length - 1];
      if (table) table.lostEvents = (table.lostEvents ?? 0) + Number(lost[1]);
      warnings.push(trimmed);
      continue;
    }
    if (/^\.{3,}$/.test(trimmed)) {
      if (current) current.truncated = true;
      continue;
    }
    if (LIVE_TIME.test(line)) {
      time = trimmed;
      continue;
    }
    if (trimmed.endsWith(':')) {
      heading = trimmed;
      continue;
    }
    ignored.push(trimmed);
  }

  if (tables.length === 0) throw new ParseError(what, 'no VM-EXIT, MMIO or IO port table found', text);
  return { tables, warnings, ignored };
}

/**
 * Samples per key summed over every table of one event kind (live mode prints one table per display
 * interval, each counting only that interval). UNKNOWN rows with a known code become `UNKNOWN(code)`.
 */
export function samplesByKey(result: KvmStatResult, event: KvmStatEvent = 'vmexit'): Map<string, number> {
  const counts = new Map<string, number>();
  for (const table of result.tables) {
    if (table.event !== event) continue;
    for (const row of table.rows) {
      const key = row.key === 'UNKNOWN' && row.unknownCode !== undefined ? `UNKNOWN(${row.unknownCode})` : row.key;
      counts.set(key, (counts.get(key) ?? 0) + row.samples);
    }
  }
  return counts;
}
