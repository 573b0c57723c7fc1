// sockperf ping-pong: request/response round trips between two endpoints. Command builders and the
// parser of its summary. sockperf 3.7 reports latency as half the round trip; iopath reports the
// whole round trip (twice sockperf's figures), which is what a request/response application sees.

import { GuestError, ParseError } from '../errors.ts';

export const SOCKPERF_PORT = 11111;

export function sockperfServerArgv(bindIp: string, port = SOCKPERF_PORT): string[] {
  return ['sockperf', 'server', '--ip', bindIp, '--port', String(port)];
}

/** With `fullLog`, sockperf also writes every measured round trip to that file (sockperf-log.ts). */
export function sockperfPingPongArgv(server: string, durationSec: number, port = SOCKPERF_PORT, fullLog?: string): string[] {
  return ['sockperf', 'ping-pong', '--ip', server, '--port', String(port), '--time', String(durationSec), ...(fullLog ? ['--full-log', fullLog] : [])];
}

export interface LatencyResult {
  /** Round-trip times in microseconds. */
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  observations: number;
}

export function parseSockperf(text: string): LatencyResult {
  const clean = text.replace(/\x1b\[[0-9;]*m/g, '');
  if (/No messages were received from the server/.test(clean)) throw new GuestError('sockperf: no reply from the server (is it running and reachable?)');
  const percentile = (p: string) => {
    const m = new RegExp(`percentile ${p.replace('.', '\\.')}\\s*=\\s*([0-9.]+)`).exec(clean);
    if (!m) throw new ParseError('sockperf output', `no percentile ${p}`, text);
    return 2 * Number(m[1]);
  };
  const avg = /avg-latency=([0-9.]+)/.exec(clean);
  const obs = /Total (\d+) observations/.exec(clean);
  if (!avg || !obs) throw new ParseError('sockperf output', 'no avg-latency or observation count', text);
  return { p50: percentile('50.000'), p90: percentile('90.000'), p99: percentile('99.000'), mean: 2 * Number(avg[1]), observations: Number(obs[1]) };
}
