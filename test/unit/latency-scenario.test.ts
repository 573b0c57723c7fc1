// The latency scenario against a fake client guest that answers with real captures: sockperf's
// stdout and its full log (test/fixtures/sockperf), and what `head -n` makes of a longer log.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ScenarioPlan } from '../../harness/config/plan.ts';
import type { ExecResult } from '../../harness/vm/agent.ts';
import type { Endpoint } from '../../harness/workloads/endpoint.ts';
import { FULL_LOG_FETCH_SEC, FULL_LOG_SOURCE, fullLogFetchSec } from '../../harness/workloads/latency.ts';
import { scenarioTable, type ScenarioContext } from '../../harness/workloads/scenarios.ts';
import { FULL_LOG_GUEST_PATH, FULL_LOG_MAX_SAMPLES } from '../../harness/workloads/sockperf-log.ts';

const read = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'sockperf', name), 'utf8');
const STDOUT = read('sockperf-3.7_ping-pong_udp_loopback_full-log_stdout.txt');
const LOG = read('sockperf-3.7_ping-pong_udp_loopback_full-log_first-4000-of-59368.csv');
const plan = { kind: 'latency', topology: 'guest-to-guest', durationSec: 2, name: 'latency' } as Extract<ScenarioPlan, { kind: 'latency' }>;

/** A client guest: sockperf prints `stdout`; `head -n N <log>` gives the first N lines of `log`, or fails. */
function client(stdout: string, log: string | undefined): { ep: Endpoint; calls: string[][]; timeouts: number[] } {
  const calls: string[][] = [];
  const timeouts: number[] = [];
  const ok = (out: string): ExecResult => ({ stdout: out, stderr: '', status: 0 });
  const ep: Endpoint = {
    name: 'b',
    ip: '10.99.0.2',
    async exec(argv, timeoutSec, _s, onExit) {
      calls.push([...argv]);
      timeouts.push(timeoutSec);
      onExit?.();
      if (argv[0] === 'sockperf') return ok(stdout);
      if (argv[0] === 'head') {
        if (log === undefined) return { stdout: '', stderr: `head: ${FULL_LOG_GUEST_PATH}: No such file or directory`, status: 1 };
        const lines = log.split('\n');
        return ok(lines.length - 1 <= Number(argv[2]) ? log : lines.slice(0, Number(argv[2])).join('\n') + '\n');
      }
      if (argv[0] === 'rm') return ok('');
      throw new Error(`unexpected ${argv.join(' ')}`);
    },
    ensureServer: async () => undefined,
  };
  return { ep, calls, timeouts };
}

function ctxOf(ep: Endpoint): ScenarioContext {
  const server: Endpoint = { name: 'a', ip: '10.99.0.1', exec: async () => ({ stdout: '', stderr: '', status: 0 }), ensureServer: async () => undefined };
  return { server, client: ep, guests: [server, ep], signal: new AbortController().signal };
}

/** A log of `rows` round trips, the fixture's rows repeated, and a summary that counts them. */
function longLog(rows: number): { log: string; stdout: string } {
  const lines = LOG.split('\n');
  const head = lines.slice(0, lines.findIndex((l) => l.startsWith('packet,')) + 1);
  const body = lines.filter((l) => /^\d+, /.test(l));
  const out = Array.from({ length: rows }, (_, i) => body[i % body.length]!.replace(/^\d+/, String(i)));
  return { log: [...head, ...out, '------------------------------', ''].join('\n'), stdout: STDOUT.replace('Total 59368 observations', `Total ${rows} observations`) };
}

const byMetric = (samples: { metric: string; value: number; source?: string }[]) => Object.fromEntries(samples.map((s) => [s.metric, s]));

