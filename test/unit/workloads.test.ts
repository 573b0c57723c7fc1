// Parsers of every scenario's tool, on real captured output, and the scenario table's own rules.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuestError, ParseError } from '../../harness/errors.ts';
import { decodeVirtioFeatures } from '../../harness/workloads/features.ts';
import { iperf3UdpClientArgv, parseIperf3UdpJson } from '../../harness/workloads/iperf3.ts';
import { scenarioTable } from '../../harness/workloads/scenarios.ts';
import { parseEthtoolFeatures } from '../../harness/workloads/offloads.ts';
import { parseSockperf } from '../../harness/workloads/sockperf.ts';

const fixture = (dir: string, name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', dir, name), 'utf8');

describe('udp-small (iperf3 -u -b 0)', () => {
  it("counts delivered packets from the receiver's view", () => {
    const text = fixture('iperf3', 'iperf3-J_udp_-l64_-b0_loopback_iperf3.12.json');
    const doc = JSON.parse(text);
    const r = parseIperf3UdpJson(text);
    const rx = doc.end.sum_received;
    expect(r.packetsSent).toBe(rx.packets);
    expect(r.packetsLost).toBe(rx.lost_packets);
    expect(r.deliveredPacketsPerSec).toBeCloseTo((rx.packets - rx.lost_packets) / rx.seconds, 6);
    expect(r.lossPercent).toBeCloseTo(rx.lost_percent, 6);
    expect(r.payloadBytes).toBe(64);
  });

  it('rejects TCP output and impossible loss counts', () => {
    expect(() => parseIperf3UdpJson(fixture('iperf3', 'iperf3-J_tcp_loopback_iperf3.12.json'))).toThrow(/protocol is TCP/);
    const bad = { start: { test_start: { protocol: 'UDP' } }, end: { sum_received: { packets: 5, lost_packets: 9, seconds: 1, bits_per_second: 1 } } };
    expect(() => parseIperf3UdpJson(JSON.stringify(bad))).toThrow(ParseError);
    expect(() => parseIperf3UdpJson(fixture('iperf3', 'iperf3-J_error_connection-refused_exit0.json'))).toThrow(GuestError);
  });

  it('offers load without a rate limit, with the payload size asked for', () => {
    const argv = iperf3UdpClientArgv({ server: '10.99.0.1', durationSec: 5, omitSec: 1, payloadBytes: 64 });
    expect(argv.join(' ')).toContain('--udp --bitrate 0 --length 64 --time 5 --omit 1');
  });
});

describe('latency (sockperf ping-pong)', () => {
  it('reports whole round trips: twice the half-round-trip sockperf prints', () => {
    const text = fixture('sockperf', 'sockperf-3.7_ping-pong_udp_loopback.txt');
    const r = parseSockperf(text);
    const half = (p: string) => Number(new RegExp(`percentile ${p.replace('.', '\\.')} =\\s*([0-9.]+)`).exec(text)![1]);
    expect(r.p50).toBeCloseTo(2 * half('50.000'), 6);
    expect(r.p90).toBeCloseTo(2 * half('90.000'), 6);
    expect(r.p99).toBeCloseTo(2 * half('99.000'), 6);
    expect(r.p50).toBeLessThanOrEqual(r.p90);
    expect(r.p90).toBeLessThanOrEqual(r.p99);
    expect(r.observations).toBeGreaterThan(0);
  });

  it('fails when the server never answered, although sockperf exits 0', () => {
    expect(() => parseSockperf(fixture('sockperf', 'sockperf-3.7_ping-pong_no-server.txt'))).toThrow(/no reply from the server/);
  });
});

describe('NIC features', () => {
  it('decodes the virtio feature bits from sysfs, bit 0 first', () => {
    const bits = '1100000000000001000000000000110010000000000000000000000000000000';
    expect(decodeVirtioFeatures(bits)).toEqual(['CSUM', 'GUEST_CSUM', 'MRG_RXBUF', 'RING_INDIRECT_DESC', 'RING_EVENT_IDX', 'VERSION_1']);
    expect(decodeVirtioFeatures('not bits')).toEqual([]);
  });

  it('reads ethtool -k including fixed features', () => {
    const text = 'Features for eth0:\nrx-checksumming: off [fixed]\ntx-checksumming: on\n\ttx-checksum-ip-generic: on\ntcp-segmentation-offload: on\n';
    const f = parseEthtoolFeatures(text);
    expect(f.get('rx-checksumming')).toBe(false);
    expect(f.get('tx-checksumming')).toBe(true);
    expect(f.get('tx-checksum-ip-generic')).toBe(true);
  });
});

describe('scenario table', () => {
  const common = { name: 'x', topology: 'guest-to-guest' as const, durationSec: 5 };
  it('measures each UDP payload size in a window of its own', () => {
    const v = scenarioTable['udp-small'].variants({ ...common, kind: 'udp-small', omitSec: 1, payloads: [64, 1400] });
    expect(v).toEqual([
      { suffix: 'udp64', dims: { payloadBytes: 64 }, trafficSec: 6 },
      { suffix: 'udp1400', dims: { payloadBytes: 1400 }, trafficSec: 6 },
    ]);
  });

  it('gives every repetition a budget longer than its traffic', () => {
    expect(scenarioTable['tcp-stream'].budgetSec({ ...common, kind: 'tcp-stream', omitSec: 2, parallel: 1 })).toBeGreaterThan(7);
    expect(scenarioTable.latency.budgetSec({ ...common, kind: 'latency' })).toBeGreaterThan(5);
  });
});
