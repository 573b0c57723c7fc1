// Offload helpers: the scatter-gather Internet checksum against a byte-by-byte reference, the
// header checks on what a guest transmits (T17), and TCP header parsing for segmentation.

import { describe, expect, it } from 'vitest';
import { parseTcp } from '../../../harness/vhost-user/gso.ts';
import { fold, NetFeatures, sumSegs, VnetHeader } from '../../../harness/vhost-user/net-header.ts';
import { bit, F } from '../../../harness/vhost-user/protocol/messages.ts';
import { Scratch, SegList } from '../../../harness/vhost-user/segments.ts';
import { refChecksum, tcpFrame } from '../../fixtures/vhost-user/frames.ts';

describe('sumSegs', () => {
  it('matches the reference checksum for odd offsets and odd piece lengths', () => {
    const s = new Scratch(4096);
    for (let i = 0; i < 4096; i++) s.bytes[i] = (i * 31 + 7) & 0xff;
    for (const [pieces, at, n] of [
      [[[0, 1000]], 0, 1000],
      [[[1, 999]], 0, 999],
      [[[3, 5], [100, 7], [301, 1000]], 2, 1005],
      [[[10, 1], [20, 1], [30, 1], [41, 500]], 1, 502],
    ] as [number[][], number, number][]) {
      const segs = new SegList();
      const flat: number[] = [];
      for (const [off, len] of pieces) {
        segs.push(0, off!, len!);
        for (let i = 0; i < len!; i++) flat.push(s.bytes[off! + i]!);
      }
      const ref = refChecksum(Uint8Array.from(flat), at, at + n);
      expect(fold(sumSegs(s, segs, at, n))).toBe(ref);
    }
  });
});

describe('VnetHeader.txProblem (T17)', () => {
  const all = NetFeatures.from(bit(F.VERSION_1) | bit(F.CSUM) | bit(F.HOST_TSO4) | bit(F.HOST_TSO6));
  const none = NetFeatures.from(bit(F.VERSION_1));
  const h = (o: Partial<VnetHeader>) => Object.assign(new VnetHeader(), o);
  it('accepts sound headers', () => {
    expect(h({}).txProblem(none, 60)).toBeUndefined();
    expect(h({ flags: 1, csumStart: 34, csumOffset: 16 }).txProblem(all, 60)).toBeUndefined();
    expect(h({ flags: 1, gsoType: 1, gsoSize: 1448, csumStart: 34, csumOffset: 16 }).txProblem(all, 60000)).toBeUndefined();
  });
  it('refuses what was not negotiated or does not fit', () => {
    expect(h({ flags: 1, csumStart: 34, csumOffset: 16 }).txProblem(none, 60)).toMatch(/without CSUM/);
    expect(h({ flags: 1, csumStart: 59, csumOffset: 0 }).txProblem(all, 60)).toMatch(/outside/);
    expect(h({ flags: 1, csumStart: 50, csumOffset: 16 }).txProblem(all, 60)).toMatch(/outside/);
    expect(h({ flags: 1, gsoType: 1, gsoSize: 0, csumStart: 34, csumOffset: 16 }).txProblem(all, 600)).toMatch(/gso_size 0/);
    expect(h({ flags: 1, gsoType: 3, gsoSize: 100, csumStart: 34, csumOffset: 6 }).txProblem(all, 600)).toMatch(/not negotiated/);
    expect(h({ flags: 1, gsoType: 0x81, gsoSize: 100, csumStart: 34, csumOffset: 16 }).txProblem(all, 600)).toMatch(/ECN/);
    expect(h({ gsoType: 1, gsoSize: 100 }).txProblem(all, 600)).toMatch(/without NEEDS_CSUM/);
    expect(h({ flags: 1, gsoType: 4, gsoSize: 100, csumStart: 54, csumOffset: 16 }).txProblem(NetFeatures.from(bit(F.CSUM) | bit(F.HOST_TSO4)), 600)).toMatch(/not negotiated/);
  });
  it('derives the header length from VERSION_1 and MRG_RXBUF', () => {
    expect([NetFeatures.from(0n).hdrLen, NetFeatures.from(bit(F.MRG_RXBUF)).hdrLen, NetFeatures.from(bit(F.VERSION_1)).hdrLen]).toEqual([10, 12, 12]);
  });
});

describe('parseTcp', () => {
  it('finds the layout of IPv4, IPv6 and VLAN-tagged frames', () => {
    const v4 = tcpFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', payload: 10 }).frame;
    expect(parseTcp(v4, v4.length)).toEqual({ l3: 14, l4: 34, headers: 54, ipv6: false });
    const v6 = tcpFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', payload: 10, ipv6: true }).frame;
    expect(parseTcp(v6, v6.length)).toEqual({ l3: 14, l4: 54, headers: 74, ipv6: true });
    const tagged = new Uint8Array(v4.length + 4);
    tagged.set(v4.subarray(0, 12));
    tagged.set([0x81, 0, 0, 5], 12);
    tagged.set(v4.subarray(12), 16);
    expect(parseTcp(tagged, tagged.length)).toMatchObject({ l3: 18, l4: 38 });
  });
  it('refuses what it cannot segment', () => {
    const v4 = tcpFrame({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', payload: 10 }).frame;
    expect(parseTcp(v4, 20)).toMatch(/bad IPv4|truncated/);
    const udp = v4.slice();
    udp[23] = 17;
    expect(parseTcp(udp, udp.length)).toMatch(/not TCP/);
    const arp = v4.slice();
    arp[12] = 0x08;
    arp[13] = 0x06;
    expect(parseTcp(arp, arp.length)).toMatch(/ethertype/);
    const badLen = v4.slice();
    badLen[34 + 12] = 0xf0;
    expect(parseTcp(badLen, badLen.length)).toMatch(/TCP header length/);
  });
});
