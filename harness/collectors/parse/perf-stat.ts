// Parser for `perf stat` results in every form perf prints them: `-x<sep>` CSV, `-j` JSON lines,
// the human table, and `-I` interval variants of each, in any locale. Results usually arrive on
// stderr mixed with perf's own warnings; lines that are not results are kept as warnings.
//
// Locale matters because perf formats numbers with the C library: en_US adds thousands
// separators to the human form, de_DE swaps `.` and `,` (which makes `-j` invalid JSON and splits
// `-x,` fields). The collectors run perf with LC_ALL=C; this parser still reads the other forms.

import { ParseError } from '../../errors.ts';

export type PerfCounterStatus = 'counted' | 'not-supported' | 'not-counted';

/** One counter line: an event's count over the whole run, or over one `-I` interval. */
export interface PerfCounter {
  /** Event as perf names it, e.g. `kvm:kvm_exit`. Duplicates keep their command-line order. */
  event: string;
  /** The count; null when the counter was `<not supported>` or `<not counted>`. */
  value: number | null;
  status: PerfCounterStatus;
  /** Unit column (`msec` for task-clock), empty for plain counts. */
  unit: string;
  /** End of the interval in seconds since the start, for `-I` output. */
  time?: number;
  /** Nanoseconds the counter ran, when perf printed it. */
  runtimeNs?: number;
  /** Percentage of the time the counter was scheduled (below 100 means it was multiplexed). */
  percentRunning?: number;
}

export interface PerfStatResult {
  format: 'csv' | 'json' | 'human';
  /** Counter lines in output order. */
  counters: PerfCounter[];
  /** `N seconds time elapsed`, when printed. */
  elapsedSeconds?: number;
  /** Lines that were neither results nor known headers, and notes about locale problems. */
  warnings: string[];
}

export interface PerfStatParseOptions {
  /** The `-x` separator used, when known; otherwise guessed per line (`,` or `;`). */
  separator?: string;
  /** Name of the output for error messages, e.g. `perf stat -p 1234`. */
  what?: string;
}

const NOT_SUPPORTED = '<not supported>';
const NOT_COUNTED = '<not counted>';
const LOCALE_NOTE = 'perf printed numbers with decimal commas (a non-C locale); run it with LC_ALL=C';

/** Parse perf stat output (stdout, stderr or the `-o` file). Throws ParseError when no counter is found. */
export function parsePerfStat(text: string, options: PerfStatParseOptions = {}): PerfStatResult {
  const what = options.what ?? 'perf stat output';
  const lines = text.split(/\r?\n/);
  const warnings: string[] = [];
  const counters: PerfCounter[] = [];
  const decimalComma = detectDecimalComma(lines);
  let format: PerfStatResult['format'] | undefined;
  let elapsedSeconds: number | undefined;
  let localeNoted = false;
  const noteLocale = () => {
    if (!localeNoted) warnings.push(LOCALE_NOTE);
    localeNoted = true;
  };

  for (const rawLine of lines) {
    const line = rawLine.trimEnd();
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;

    if (trimmed.startsWith('{')) {
      const parsed = parseJsonLine(trimmed);
      if (parsed) {
        if (parsed.repairedLocale) noteLocale();
        counters.push(parsed.counter);
        format ??= 'json';
        continue;
      }
    }

    const csv = parseCsvLine(trimmed, options.separator);
    if (csv) {
      if (csv.decimalComma) noteLocale();
      if (csv.ambiguous) {
        const note = 'the -x separator "," collides with the locale\'s decimal comma: fractional fields are unreliable; run perf with LC_ALL=C';
        if (!warnings.includes(note)) warnings.push(note);
      }
      counters.push(csv.counter);
      format ??= 'csv';
      continue;
    }

    const elapsed = /^([\d.,]+) seconds time elapsed$/.exec(trimmed);
    if (elapsed) {
      elapsedSeconds = parseLocaleNumber(elapsed[1]!, decimalComma);
      continue;
    }
    if (/^[\d.,]+ seconds (user|sys)$/.test(trimmed)) continue;
    if (/^Performance counter stats for /.test(trimmed)) continue;

    const human = parseHumanLine(trimmed, decimalComma);
    if (human) {
      if (decimalComma) noteLocale();
      counters.push(human);
      format ??= 'human';
      continue;
    }
    warnings.push(trimmed);
  }

  if (counters.length === 0 || format === undefined) {
    throw new ParseError(what, 'no counter lines found', text);
  }
  const result: PerfStatResult = { format, counters, warnings };
  if (elapsedSeconds !== undefined) result.elapsedSeconds = elapsedSeconds;
  return result;
}

