// Decoder for the KVM binary statistics format (the file descriptor KVM_GET_STATS_FD returns for a
// VM or a vCPU; Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD"). Layout, little-endian:
//   header: flags, name_size, num_desc, id_offset, desc_offset, data_offset (six u32)
//   id string (name_size bytes, NUL-padded) at id_offset
//   num_desc descriptors at desc_offset, each: flags u32, exponent s16, size u16, offset u32,
//     bucket_size u32, name (name_size bytes)
//   values at data_offset + descriptor.offset: `size` u64 each
// QEMU's query-stats reads the same data; this decoder exists for tools that read the fd directly.

import { ParseError } from '../../errors.ts';

export interface KvmStatsHeader {
  flags: number;
  name_size: number;
  num_desc: number;
  id_offset: number;
  desc_offset: number;
  data_offset: number;
}

/** One statistic. Field names follow the kernel's `struct kvm_stats_desc`. */
export interface KvmStatsDescriptor {
  name: string;
  /** Raw flags as hex, e.g. `0x24`. */
  flags: string;
  type: 'cumulative' | 'instant' | 'peak' | 'linear-hist' | 'log-hist' | `type-${number}`;
  unit: 'none' | 'bytes' | 'seconds' | 'cycles' | 'boolean' | `unit-${number}`;
  base: 'pow10' | 'pow2' | `base-${number}`;
  exponent: number;
  /** Number of u64 values (32 for the log histograms). */
  size: number;
  offset: number;
  bucket_size: number;
  /**
   * The value: a number when size is 1, else one number per bucket. u64 values above 2^53 lose
   * precision; KVM counters do not reach that in a benchmark's lifetime.
   */
  value: number | number[];
}

export interface KvmBinaryStats {
  header: KvmStatsHeader;
  /** `kvm-<pid>` for a VM, `kvm-<pid>/vcpu-<n>` for a vCPU. */
  id: string;
  descriptors: KvmStatsDescriptor[];
}

const TYPES = ['cumulative', 'instant', 'peak', 'linear-hist', 'log-hist'] as const;
const UNITS = ['none', 'bytes', 'seconds', 'cycles', 'boolean'] as const;
const BASES = ['pow10', 'pow2'] as const;
const HEADER_BYTES = 24;
const DESC_FIXED_BYTES = 16;

/** Decode the whole stats file. Throws ParseError on a truncated or inconsistent buffer. */
export function decodeKvmBinaryStats(buf: Uint8Array): KvmBinaryStats {
  const raw = () => Buffer.from(buf).toString('hex');
  const fail = (detail: string): never => {
    throw new ParseError('KVM binary stats', detail, raw());
  };
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteLength < HEADER_BYTES) fail(`${buf.byteLength} bytes is shorter than the 24-byte header`);
  const u32 = (at: number) => view.getUint32(at, true);
  const header: KvmStatsHeader = {
    flags: u32(0),
    name_size: u32(4),
    num_desc: u32(8),
    id_offset: u32(12),
    desc_offset: u32(16),
    data_offset: u32(20),
  };
  const descBytes = DESC_FIXED_BYTES + header.name_size;
  if (header.name_size === 0) fail('name_size is 0');
  if (header.id_offset + header.name_size > buf.byteLength) fail('id string runs past the end');
  if (header.desc_offset + header.num_desc * descBytes > buf.byteLength) fail('descriptors run past the end');

  const descriptors: KvmStatsDescriptor[] = [];
  for (let i = 0; i < header.num_desc; i++) {
    const at = header.desc_offset + i * descBytes;
    const flags = u32(at);
    const size = view.getUint16(at + 6, true);
    const offset = u32(at + 8);
    const end = header.data_offset + offset + size * 8;
    if (end > buf.byteLength) fail(`values of descriptor ${i} run past the end (${end} > ${buf.byteLength})`);
    const values: number[] = [];
    for (let k = 0; k < size; k++) values.push(Number(view.getBigUint64(header.data_offset + offset + k * 8, true)));
    const typeCode = flags & 0xf;
    const unitCode = (flags >> 4) & 0xf;
    const baseCode = (flags >> 8) & 0xf;
    descriptors.push({
      name: cString(buf, at + DESC_FIXED_BYTES, header.name_size),
      flags: `0x${flags.toString(16)}`,
      type: TYPES[typeCode] ?? `type-${typeCode}`,
      unit: UNITS[unitCode] ?? `unit-${unitCode}`,
      base: BASES[baseCode] ?? `base-${baseCode}`,
      exponent: view.getInt16(at + 4, true),
      size,
      offset,
      bucket_size: u32(at + 12),
      value: size === 1 ? values[0]! : values,
    });
  }
  return { header, id: cString(buf, header.id_offset, header.name_size), descriptors };
}

function cString(buf: Uint8Array, at: number, max: number): string {
  let end = at;
  while (end < at + max && buf[end] !== 0) end++;
  return Buffer.from(buf.subarray(at, end)).toString('utf8');
}
