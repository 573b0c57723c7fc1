// Codec: every request round-trips through encodeRequest/decodeRequest; every malformed shape is a
// ProtocolViolation (sizes, fd counts, flags, undefined bits); replies are exactly what QEMU checks.

import { describe, expect, it } from 'vitest';
import {
  checkRequestHeader,
  decodeReply,
  decodeRequest,
  encodeReplyState,
  encodeReplyU64,
  encodeRequest,
  ProtocolViolation,
  readHeader,
} from '../../../harness/vhost-user/protocol/codec.ts';
import { HEADER_SIZE, Req, type Message } from '../../../harness/vhost-user/protocol/messages.ts';

function roundTrip(msg: Message): Message {
  const { bytes, fds } = encodeRequest(msg);
  const h = readHeader(bytes);
  checkRequestHeader(h);
  return decodeRequest(h, bytes.subarray(HEADER_SIZE), fds);
}

function decodeRaw(request: number, flags: number, payload: Uint8Array, fds: number[] = []): Message {
  const h = { request, flags, size: payload.length };
  checkRequestHeader(h);
  return decodeRequest(h, payload, fds);
}

const region = { guestPhysAddr: 0x1000n, size: 0x2000n, userAddr: 0x7f00_0000_0000n, mmapOffset: 0x10n };

describe('codec round trips', () => {
  const messages: Message[] = [
    { request: Req.GET_FEATURES, needReply: false },
    { request: Req.SET_FEATURES, features: 0x1_7000_9983n, needReply: true },
    { request: Req.SET_OWNER, needReply: false },
    { request: Req.RESET_OWNER, needReply: false },
    { request: Req.SET_MEM_TABLE, regions: [region, { ...region, guestPhysAddr: 0x10_0000n }], fds: [7, 8], needReply: true },
    { request: Req.SET_VRING_NUM, index: 1, num: 256, needReply: false },
    { request: Req.SET_VRING_ADDR, index: 0, flags: 0, desc: 0x7f00_0000_1000n, used: 0x7f00_0000_3000n, avail: 0x7f00_0000_2000n, log: 0n, needReply: false },
    { request: Req.SET_VRING_BASE, index: 1, num: 65535, needReply: false },
    { request: Req.GET_VRING_BASE, index: 1, needReply: false },
    { request: Req.SET_VRING_KICK, index: 1, fd: 9, needReply: false },
    { request: Req.SET_VRING_CALL, index: 0, fd: null, needReply: false },
    { request: Req.SET_VRING_ERR, index: 0, fd: 3, needReply: false },
    { request: Req.GET_PROTOCOL_FEATURES, needReply: false },
    { request: Req.SET_PROTOCOL_FEATURES, features: 9n, needReply: false },
    { request: Req.GET_QUEUE_NUM, needReply: false },
    { request: Req.SET_VRING_ENABLE, index: 1, enable: true, needReply: false },
    { request: 'unsupported', id: 31, fds: [4], needReply: true },
  ];
  for (const m of messages) {
    it(`round-trips ${String(m.request)}`, () => expect(roundTrip(m)).toEqual(m));
  }
});

