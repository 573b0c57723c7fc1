// Encoding and per-message validation of vhost-user requests and replies. Decoding checks the exact
// payload size and the exact number of fds of every request type; anything else is a
// ProtocolViolation, after which the session closes the connection (and every fd it carried).
// Integers wider than 32 bits stay bigint here: the control plane is not hot.

import { GuestError } from '../../errors.ts';
import {
  Flags,
  HEADER_SIZE,
  MAX_FDS,
  MAX_PAYLOAD,
  MAX_REGIONS,
  REPLY_FLAGS,
  Req,
  VRING_IDX_MASK,
  VRING_NOFD,
  requestName,
  type MemoryRegion,
  type Message,
} from './messages.ts';

/** The front-end broke the protocol; the connection must be closed. */
export class ProtocolViolation extends GuestError {}

export interface Header {
  request: number;
  flags: number;
  size: number;
}

export function readHeader(buf: Uint8Array): Header {
  const dv = new DataView(buf.buffer, buf.byteOffset, HEADER_SIZE);
  return { request: dv.getUint32(0, true), flags: dv.getUint32(4, true), size: dv.getUint32(8, true) };
}

/** Checks on the header alone (rust-vmm `is_valid`): version 1, no reserved bits, no REPLY, size cap. */
export function checkRequestHeader(h: Header): void {
  if ((h.flags & Flags.VERSION_MASK) !== Flags.VERSION) throw new ProtocolViolation(`version ${h.flags & 3} is not 1`);
  if ((h.flags & ~(Flags.VERSION_MASK | Flags.NEED_REPLY)) !== 0) {
    throw new ProtocolViolation(`reserved or REPLY flag bits set: 0x${h.flags.toString(16)}`);
  }
  if (h.size > MAX_PAYLOAD) throw new ProtocolViolation(`payload of ${h.size} bytes exceeds ${MAX_PAYLOAD}`);
}

/** The payload sizes each request must have exactly (SET_MEM_TABLE is checked against nregions). */
const fixedSize: Record<number, number> = {
  [Req.GET_FEATURES]: 0,
  [Req.SET_FEATURES]: 8,
  [Req.SET_OWNER]: 0,
  [Req.RESET_OWNER]: 0,
  [Req.SET_VRING_NUM]: 8,
  [Req.SET_VRING_ADDR]: 40,
  [Req.SET_VRING_BASE]: 8,
  [Req.GET_VRING_BASE]: 8,
  [Req.SET_VRING_KICK]: 8,
  [Req.SET_VRING_CALL]: 8,
  [Req.SET_VRING_ERR]: 8,
  [Req.GET_PROTOCOL_FEATURES]: 0,
  [Req.SET_PROTOCOL_FEATURES]: 8,
  [Req.GET_QUEUE_NUM]: 0,
  [Req.SET_VRING_ENABLE]: 8,
};

/**
 * Decode one request whose header passed checkRequestHeader. On success the returned message owns
 * the fds it names; on a ProtocolViolation the caller still owns (and must close) all of `fds`.
 */
