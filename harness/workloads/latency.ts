// The samples of one latency repetition: the tail from every round trip of sockperf's full log,
// fetched from the client guest after the traffic, and the summary sockperf printed for what the
// log cannot give (the mean; the percentiles of a run whose log is missing or too short).

import { gzipSync } from 'node:zlib';
import { ParseError } from '../errors.ts';
import type { MetricName } from '../metrics.ts';
import type { Sample } from '../samples.ts';
import { exactPercentiles } from '../stats/percentiles.ts';
import type { Endpoint } from './endpoint.ts';
import type { LatencyResult } from './sockperf.ts';
import { FULL_LOG_GUEST_PATH, FULL_LOG_HEADER_LINES, FULL_LOG_MAX_SAMPLES, parseSockperfFullLog, type FullLog } from './sockperf-log.ts';

/**
 * Bytes of log per second the guest's control channel carries (base64 over its second serial port,
 * every byte emulated). Measured under software emulation on a two-core host: 1.34 MB of real log
 * (32,121 round trips) in 17.4 s and 4.2 MB in 54 s, about 78 kB/s; with both cores kept busy by
 * other work, 46 to 79 kB/s. Under KVM the channel is faster.
 */
const CHANNEL_BYTES_PER_SEC = 75_000;

/** Bytes per row of the log: 41.6 on average in a 15 s run, with room for the longer timestamps of longer runs. */
const ROW_BYTES = 45;

/** Over the measured rate: a busy host moved the log up to 1.7 times slower. */
const FETCH_MARGIN = 3;

/**
 * Seconds the fetch of a log of `rows` round trips may take: its transfer at the measured rate, with
 * margin. A fetch past it is abandoned, and an abandoned request ends the guest's control channel
 * (and with it the path), so the budget errs on the long side.
 */
export function fullLogFetchSec(rows: number): number {
  const bytes = (Math.min(rows, FULL_LOG_MAX_SAMPLES) + FULL_LOG_HEADER_LINES) * ROW_BYTES;
  return 15 + Math.ceil((FETCH_MARGIN * bytes) / CHANNEL_BYTES_PER_SEC);
}

/** The longest fetch, of a log at the cap (about 3 minutes): part of every latency repetition's budget. */
export const FULL_LOG_FETCH_SEC = fullLogFetchSec(FULL_LOG_MAX_SAMPLES);

/** A log larger than this is stored gzip-compressed (a capped log is about 4 MB of text, 1 MB gzipped). */
export const COMPRESS_ABOVE_BYTES = 256 * 1024;

/** The source of the figures taken from the full log (the summary's are `sockperf`). */
export const FULL_LOG_SOURCE = 'sockperf-full-log';

const METRIC_OF: ReadonlyMap<number, MetricName> = new Map([
  [50, 'latencyP50'],
  [90, 'latencyP90'],
  [99, 'latencyP99'],
  [99.9, 'latencyP999'],
  [99.99, 'latencyP9999'],
]);

export interface FetchedLog {
  log?: FullLog;
  /** The log as fetched (compressed when large), to store beside the repetition. */
  raw: { name: string; text: string | Buffer }[];
  notes: string[];
}

/**
 * Read the log back from the client through its agent, at most the cap's lines (so a long run never
 * moves more than the cap across the serial port), then delete it to give the guest its RAM back.
 * `rows` is the count sockperf's summary gave, which sizes the fetch's time budget. A log that is
 * missing or unreadable costs the tail, never the repetition: the summary remains.
 */
export async function fetchFullLog(client: Endpoint, label: string, rows: number, signal?: AbortSignal): Promise<FetchedLog> {
  const lines = FULL_LOG_HEADER_LINES + FULL_LOG_MAX_SAMPLES + 1;
  const r = await client.exec(['head', '-n', String(lines), FULL_LOG_GUEST_PATH], fullLogFetchSec(rows), signal);
  await client.exec(['rm', '-f', FULL_LOG_GUEST_PATH], 10, signal);
  if (r.status !== 0 || !r.stdout) {
    return { raw: [], notes: [`sockperf's full log could not be read at ${client.name} (status ${r.status}${r.stderr.trim() ? `: ${r.stderr.trim().slice(-200)}` : ''}); percentiles from sockperf's summary only`] };
  }
  let log: FullLog;
  try {
    log = parseSockperfFullLog(r.stdout);
  } catch (err) {
    if (!(err instanceof ParseError)) throw err;
    return { raw: [storedLog(label, r.stdout)], notes: [`${err.message}; percentiles from sockperf's summary only`] };
  }
  // The fetch takes a few lines more than the cap (the summary's length varies): keep only the rows
  // the figures rest on, so the stored file gives the same percentiles again.
  const text = log.dropped > 0 ? r.stdout.split('\n').slice(0, log.keptLines).join('\n') + '\n' : r.stdout;
  return { log, raw: [storedLog(label, text)], notes: [] };
}

function storedLog(label: string, text: string): { name: string; text: string | Buffer } {
  const name = `${label}.sockperf-full-log.csv`;
  if (Buffer.byteLength(text) <= COMPRESS_ABOVE_BYTES) return { name, text };
  return { name: `${name}.gz`, text: gzipSync(text, { level: 6 }) };
}

/**
 * The repetition's samples, in round-trip microseconds. From the log: every percentile its count
 * supports, the max and the count itself. From the summary: the mean, and p50/p90/p99 where the log
 * gives none (no log, or too few round trips), so a repetition always has them.
 */
export function latencySamples(summary: LatencyResult, log: FullLog | undefined): { samples: Sample[]; notes: string[] } {
  const samples: Sample[] = [];
  const notes: string[] = [];
  const fromLog = new Set<MetricName>();
  const pct = log ? exactPercentiles(log.roundTripsUs) : null;
  if (log && pct) {
    for (const p of pct.percentiles) {
      const metric = METRIC_OF.get(p.percent)!;
      fromLog.add(metric);
      samples.push({ metric, value: p.value, unit: 'us', source: FULL_LOG_SOURCE });
    }
    samples.push({ metric: 'latencyMax', value: pct.max, unit: 'us', source: FULL_LOG_SOURCE });
    samples.push({ metric: 'latencySamples', value: pct.n, unit: 'count', source: FULL_LOG_SOURCE });
    const total = Math.max(summary.observations, pct.n + log.dropped);
    if (total > pct.n) notes.push(`sockperf's full log keeps the first ${pct.n} of ${total} round trips (cap ${FULL_LOG_MAX_SAMPLES}): its percentiles and max rest on those`);
  }
  const fromSummary: [MetricName, number][] = [
    ['latencyP50', summary.p50],
    ['latencyP90', summary.p90],
    ['latencyP99', summary.p99],
  ];
  for (const [metric, value] of fromSummary) if (!fromLog.has(metric)) samples.push({ metric, value, unit: 'us', source: 'sockperf' });
  samples.push({ metric: 'latencyMean', value: summary.mean, unit: 'us', source: 'sockperf' });
  return { samples, notes };
}