describe('codec rejections', () => {
  const bad = (f: () => unknown, why: RegExp) => expect(f).toThrow(why);

  it('rejects a version other than 1, reserved bits, the REPLY bit and oversize payloads (T4, T5)', () => {
    bad(() => checkRequestHeader({ request: 1, flags: 0, size: 0 }), /version/);
    bad(() => checkRequestHeader({ request: 1, flags: 2, size: 0 }), /version/);
    bad(() => checkRequestHeader({ request: 1, flags: 1 | 0x10, size: 0 }), /reserved/);
    bad(() => checkRequestHeader({ request: 1, flags: 1 | 0x4, size: 0 }), /REPLY/);
    bad(() => checkRequestHeader({ request: 1, flags: 1, size: 0x1001 }), /exceeds/);
    bad(() => checkRequestHeader({ request: 1, flags: 1, size: 0xffffffff }), /exceeds/);
    expect(() => checkRequestHeader({ request: 1, flags: 1 | 8, size: 0x1000 })).not.toThrow();
  });

  it('checks the exact payload size of every request (T4)', () => {
    bad(() => decodeRaw(Req.SET_VRING_ADDR, 1, new Uint8Array(8)), /expected 40/);
    bad(() => decodeRaw(Req.GET_FEATURES, 1, new Uint8Array(8)), /expected 0/);
    bad(() => decodeRaw(Req.SET_FEATURES, 1, new Uint8Array(16)), /expected 8/);
    bad(() => decodeRequest({ request: Req.SET_FEATURES, flags: 1, size: 8 }, new Uint8Array(4), []), /truncated/);
  });

  it('refuses fds on requests that take none, and the wrong count on those that do (T1)', () => {
    bad(() => decodeRaw(Req.GET_FEATURES, 1, new Uint8Array(0), [5]), /unexpected fd/);
    bad(() => decodeRaw(Req.SET_VRING_NUM, 1, new Uint8Array(8), [5, 6]), /unexpected fd/);
    bad(() => decodeRaw(Req.SET_VRING_KICK, 1, new Uint8Array(8), []), /expected 1/);
    const nofd = new Uint8Array(8);
    nofd[1] = 1; // bit 8: NOFD
    bad(() => decodeRaw(Req.SET_VRING_CALL, 1, nofd, [5]), /expected 0/);
    bad(() => decodeRaw(Req.GET_FEATURES, 1, new Uint8Array(0), Array(9).fill(3)), /at most 8/);
  });

  it('refuses undefined bits in KICK/CALL/ERR and ENABLE values other than 0/1 (T3)', () => {
    const v = new Uint8Array(8);
    v[1] = 2; // bit 9
    bad(() => decodeRaw(Req.SET_VRING_KICK, 1, v, [5]), /undefined bits/);
    const e = new Uint8Array(8);
    e[4] = 2;
    bad(() => decodeRaw(Req.SET_VRING_ENABLE, 1, e), /neither 0 nor 1/);
  });

  it('keeps big vring indices intact for the session to refuse (T3: never truncated)', () => {
    const p = new Uint8Array(8);
    new DataView(p.buffer).setUint32(0, 0x100, true);
    expect(decodeRaw(Req.SET_VRING_NUM, 1, p)).toMatchObject({ index: 0x100 });
  });

  it('checks SET_MEM_TABLE region count against size and fds (T6)', () => {
    const table = (n: number, size = 8 + 32 * n) => {
      const p = new Uint8Array(size);
      new DataView(p.buffer).setUint32(0, n, true);
      return p;
    };
    bad(() => decodeRaw(Req.SET_MEM_TABLE, 1, table(0), []), /0 regions/);
    bad(() => decodeRaw(Req.SET_MEM_TABLE, 1, table(9), Array(8).fill(3)), /9 regions/);
    bad(() => decodeRaw(Req.SET_MEM_TABLE, 1, table(2), [3]), /1 fds for 2/);
    bad(() => decodeRaw(Req.SET_MEM_TABLE, 1, table(2, 8 + 32 * 8), [3, 4]), /bytes for 2/);
    bad(() => decodeRaw(Req.SET_MEM_TABLE, 1, new Uint8Array(4), []), /shorter/);
  });

  it('passes unknown requests through as unsupported, fds attached (T7)', () => {
    expect(decodeRaw(1000, 1 | 8, new Uint8Array(16), [4, 5])).toEqual({ request: 'unsupported', id: 1000, fds: [4, 5], needReply: true });
  });
});

describe('replies (T9)', () => {
  it('are REPLY|version exactly, echo the request, and carry 8 bytes', () => {
    const r = encodeReplyU64(Req.GET_FEATURES, 0x1234n);
    const dv = new DataView(r.buffer);
    expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), r.length]).toEqual([1, 5, 8, 20]);
    expect(new DataView(decodeReply(r, 1).slice().buffer).getBigUint64(0, true)).toBe(0x1234n);
    const s = encodeReplyState(Req.GET_VRING_BASE, 1, 77);
    expect([...decodeReply(s, Req.GET_VRING_BASE)]).toEqual([1, 0, 0, 0, 77, 0, 0, 0]);
    expect(() => decodeReply(r, 2)).toThrow(ProtocolViolation);
  });
});