export function decodeRequest(h: Header, payload: Uint8Array, fds: readonly number[]): Message {
  const needReply = (h.flags & Flags.NEED_REPLY) !== 0;
  const name = requestName(h.request);
  if (payload.length !== h.size) throw new ProtocolViolation(`${name}: payload truncated`);
  if (fds.length > MAX_FDS) throw new ProtocolViolation(`${name}: ${fds.length} fds (at most ${MAX_FDS})`);
  const want = fixedSize[h.request];
  if (want === undefined) {
    if (h.request === Req.SET_MEM_TABLE) return decodeMemTable(payload, fds, needReply);
    return { request: 'unsupported', id: h.request, fds: [...fds], needReply };
  }
  if (h.size !== want) throw new ProtocolViolation(`${name}: payload is ${h.size} bytes, expected ${want}`);
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const u64 = () => dv.getBigUint64(0, true);
  const noFds = () => {
    if (fds.length !== 0) throw new ProtocolViolation(`${name}: carries ${fds.length} unexpected fd(s)`);
  };
  switch (h.request) {
    case Req.GET_FEATURES:
      noFds();
      return { request: Req.GET_FEATURES, needReply };
    case Req.SET_FEATURES:
      noFds();
      return { request: Req.SET_FEATURES, features: u64(), needReply };
    case Req.SET_OWNER:
      noFds();
      return { request: Req.SET_OWNER, needReply };
    case Req.RESET_OWNER:
      noFds();
      return { request: Req.RESET_OWNER, needReply };
    case Req.GET_PROTOCOL_FEATURES:
      noFds();
      return { request: Req.GET_PROTOCOL_FEATURES, needReply };
    case Req.SET_PROTOCOL_FEATURES:
      noFds();
      return { request: Req.SET_PROTOCOL_FEATURES, features: u64(), needReply };
    case Req.GET_QUEUE_NUM:
      noFds();
      return { request: Req.GET_QUEUE_NUM, needReply };
    case Req.SET_VRING_NUM:
    case Req.SET_VRING_BASE:
      noFds();
      return { request: h.request, index: dv.getUint32(0, true), num: dv.getUint32(4, true), needReply };
    case Req.GET_VRING_BASE:
      noFds();
      return { request: Req.GET_VRING_BASE, index: dv.getUint32(0, true), needReply };
    case Req.SET_VRING_ENABLE: {
      noFds();
      const num = dv.getUint32(4, true);
      if (num > 1) throw new ProtocolViolation(`SET_VRING_ENABLE: num ${num} is neither 0 nor 1`);
      return { request: Req.SET_VRING_ENABLE, index: dv.getUint32(0, true), enable: num === 1, needReply };
    }
    case Req.SET_VRING_ADDR:
      noFds();
      return {
        request: Req.SET_VRING_ADDR,
        index: dv.getUint32(0, true),
        flags: dv.getUint32(4, true),
        desc: dv.getBigUint64(8, true),
        used: dv.getBigUint64(16, true),
        avail: dv.getBigUint64(24, true),
        log: dv.getBigUint64(32, true),
        needReply,
      };
    case Req.SET_VRING_KICK:
    case Req.SET_VRING_CALL:
    case Req.SET_VRING_ERR: {
      const v = u64();
      // Bits above 8 are undefined: reject rather than truncate (CVE-2020-10723 pattern).
      if ((v & ~(VRING_IDX_MASK | VRING_NOFD)) !== 0n) throw new ProtocolViolation(`${name}: undefined bits in 0x${v.toString(16)}`);
      const nofd = (v & VRING_NOFD) !== 0n;
      const expect = nofd ? 0 : 1;
      if (fds.length !== expect) throw new ProtocolViolation(`${name}: ${fds.length} fd(s), expected ${expect}`);
      return { request: h.request, index: Number(v & VRING_IDX_MASK), fd: nofd ? null : fds[0]!, needReply };
    }
  }
  throw new ProtocolViolation(`${name}: no decoder`);
}

function decodeMemTable(payload: Uint8Array, fds: readonly number[], needReply: boolean): Message {
  if (payload.length < 8) throw new ProtocolViolation('SET_MEM_TABLE: payload shorter than its 8-byte head');
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
  const n = dv.getUint32(0, true);
  if (n < 1 || n > MAX_REGIONS) throw new ProtocolViolation(`SET_MEM_TABLE: ${n} regions (1..${MAX_REGIONS})`);
  if (payload.length !== 8 + 32 * n) throw new ProtocolViolation(`SET_MEM_TABLE: ${payload.length} bytes for ${n} regions`);
  if (fds.length !== n) throw new ProtocolViolation(`SET_MEM_TABLE: ${fds.length} fds for ${n} regions`);
  const regions: MemoryRegion[] = [];
  for (let i = 0; i < n; i++) {
    const o = 8 + 32 * i;
    regions.push({
      guestPhysAddr: dv.getBigUint64(o, true),
      size: dv.getBigUint64(o + 8, true),
      userAddr: dv.getBigUint64(o + 16, true),
      mmapOffset: dv.getBigUint64(o + 24, true),
    });
  }
  return { request: Req.SET_MEM_TABLE, regions, fds: [...fds], needReply };
}

/** Every fd a decoded message owns (to close it when the message is rejected or replaced). */
export function fdsOf(msg: Message): number[] {
  if (msg.request === 'unsupported' || msg.request === Req.SET_MEM_TABLE) return msg.fds;
  if (msg.request === Req.SET_VRING_KICK || msg.request === Req.SET_VRING_CALL || msg.request === Req.SET_VRING_ERR) {
    return msg.fd === null ? [] : [msg.fd];
  }
  return [];
}

function frame(request: number, flags: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, request, true);
  dv.setUint32(4, flags, true);
  dv.setUint32(8, payload.length, true);
  out.set(payload, HEADER_SIZE);
  return out;
}

