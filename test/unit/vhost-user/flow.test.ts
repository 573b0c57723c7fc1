// Flows over the receive queues of a multi-queue port: the flow hash (symmetric, per IP flow and
// port pair) and the table that gives new flows the queues in turn and keeps each on its queue.

import { describe, expect, it } from 'vitest';
import { flowHash, FlowTable } from '../../../harness/vhost-user/flow.ts';
import { tcpFrame } from '../../fixtures/vhost-user/frames.ts';

const A = '02:00:00:00:00:01';
const B = '02:00:00:00:00:02';

/** A TCP frame with source and destination ports swapped (the other direction of a connection). */
function reverse(frame: Uint8Array, l4: number): Uint8Array {
  const r = frame.slice();
  r.set(frame.subarray(6, 12), 0);
  r.set(frame.subarray(0, 6), 6);
  r.set(frame.subarray(30, 34), 26); // IPv4 source <- destination
  r.set(frame.subarray(26, 30), 30);
  r.set(frame.subarray(l4 + 2, l4 + 4), l4);
  r.set(frame.subarray(l4, l4 + 2), l4 + 2);
  return r;
}

describe('flowHash', () => {
  it('is the same for every frame of a flow and for both of its directions, and differs between flows', () => {
    const one = tcpFrame({ dst: B, src: A, payload: 100, srcPort: 40001, seq: 1 });
    const again = tcpFrame({ dst: B, src: A, payload: 900, srcPort: 40001, seq: 99 });
    const other = tcpFrame({ dst: B, src: A, payload: 100, srcPort: 40002 });
    const h = flowHash(one.frame, 0, one.frame.length);
    expect(flowHash(again.frame, 0, again.frame.length)).toBe(h);
    expect(flowHash(reverse(one.frame, one.l4), 0, one.frame.length)).toBe(h);
    expect(flowHash(other.frame, 0, other.frame.length)).not.toBe(h);
    // Only the first bytes are needed (the headers), and a short frame does not throw.
    expect(flowHash(one.frame, 0, 62)).toBe(h);
    expect(flowHash(one.frame, 0, 10)).toBe(0);
  });
});

describe('FlowTable', () => {
  it('gives new flows the queues in turn and keeps each flow on its queue while it is active', () => {
    const t = new FlowTable();
    expect([t.queueOf(0x1001, 2, 0), t.queueOf(0x2002, 2, 0)]).toEqual([0, 1]);
    for (let now = 1; now < 5000; now += 500) expect([t.queueOf(0x2002, 2, now), t.queueOf(0x1001, 2, now)]).toEqual([1, 0]);
    expect(t.queueOf(0x3003, 2, 5000)).toBe(0);
  });

  it('lets a flow whose slot another live flow holds use its hash, and an idle flow give its slot up', () => {
    const t = new FlowTable();
    t.queueOf(0x10001, 2, 0); // slot 1, queue 0
    t.queueOf(0x20002, 2, 0); // slot 2, queue 1
    expect(t.queueOf(0x30001, 2, 100)).toBe(0x30001 % 2); // slot 1 is taken: the hash decides
    expect(t.queueOf(0x30001, 2, 5000)).toBe(0); // slot 1's flow went idle: the newcomer takes it, next in turn
    expect(t.queueOf(0x20002, 2, 5000)).toBe(1); // idle too: given a queue again
  });

  it('gives a new busy flow the queue the other busy flow does not use, whatever stray flows came between', () => {
    const t = new FlowTable();
    // The order seen on a port when iperf3 starts two streams: ARP, the control connection, the
    // first stream (busy for a while), a neighbour probe, then the second stream.
    t.queueOf(0xa1, 2, 0);
    t.queueOf(0xc2, 2, 1);
    const first = t.queueOf(0x51, 2, 2);
    for (let now = 2; now < 40; now++) for (let k = 0; k < 50; k++) t.queueOf(0x51, 2, now);
    t.queueOf(0xe3, 2, 40);
    expect(t.queueOf(0x62, 2, 41)).toBe(1 - first);
    // Round-robin alone would have put it on `first`: ARP 0, control 1, stream 0, probe 1, stream 0.
    expect(first).toBe(0);
  });

  it('never answers a queue beyond those enabled', () => {
    const t = new FlowTable();
    t.queueOf(0x1001, 4, 0);
    t.queueOf(0x2002, 4, 0);
    t.queueOf(0x3003, 4, 0);
    expect(t.queueOf(0x3003, 2, 1)).toBeLessThan(2);
  });
});
