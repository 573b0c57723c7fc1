// iperf3: the command lines iopath runs in the guests, and the parser of `iperf3 -J` output. The
// JSON comes from a guest and is treated as untrusted; an `error` key is a failure even though
// iperf3 exits 0 in that case.

import { GuestError, ParseError } from '../errors.ts';

export const IPERF3_PORT = 5201;

export interface TcpStreamParams {
  server: string;
  durationSec: number;
  omitSec: number;
  parallel: number;
  port?: number;
}

export function iperf3ServerArgv(port = IPERF3_PORT): string[] {
  return ['iperf3', '--server', '--port', String(port)];
}

export function iperf3TcpClientArgv(p: TcpStreamParams): string[] {
  return [
    'iperf3', '--client', p.server, '--port', String(p.port ?? IPERF3_PORT),
    '--time', String(p.durationSec), '--omit', String(p.omitSec), '--parallel', String(p.parallel),
    '--json', '--connect-timeout', '5000',
  ];
}

export interface Iperf3Result {
  /** Bits per second counted by the receiver over the measured (non-omitted) seconds. */
  receiverBitsPerSec: number;
  senderBitsPerSec: number;
  bytesReceived: number;
  bytesSent: number;
  /** Measured seconds at the receiver. */
  seconds: number;
  retransmits: number | undefined;
  streams: number;
  omitSec: number;
  version: string | undefined;
}

/** The parsed document, or the failure iperf3 reported in it (an `error` key, even with exit 0). */
function iperf3Document(text: string, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ParseError(what, (err as Error).message, text);
  }
  if (!isObject(doc)) throw new ParseError(what, 'not a JSON object', text);
  if (typeof doc.error === 'string') throw new GuestError(`iperf3 failed: ${doc.error.slice(0, 300)}`);
  return doc;
}

export function parseIperf3Json(text: string): Iperf3Result {
  const doc = iperf3Document(text, 'iperf3 JSON output');
  const end = doc.end;
  const start = doc.start;
  if (!isObject(end) || !isObject(end.sum_received) || !isObject(end.sum_sent)) {
    throw new ParseError('iperf3 JSON output', 'no end.sum_received / end.sum_sent (is this a TCP client run?)', text);
  }
  const received = end.sum_received;
  const sent = end.sum_sent;
  const testStart = isObject(start) && isObject(start.test_start) ? start.test_start : {};
  return {
    receiverBitsPerSec: num(received.bits_per_second, 'end.sum_received.bits_per_second', text),
    senderBitsPerSec: num(sent.bits_per_second, 'end.sum_sent.bits_per_second', text),
    bytesReceived: num(received.bytes, 'end.sum_received.bytes', text),
    bytesSent: num(sent.bytes, 'end.sum_sent.bytes', text),
    seconds: num(received.seconds, 'end.sum_received.seconds', text),
    retransmits: typeof sent.retransmits === 'number' ? sent.retransmits : undefined,
    streams: typeof testStart.num_streams === 'number' ? testStart.num_streams : 1,
    omitSec: typeof testStart.omit === 'number' ? testStart.omit : 0,
    version: isObject(start) && typeof start.version === 'string' ? start.version : undefined,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, field: string, raw: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ParseError('iperf3 JSON output', `${field} is not a non-negative number`, raw);
  return v;
}

export interface UdpParams {
  server: string;
  durationSec: number;
  omitSec: number;
  /** UDP payload bytes per datagram (iperf3 -l). */
  payloadBytes: number;
  port?: number;
}

/** UDP at unlimited offered rate (`-b 0`): the sender sends as fast as it can. */
export function iperf3UdpClientArgv(p: UdpParams): string[] {
  return [
    'iperf3', '--client', p.server, '--port', String(p.port ?? IPERF3_PORT), '--udp', '--bitrate', '0',
    '--length', String(p.payloadBytes), '--time', String(p.durationSec), '--omit', String(p.omitSec),
    '--json', '--connect-timeout', '5000',
  ];
}

export interface Iperf3UdpResult {
  /** Datagrams the sender sent in the measured seconds. */
  packetsSent: number;
  /** Datagrams lost on the way (counted by the receiver from sequence numbers). */
  packetsLost: number;
  /** Datagrams delivered per second: (sent - lost) / measured seconds. */
  deliveredPacketsPerSec: number;
  lossPercent: number;
  /** Payload bits per second the receiver got. */
  receiverBitsPerSec: number;
  seconds: number;
  payloadBytes: number;
}

/**
 * Parse `iperf3 -J --udp` client output. iperf3 3.12 reports the receiver's view in
 * `end.sum_received`; older versions only in `end.sum` (which then carries the loss counts).
 */
export function parseIperf3UdpJson(text: string): Iperf3UdpResult {
  const doc = iperf3Document(text, 'iperf3 UDP JSON output');
  const end = isObject(doc.end) ? doc.end : undefined;
  const rx = end && isObject(end.sum_received) ? end.sum_received : end && isObject(end.sum) ? end.sum : undefined;
  if (!rx) throw new ParseError('iperf3 UDP JSON output', 'no end.sum_received / end.sum (is this a UDP client run?)', text);
  const start = isObject(doc.start) && isObject(doc.start.test_start) ? doc.start.test_start : {};
  if (start.protocol !== undefined && start.protocol !== 'UDP') throw new ParseError('iperf3 UDP JSON output', `protocol is ${String(start.protocol)}, not UDP`, text);
  const packets = num(rx.packets, 'packets', text);
  const lost = num(rx.lost_packets, 'lost_packets', text);
  const seconds = num(rx.seconds, 'seconds', text);
  if (lost > packets) throw new ParseError('iperf3 UDP JSON output', `lost_packets (${lost}) exceeds packets (${packets})`, text);
  return {
    packetsSent: packets,
    packetsLost: lost,
    deliveredPacketsPerSec: seconds > 0 ? (packets - lost) / seconds : 0,
    lossPercent: packets > 0 ? (100 * lost) / packets : 0,
    receiverBitsPerSec: num(rx.bits_per_second, 'bits_per_second', text),
    seconds,
    payloadBytes: typeof start.blksize === 'number' ? start.blksize : 0,
  };
}