function u64Payload(v: bigint): Uint8Array {
  const p = new Uint8Array(8);
  new DataView(p.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return p;
}

function statePayload(index: number, num: number): Uint8Array {
  const p = new Uint8Array(8);
  const dv = new DataView(p.buffer);
  dv.setUint32(0, index >>> 0, true);
  dv.setUint32(4, num >>> 0, true);
  return p;
}

/** A u64 reply (GET_FEATURES, GET_PROTOCOL_FEATURES, GET_QUEUE_NUM, REPLY_ACK status). */
export function encodeReplyU64(request: number, value: bigint): Uint8Array {
  return frame(request, REPLY_FLAGS, u64Payload(value));
}

/** A vring-state reply (GET_VRING_BASE). */
export function encodeReplyState(request: number, index: number, num: number): Uint8Array {
  return frame(request, REPLY_FLAGS, statePayload(index, num));
}

/** Front-end side: the bytes and fds of a request (used by test front-ends and the codec tests). */
export function encodeRequest(msg: Message): { bytes: Uint8Array; fds: number[] } {
  const flags = Flags.VERSION | (msg.needReply ? Flags.NEED_REPLY : 0);
  switch (msg.request) {
    case 'unsupported':
      return { bytes: frame(msg.id, flags, new Uint8Array(0)), fds: msg.fds };
    case Req.GET_FEATURES:
    case Req.SET_OWNER:
    case Req.RESET_OWNER:
    case Req.GET_PROTOCOL_FEATURES:
    case Req.GET_QUEUE_NUM:
      return { bytes: frame(msg.request, flags, new Uint8Array(0)), fds: [] };
    case Req.SET_FEATURES:
    case Req.SET_PROTOCOL_FEATURES:
      return { bytes: frame(msg.request, flags, u64Payload(msg.features)), fds: [] };
    case Req.SET_VRING_NUM:
    case Req.SET_VRING_BASE:
      return { bytes: frame(msg.request, flags, statePayload(msg.index, msg.num)), fds: [] };
    case Req.GET_VRING_BASE:
      return { bytes: frame(msg.request, flags, statePayload(msg.index, 0)), fds: [] };
    case Req.SET_VRING_ENABLE:
      return { bytes: frame(msg.request, flags, statePayload(msg.index, msg.enable ? 1 : 0)), fds: [] };
    case Req.SET_VRING_ADDR: {
      const p = new Uint8Array(40);
      const dv = new DataView(p.buffer);
      dv.setUint32(0, msg.index >>> 0, true);
      dv.setUint32(4, msg.flags >>> 0, true);
      dv.setBigUint64(8, msg.desc, true);
      dv.setBigUint64(16, msg.used, true);
      dv.setBigUint64(24, msg.avail, true);
      dv.setBigUint64(32, msg.log, true);
      return { bytes: frame(msg.request, flags, p), fds: [] };
    }
    case Req.SET_VRING_KICK:
    case Req.SET_VRING_CALL:
    case Req.SET_VRING_ERR: {
      const v = BigInt(msg.index) | (msg.fd === null ? VRING_NOFD : 0n);
      return { bytes: frame(msg.request, flags, u64Payload(v)), fds: msg.fd === null ? [] : [msg.fd] };
    }
    case Req.SET_MEM_TABLE: {
      const p = new Uint8Array(8 + 32 * msg.regions.length);
      const dv = new DataView(p.buffer);
      dv.setUint32(0, msg.regions.length, true);
      msg.regions.forEach((r, i) => {
        const o = 8 + 32 * i;
        dv.setBigUint64(o, r.guestPhysAddr, true);
        dv.setBigUint64(o + 8, r.size, true);
        dv.setBigUint64(o + 16, r.userAddr, true);
        dv.setBigUint64(o + 24, r.mmapOffset, true);
      });
      return { bytes: frame(msg.request, flags, p), fds: msg.fds };
    }
  }
}

/** Front-end side: check a reply header and return its payload view. Mirrors QEMU's checks. */
export function decodeReply(buf: Uint8Array, request: number): Uint8Array {
  if (buf.length < HEADER_SIZE) throw new ProtocolViolation('reply shorter than a header');
  const h = readHeader(buf);
  if (h.flags !== REPLY_FLAGS) throw new ProtocolViolation(`reply flags 0x${h.flags.toString(16)} != 0x5`);
  if (h.request !== request) throw new ProtocolViolation(`reply to ${h.request}, expected ${request}`);
  if (buf.length !== HEADER_SIZE + h.size) throw new ProtocolViolation('reply size mismatch');
  return buf.subarray(HEADER_SIZE);
}