/**
 * Total per event: the sum over `-I` intervals (each interval line is a delta), or the single total
 * line. Events listed more than once (the same tracepoint with different filters) are kept apart by
 * position: the n-th occurrence of a name in each interval maps to key `name#n` for n > 0.
 */
export function totalsByEvent(result: PerfStatResult): Map<string, number | null> {
  const totals = new Map<string, number | null>();
  let seen = new Map<string, number>();
  let currentTime: number | undefined;
  for (const c of result.counters) {
    if (c.time !== currentTime) {
      seen = new Map();
      currentTime = c.time;
    }
    const n = seen.get(c.event) ?? 0;
    seen.set(c.event, n + 1);
    const key = n === 0 ? c.event : `${c.event}#${n}`;
    const previous = totals.get(key);
    if (c.value === null) {
      if (!totals.has(key)) totals.set(key, null);
    } else {
      totals.set(key, (previous ?? 0) + c.value);
    }
  }
  return totals;
}

/** The decimal separator this output was printed with, from the elapsed line or `-I` timestamps. */
function detectDecimalComma(lines: string[]): boolean {
  for (const line of lines) {
    const m = /^\s*(\d+)([.,])(\d+) seconds time elapsed/.exec(line);
    if (m) return m[2] === ',';
  }
  for (const line of lines) {
    // Human -I lines: "     1,001060982      74984   kvm:kvm_mmio" (time has 9 fraction digits).
    const m = /^\s*\d+([.,])\d{9}\s+\S/.exec(line);
    if (m) return m[1] === ',';
  }
  return false;
}

function parseLocaleNumber(text: string, decimalComma: boolean): number {
  const normalised = decimalComma ? text.replace(/\./g, '').replace(',', '.') : text.replace(/,/g, '');
  return Number(normalised);
}

function statusOf(value: string): PerfCounterStatus | undefined {
  if (value === NOT_SUPPORTED) return 'not-supported';
  if (value === NOT_COUNTED) return 'not-counted';
  return undefined;
}

/** An event name as perf prints it: no spaces, starts with a letter, may carry `:` `/` `=` `,`-free modifiers. */
function isEventName(field: string): boolean {
  return /^[A-Za-z_][\w.:/=@+-]*$/.test(field) && /[A-Za-z]/.test(field);
}

function isCountField(field: string): boolean {
  return statusOf(field) !== undefined || /^-?\d+(?:[.,]\d+)?$/.test(field);
}

interface CsvLine {
  counter: PerfCounter;
  decimalComma: boolean;
  ambiguous: boolean;
}

/**
 * `[time,]value,unit,event,runtime,percent,metric,metric-unit`. The event is found by shape rather
 * than position, because a decimal comma inside a `,`-separated line adds fields.
 */
