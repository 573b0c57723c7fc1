// sockperf's full log (`--full-log <file>`): every measured round trip, one CSV row each, after a
// copy of the summary. iopath keeps it to report the tail (p99.9, p99.99, max) exactly and to draw
// the whole distribution. The file comes from a guest: it is parsed as untrusted, row by row, and
// only up to a cap.
//
// Layout of sockperf 3.7 (test/fixtures/sockperf/): the summary lines, then
//   ------------------------------
//   packet, txTime(sec), rxTime(sec), latency(usec)
//   0, 2.620067409, 2.620083800, 8.195
//   ...
//   ------------------------------
// txTime and rxTime are when the request left and the reply came back, in seconds with nanosecond
// digits; the last column is half of their difference (`latency`), or all of it (`rtt`) with
// sockperf's --full-rtt. iopath takes the round trip from the two times, in integer nanoseconds.

import { ParseError } from '../errors.ts';

/** Where the client writes the log in the guest (RAM: the guest's root is its initramfs). */
export const FULL_LOG_GUEST_PATH = '/tmp/iopath-sockperf-full-log.csv';

/**
 * Round trips kept per repetition. 100,000 rows are about 4 MB of text (5.3 MB once base64 crosses
 * the guest's serial control channel, far under its 32 MiB reply cap; about a minute of transfer
 * under software emulation, see latency.ts) and leave the 10 values beyond p99.99 that it needs
 * (stats/percentiles.ts MIN_BEYOND); a longer or faster run keeps its first 100,000 round trips, and
 * the repetition says so.
 */
export const FULL_LOG_MAX_SAMPLES = 100_000;

/** Lines before the table (the summary sockperf copies into the file), with room to spare. */
export const FULL_LOG_HEADER_LINES = 100;

export interface FullLog {
  /** Round-trip times in microseconds, in the order they were measured. */
  roundTripsUs: Float64Array;
  /** Rows the text holds beyond those kept (0 when every row was kept). */
  dropped: number;
  /** Lines of the text up to the last row kept: the part of the file the figures rest on. */
  keptLines: number;
  /** The table's closing line was missing: the file was cut (by the fetch's line cap, or a full disk). */
  truncated: boolean;
  /** Observations sockperf counted in its summary, when the file carries it. */
  observations: number | undefined;
}

const HEADER = /^packet,\s*txTime\(sec\),\s*rxTime\(sec\),\s*(latency|rtt)\(usec\)\s*$/;
const ROW = /^(\d+),\s*(\d+)\.(\d{9}),\s*(\d+)\.(\d{9}),\s*-?\d+(?:\.\d+)?\s*$/;
const RULE = /^-{10,}\s*$/;

/** Seconds with nine decimal digits as integer nanoseconds (exact while below 2^53 ns, 104 days). */
const nanos = (sec: string, frac: string) => Number(sec) * 1e9 + Number(frac);

export function parseSockperfFullLog(text: string, maxSamples = FULL_LOG_MAX_SAMPLES): FullLog {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  const lines = clean.split('\n');
  const obs = /Total (\d+) observations/.exec(clean);
  const start = lines.findIndex((l) => HEADER.test(l.trim()));
  if (start < 0) throw new ParseError('sockperf full log', 'no "packet, txTime(sec), rxTime(sec), ..." header', text.slice(0, 2000));
  const kept = new Float64Array(Math.min(maxSamples, Math.max(0, lines.length - start - 1)));
  let n = 0;
  let dropped = 0;
  let keptLines = start + 1;
  let truncated = true;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (RULE.test(line)) {
      truncated = false;
      break;
    }
    if (line === '' && i === lines.length - 1) break;
    const m = ROW.exec(line);
    if (!m) throw new ParseError('sockperf full log', `row ${i + 1} is not "packet, txTime, rxTime, latency": ${JSON.stringify(line.slice(0, 120))}`, line);
    if (n >= maxSamples) {
      dropped++;
      continue;
    }
    const rtt = nanos(m[4]!, m[5]!) - nanos(m[2]!, m[3]!);
    if (rtt < 0) throw new ParseError('sockperf full log', `row ${i + 1}: the reply came back before the request left`, line);
    kept[n++] = rtt / 1000;
    keptLines = i + 1;
  }
  if (n === 0) throw new ParseError('sockperf full log', 'the table has no rows', text.slice(0, 2000));
  return { roundTripsUs: kept.subarray(0, n), dropped, keptLines, truncated, observations: obs ? Number(obs[1]) : undefined };
}