describe('latency scenario with the full log', () => {
  it('asks sockperf for its full log, fetches and deletes it, and takes the percentiles it supports from it', async () => {
    const { ep, calls } = client(STDOUT, LOG);
    const r = await scenarioTable.latency.run(ctxOf(ep), plan, 'latency-rep0', { suffix: '', dims: {}, trafficSec: 2 });
    expect(calls[0]).toEqual(['sockperf', 'ping-pong', '--ip', '10.99.0.1', '--port', '11111', '--time', '2', '--full-log', FULL_LOG_GUEST_PATH]);
    expect(calls[1]).toEqual(['head', '-n', String(FULL_LOG_MAX_SAMPLES + 101), FULL_LOG_GUEST_PATH]);
    expect(calls[2]).toEqual(['rm', '-f', FULL_LOG_GUEST_PATH]);
    const m = byMetric(r.samples);
    // 4,000 round trips: p50 to p99 from the log; p99.9 and beyond have too few round trips beyond them.
    expect(Object.keys(m).sort()).toEqual(['latencyMax', 'latencyMean', 'latencyP50', 'latencyP90', 'latencyP99', 'latencySamples'].sort());
    for (const k of ['latencyP50', 'latencyP90', 'latencyP99', 'latencyMax', 'latencySamples']) expect(m[k]!.source).toBe(FULL_LOG_SOURCE);
    expect(m.latencySamples!.value).toBe(4000);
    // Round trips, as before: the mean is twice sockperf's avg-latency (13.039).
    expect(m.latencyMean).toMatchObject({ source: 'sockperf', value: 26.078 });
    expect(m.latencyP50!.value).toBeGreaterThan(15);
    expect(m.latencyP50!.value).toBeLessThan(m.latencyP99!.value);
    expect(r.raw.map((f) => f.name)).toEqual(['latency-rep0.sockperf.txt', 'latency-rep0.sockperf-full-log.csv']);
    expect(r.raw[1]!.text).toBe(LOG);
    // The trimmed fixture holds 4,000 of the run's 59,368 round trips: the repetition says so.
    expect(r.notes).toEqual(['sockperf\'s full log keeps the first 4000 of 59368 round trips (cap 100000): its percentiles and max rest on those']);
  });

  it('keeps at most the cap, gives p99.99 at the cap, and stores a large log compressed', async () => {
    const { log, stdout } = longLog(FULL_LOG_MAX_SAMPLES + 20_000);
    const { ep } = client(stdout, log);
    const r = await scenarioTable.latency.run(ctxOf(ep), plan, 'latency-rep1', { suffix: '', dims: {}, trafficSec: 2 });
    const m = byMetric(r.samples);
    expect(m.latencySamples!.value).toBe(FULL_LOG_MAX_SAMPLES);
    expect(m.latencyP999!.source).toBe(FULL_LOG_SOURCE);
    expect(m.latencyP9999!.value).toBeLessThanOrEqual(m.latencyMax!.value);
    expect(r.notes).toEqual([`sockperf's full log keeps the first ${FULL_LOG_MAX_SAMPLES} of ${FULL_LOG_MAX_SAMPLES + 20_000} round trips (cap ${FULL_LOG_MAX_SAMPLES}): its percentiles and max rest on those`]);
    const stored = r.raw.find((f) => f.name === 'latency-rep1.sockperf-full-log.csv.gz')!;
    expect(Buffer.isBuffer(stored.text)).toBe(true);
    const text = gunzipSync(stored.text as Buffer).toString('utf8');
    // Only the rows the figures rest on, though the fetch brought a few more.
    const rows = text.split('\n').filter((l) => /^\d+, /.test(l));
    expect(rows).toHaveLength(FULL_LOG_MAX_SAMPLES);
    expect(rows.at(-1)).toMatch(new RegExp(`^${FULL_LOG_MAX_SAMPLES - 1}, `));
  });

  it('falls back to the summary when the log cannot be read, and says so', async () => {
    const { ep } = client(STDOUT, undefined);
    const r = await scenarioTable.latency.run(ctxOf(ep), plan, 'latency-rep2', { suffix: '', dims: {}, trafficSec: 2 });
    const m = byMetric(r.samples);
    expect(Object.keys(m).sort()).toEqual(['latencyMean', 'latencyP50', 'latencyP90', 'latencyP99']);
    expect(m.latencyP99).toMatchObject({ source: 'sockperf', value: 2 * 116.806 });
    expect(r.raw.map((f) => f.name)).toEqual(['latency-rep2.sockperf.txt']);
    expect(r.notes).toEqual([expect.stringMatching(/^sockperf's full log could not be read at b \(status 1: head: .*No such file or directory\); percentiles from sockperf's summary only$/)]);
  });

  it('keeps a log it cannot parse as evidence, and falls back to the summary', async () => {
    const { ep } = client(STDOUT, 'not a sockperf log');
    const r = await scenarioTable.latency.run(ctxOf(ep), plan, 'latency-rep3', { suffix: '', dims: {}, trafficSec: 2 });
    expect(r.samples.every((s) => s.source === 'sockperf')).toBe(true);
    expect(r.raw.map((f) => f.name)).toEqual(['latency-rep3.sockperf.txt', 'latency-rep3.sockperf-full-log.csv']);
    expect(r.notes).toEqual([expect.stringMatching(/^could not parse sockperf full log: no "packet, txTime.*percentiles from sockperf's summary only$/)]);
  });

  it("budgets the log's transfer into the repetition", () => {
    expect(scenarioTable.latency.budgetSec(plan)).toBe(2 + 30 + FULL_LOG_FETCH_SEC);
    // The cap's 4.5 MB at the slowest rate measured under software emulation (46 kB/s), with room.
    expect(FULL_LOG_FETCH_SEC).toBeGreaterThan((1.5 * (FULL_LOG_MAX_SAMPLES * 45)) / 46_000);
  });

  it('gives the fetch the time its size needs, from the round trips sockperf counted', async () => {
    expect(fullLogFetchSec(4000)).toBeLessThan(30);
    expect(fullLogFetchSec(4000)).toBeLessThan(fullLogFetchSec(40_000));
    expect(fullLogFetchSec(10 * FULL_LOG_MAX_SAMPLES)).toBe(FULL_LOG_FETCH_SEC);
    const { ep, timeouts } = client(STDOUT, LOG);
    await scenarioTable.latency.run(ctxOf(ep), plan, 'latency-rep4', { suffix: '', dims: {}, trafficSec: 2 });
    // The fixture's summary counted 59,368 round trips.
    expect(timeouts[1]).toBe(fullLogFetchSec(59_368));
  });
});