function parseCsvLine(line: string, separator?: string): CsvLine | undefined {
  const candidates = separator !== undefined ? [separator] : line.includes(';') ? [';', ','] : [','];
  for (const sep of candidates) {
    const fields = line.split(sep).map((f) => f.trim());
    if (fields.length < 4) continue;
    for (let i = 2; i < fields.length; i++) {
      const event = fields[i]!;
      const value = fields[i - 2]!;
      const unit = fields[i - 1]!;
      if (!isEventName(event) || !isCountField(value) || !/^[A-Za-z%/]*$/.test(unit)) continue;
      const lead = fields.slice(0, i - 2);
      const after = fields.slice(i + 1);
      // Expected after the event: runtime, percent, metric value, metric unit (4 fields). A decimal
      // comma in a `,`-separated line splits the percentage in two.
      const ambiguous = sep === ',' && after.length > 4 && /^\d+$/.test(after[1] ?? '') && /^\d+$/.test(after[2] ?? '');
      const decimalComma = ambiguous || (sep !== ',' && after.some((f) => /^\d+,\d+$/.test(f)));
      if (lead.length > (ambiguous ? 2 : 1)) continue;
      if (lead.length > 0 && !lead.every((f) => /^\d+(?:[.,]\d+)?$/.test(f))) continue;
      const counter: PerfCounter = { event, unit, ...valueOf(value, decimalComma) };
      if (lead.length > 0) counter.time = Number(decimalComma || lead.length === 2 ? lead.join('.').replace(',', '.') : lead[0]);
      const runtime = after[0];
      if (runtime !== undefined && /^\d+$/.test(runtime)) counter.runtimeNs = Number(runtime);
      const percent = ambiguous ? `${after[1]}.${after[2]}` : after[1];
      if (percent !== undefined && /^\d+(?:[.,]\d+)?$/.test(percent)) counter.percentRunning = Number(percent.replace(',', '.'));
      return { counter, decimalComma, ambiguous };
    }
  }
  return undefined;
}

function valueOf(field: string, decimalComma: boolean): Pick<PerfCounter, 'value' | 'status'> {
  const status = statusOf(field);
  if (status !== undefined) return { value: null, status };
  return { value: Number(decimalComma ? field.replace(',', '.') : field), status: 'counted' };
}

interface JsonLine {
  counter: PerfCounter;
  repairedLocale: boolean;
}

/** `perf stat -j` prints one JSON object per line; counter values are strings. */
function parseJsonLine(line: string): JsonLine | undefined {
  let repairedLocale = false;
  let object: unknown;
  try {
    object = JSON.parse(line);
  } catch {
    // de_DE prints bare numbers with decimal commas (`"pcnt-running" : 100,00`): invalid JSON.
    const repaired = line.replace(/(:\s*-?\d+),(\d+)(?=\s*[,}])/g, '$1.$2');
    try {
      object = JSON.parse(repaired);
      repairedLocale = true;
    } catch {
      return undefined;
    }
  }
  if (typeof object !== 'object' || object === null) return undefined;
  const o = object as Record<string, unknown>;
  if (typeof o.event !== 'string' || !('counter-value' in o)) return undefined;
  const raw = String(o['counter-value']).trim();
  const status = statusOf(raw);
  let value: number | null = null;
  if (status === undefined) {
    if (/^-?\d+,\d+$/.test(raw)) repairedLocale = true;
    value = Number(raw.replace(',', '.'));
    if (!Number.isFinite(value)) return undefined;
  }
  const counter: PerfCounter = { event: o.event, value, status: status ?? 'counted', unit: typeof o.unit === 'string' ? o.unit : '' };
  if (typeof o.interval === 'number') counter.time = o.interval;
  if (typeof o['event-runtime'] === 'number') counter.runtimeNs = o['event-runtime'];
  if (typeof o['pcnt-running'] === 'number') counter.percentRunning = o['pcnt-running'];
  return { counter, repairedLocale };
}

/** `[time]  value  [unit]  event  [# metric]` with the locale's grouping and decimal characters. */
function parseHumanLine(line: string, decimalComma: boolean): PerfCounter | undefined {
  const m = /^(?:(\d+[.,]\d+)\s+)?(<not supported>|<not counted>|\d[\d.,]*)\s+(?:([A-Za-z%]+)\s+)?(\S+)(?:\s+#.*|\s+\(\d+[.,]\d+%\))*$/.exec(line);
  if (!m) return undefined;
  const [, time, rawValue, unit, event] = m;
  if (!isEventName(event!)) return undefined;
  const status = statusOf(rawValue!);
  const counter: PerfCounter = {
    event: event!,
    unit: unit ?? '',
    value: status === undefined ? parseLocaleNumber(rawValue!, decimalComma) : null,
    status: status ?? 'counted',
  };
  if (counter.value !== null && !Number.isFinite(counter.value)) return undefined;
  if (time !== undefined) counter.time = Number(time.replace(',', '.'));
  return counter;
}
