// The vhost-user wire vocabulary a net back-end needs: request ids, header flags, feature bits and
// the decoded shape of every message we accept. Values come from QEMU's docs/interop/vhost-user.rst
// (7.2-era text) and the virtio 1.1 spec; docs/vhost-user.md §1 explains each choice.

/** Request ids (front-end -> back-end). Only the ones a net back-end handles are named. */
export const Req = {
  GET_FEATURES: 1,
  SET_FEATURES: 2,
  SET_OWNER: 3,
  RESET_OWNER: 4,
  SET_MEM_TABLE: 5,
  SET_LOG_BASE: 6,
  SET_LOG_FD: 7,
  SET_VRING_NUM: 8,
  SET_VRING_ADDR: 9,
  SET_VRING_BASE: 10,
  GET_VRING_BASE: 11,
  SET_VRING_KICK: 12,
  SET_VRING_CALL: 13,
  SET_VRING_ERR: 14,
  GET_PROTOCOL_FEATURES: 15,
  SET_PROTOCOL_FEATURES: 16,
  GET_QUEUE_NUM: 17,
  SET_VRING_ENABLE: 18,
} as const;
export type ReqId = (typeof Req)[keyof typeof Req];

export function requestName(id: number): string {
  for (const [name, value] of Object.entries(Req)) if (value === id) return name;
  return `REQUEST_${id}`;
}

/** Header: u32 request, u32 flags, u32 size; then `size` payload bytes. Native (little) endian. */
export const HEADER_SIZE = 12;
/** Largest payload accepted (rust-vmm MAX_MSG_SIZE); anything larger closes the connection unread. */
export const MAX_PAYLOAD = 0x1000;
/** Most fds one message may carry (QEMU's VHOST_MEMORY_BASELINE_NREGIONS). */
export const MAX_FDS = 8;
/** Most memory regions in SET_MEM_TABLE. */
export const MAX_REGIONS = 8;

export const Flags = {
  /** Bits 0-1: protocol version, must be 1. */
  VERSION_MASK: 0x3,
  VERSION: 0x1,
  /** This message is a reply. A front-end never sends one to us. */
  REPLY: 0x4,
  /** The sender wants a u64 status reply (only meaningful once REPLY_ACK is negotiated). */
  NEED_REPLY: 0x8,
} as const;
/** Reply flags QEMU insists on: exactly REPLY|version (never echo NEED_REPLY). */
export const REPLY_FLAGS = Flags.REPLY | Flags.VERSION;

/** Bits of the u64 payload of SET_VRING_KICK/CALL/ERR. */
export const VRING_IDX_MASK = 0xffn;
export const VRING_NOFD = 0x100n;

/** Virtio feature bits (virtio 1.1 §5.1.3, §6). */
export const F = {
  CSUM: 0,
  GUEST_CSUM: 1,
  GUEST_TSO4: 7,
  GUEST_TSO6: 8,
  GUEST_ECN: 9,
  GUEST_UFO: 10,
  HOST_TSO4: 11,
  HOST_TSO6: 12,
  HOST_ECN: 13,
  HOST_UFO: 14,
  MRG_RXBUF: 15,
  CTRL_VQ: 17,
  MQ: 22,
  LOG_ALL: 26,
  ANY_LAYOUT: 27,
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
  /** VHOST_USER_F_PROTOCOL_FEATURES: the front-end may use GET/SET_PROTOCOL_FEATURES. */
  PROTOCOL_FEATURES: 30,
  VERSION_1: 32,
  IOMMU_PLATFORM: 33,
  RING_PACKED: 34,
  IN_ORDER: 35,
} as const;

/** Protocol feature bits (vhost-user.rst "Protocol features"). */
export const PF = {
  MQ: 0,
  LOG_SHMFD: 1,
  RARP: 2,
  REPLY_ACK: 3,
  NET_MTU: 4,
  BACKEND_REQ: 5,
  CONFIG: 9,
  INBAND_NOTIFICATIONS: 14,
  CONFIGURE_MEM_SLOTS: 15,
  STATUS: 16,
} as const;

export const bit = (n: number): bigint => 1n << BigInt(n);

/** One SET_MEM_TABLE region as sent: {u64 gpa, u64 size, u64 uva, u64 mmap_offset}. */
export interface MemoryRegion {
  /** Guest physical address of the region's first byte (descriptor addresses are GPAs). */
  guestPhysAddr: bigint;
  size: bigint;
  /** The front-end's own virtual address of the region (SET_VRING_ADDR uses these). */
  userAddr: bigint;
  /** Where the region starts inside its fd. */
  mmapOffset: bigint;
}

/** SET_VRING_ADDR payload: front-end virtual addresses of the three ring parts (note: used before avail). */
export interface VringAddr {
  index: number;
  /** Bit 0 = VHOST_VRING_F_LOG (dirty logging; we never offer LOG_ALL, so it must be 0). */
  flags: number;
  desc: bigint;
  used: bigint;
  avail: bigint;
  log: bigint;
}

/** A decoded, size- and fd-count-checked request. `needReply` is the NEED_REPLY flag. */
export type Message = { needReply: boolean } & (
  | { request: typeof Req.GET_FEATURES }
  | { request: typeof Req.SET_FEATURES; features: bigint }
  | { request: typeof Req.SET_OWNER }
  | { request: typeof Req.RESET_OWNER }
  | { request: typeof Req.SET_MEM_TABLE; regions: MemoryRegion[]; fds: number[] }
  | { request: typeof Req.SET_VRING_NUM; index: number; num: number }
  | ({ request: typeof Req.SET_VRING_ADDR } & VringAddr)
  | { request: typeof Req.SET_VRING_BASE; index: number; num: number }
  | { request: typeof Req.GET_VRING_BASE; index: number }
  | {
      request: typeof Req.SET_VRING_KICK | typeof Req.SET_VRING_CALL | typeof Req.SET_VRING_ERR;
      index: number;
      /** The eventfd, or null for VHOST_USER_VRING_NOFD_MASK ("poll" for kick, "don't signal" for call). */
      fd: number | null;
    }
  | { request: typeof Req.GET_PROTOCOL_FEATURES }
  | { request: typeof Req.SET_PROTOCOL_FEATURES; features: bigint }
  | { request: typeof Req.GET_QUEUE_NUM }
  | { request: typeof Req.SET_VRING_ENABLE; index: number; enable: boolean }
  /** A well-framed request we do not implement: rejected politely, its fds closed. */
  | { request: 'unsupported'; id: number; fds: number[] }
);
