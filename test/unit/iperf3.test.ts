import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuestError, ParseError } from '../../harness/errors.ts';
import { iperf3TcpClientArgv, parseIperf3Json } from '../../harness/workloads/iperf3.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'iperf3', name), 'utf8');

describe('iperf3 -J parser', () => {
  it('reads receiver and sender rates of a loopback run', () => {
    const r = parseIperf3Json(fixture('iperf3-J_tcp_loopback_iperf3.12.json'));
    const doc = JSON.parse(fixture('iperf3-J_tcp_loopback_iperf3.12.json'));
    expect(r.receiverBitsPerSec).toBe(doc.end.sum_received.bits_per_second);
    expect(r.senderBitsPerSec).toBe(doc.end.sum_sent.bits_per_second);
    expect(r.bytesReceived).toBe(doc.end.sum_received.bytes);
    expect(r.retransmits).toBe(doc.end.sum_sent.retransmits);
    expect(r.streams).toBe(1);
    expect(r.version).toBe('iperf 3.12');
  });

  it('uses the summed result of parallel streams and excludes omitted seconds', () => {
    const text = fixture('iperf3-J_tcp_loopback_-P2_-O1_iperf3.12.json');
    const r = parseIperf3Json(text);
    expect(r.streams).toBe(2);
    expect(r.omitSec).toBe(1);
    expect(r.receiverBitsPerSec).toBeCloseTo(18774939619.086857, 3);
    expect(r.seconds).toBeCloseTo(2.000036, 6);
  });

  it('reads an older iperf3 (3.9) with three omitted seconds', () => {
    const r = parseIperf3Json(fixture('iperf3-J_tcp-client_iperf3.9_omit3_wan.json'));
    expect(r.omitSec).toBe(3);
    expect(r.retransmits).toBe(1664);
    expect(r.receiverBitsPerSec).toBeCloseTo(1674679677.0243485, 3);
  });

  it('treats an error key as a failure even though iperf3 exited 0', () => {
    expect(() => parseIperf3Json(fixture('iperf3-J_error_connection-refused_exit0.json'))).toThrow(GuestError);
    expect(() => parseIperf3Json(fixture('iperf3-J_error_connection-refused_exit0.json'))).toThrow(/unable to connect to server: Connection refused/);
  });

  it('keeps the raw text when the output is not JSON or lacks the summary', () => {
    const bad = 'iperf3: error - control socket has closed unexpectedly\n';
    try {
      parseIperf3Json(bad);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ParseError);
      expect((err as ParseError).raw).toBe(bad);
    }
    expect(() => parseIperf3Json('{"start":{},"end":{}}')).toThrow(/no end.sum_received/);
    expect(() => parseIperf3Json('{"end":{"sum_sent":{"bits_per_second":-1,"bytes":1,"seconds":1},"sum_received":{"bits_per_second":1,"bytes":1,"seconds":1}}}')).toThrow(/sum_sent.bits_per_second is not a non-negative number/);
  });

  it('builds the client command from the scenario parameters', () => {
    expect(iperf3TcpClientArgv({ server: '10.99.0.1', durationSec: 10, omitSec: 2, parallel: 4 })).toEqual([
      'iperf3', '--client', '10.99.0.1', '--port', '5201', '--time', '10', '--omit', '2', '--parallel', '4', '--json', '--connect-timeout', '5000',
    ]);
  });
});
