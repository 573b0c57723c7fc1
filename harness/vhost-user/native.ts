// The typed face of the native addon (harness/vhost-user/native). It holds only what Node cannot
// do: fd passing on UNIX sockets, mmap of shared-memory fds, eventfds and uv_poll readiness. Nothing
// here is meant to be called per packet. Loading fails with a HostError that names the build command.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { HostError } from '../errors.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const addonPath = join(here, 'native', 'build', 'Release', 'vhost_user_native.node');
export const addonBuildCommand = 'npx node-gyp rebuild --directory harness/vhost-user/native';

/** What recvMsg returns when bytes (or EOF) arrived; `null` means EAGAIN. */
export interface RecvResult {
  /** Bytes read; 0 means the peer closed the connection. */
  bytes: number;
  /** File descriptors that arrived with these bytes (already close-on-exec). The caller owns them. */
  fds: number[];
  /** MSG_CTRUNC: more fds were sent than fit; the excess is lost and the connection must be dropped. */
  truncated: boolean;
}

export interface FdStat {
  type: 'file' | 'socket' | 'fifo' | 'char' | 'block' | 'dir' | 'link' | 'other';
  size: number;
  dev: number;
  ino: number;
  blksize: number;
}

/** Readiness of one fd on this thread's libuv loop; see native/src/poll.cc. */
export interface Poller {
  start(): void;
  stop(): void;
  /** Stop and release the handle. Must happen before the fd is closed. */
  close(): void;
}

export interface NativeAddon {
  listenUnix(path: string, backlog: number): number;
  acceptUnix(fd: number): number | null;
  connectUnix(path: string, nonBlocking: boolean): number;
  socketPair(nonBlocking: boolean): [number, number];
  recvMsg(fd: number, buf: Uint8Array, offset: number, length: number): RecvResult | null;
  sendMsg(fd: number, buf: Uint8Array, offset: number, length: number, fds?: number[]): number | null;
  closeFd(fd: number): void;
  setNonBlocking(fd: number): void;
  fdStat(fd: number): FdStat;
  memfdCreate(name: string, size: number): number;
  truncateFd(fd: number, size: number): void;
  /** Map [offset, offset+length) of fd shared read-write; offset aligned to pageSize. */
  mmapFd(fd: number, offset: number, length: number, pageSize: number): ArrayBuffer;
  /** Detach the buffer (views become empty) and unmap it. Idempotent. */
  munmap(buffer: ArrayBuffer): void;
  mappingFaulted(buffer: ArrayBuffer): boolean;
  /** Number of SIGBUS faults contained so far in this process (monotonic). */
  faultCount(): number;
  liveMappings(): number;
  pageSize(): number;
  eventfdCreate(initial: number, nonBlocking: boolean): number;
  /** 0 on success, -errno on failure (never throws). */
  eventfdWrite(fd: number, value: number): number;
  /** The counter, -errno (-11 = EAGAIN), or -1 on EOF. */
  eventfdRead(fd: number): number;
  Poller: new (fd: number, callback: (status: number, value: number) => void, drain: boolean) => Poller;
}

export const EAGAIN = 11;

let cached: NativeAddon | undefined;

/** Load the addon once. Throws a HostError with the build command when it has not been built. */
export function native(): NativeAddon {
  if (cached) return cached;
  if (!existsSync(addonPath)) {
    throw new HostError(`the vhost-user native addon is not built (${addonPath} is missing)`, addonBuildCommand);
  }
  const require = createRequire(import.meta.url);
  try {
    cached = require(addonPath) as NativeAddon;
  } catch (err) {
    throw new HostError(`the vhost-user native addon failed to load: ${(err as Error).message}`, addonBuildCommand, err);
  }
  return cached;
}

/** Why the addon cannot be used here, or undefined when it loads (for tests that skip). */
export function nativeUnavailableReason(): string | undefined {
  try {
    native();
    return undefined;
  } catch (err) {
    return `${(err as Error).message}; build it with: ${addonBuildCommand}`;
  }
}

/** Close an fd, ignoring errors (for cleanup paths that must go on). */
export function closeQuietly(fd: number): void {
  if (fd < 0) return;
  try {
    native().closeFd(fd);
  } catch {
    // already closed or never valid: nothing left to release
  }
}
