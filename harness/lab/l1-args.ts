// The lab VM's (L1's) QEMU command line and the files its init reads, from typed options: pure
// functions, so both can be snapshot-tested. L1 runs under software emulation with `-cpu max`,
// which is what gives it an emulated AMD SVM with nested paging, hence a KVM of its own.

import { renderProps } from '../vm/qemu-args.ts';

/** A host folder shared with L1 over 9p. */
export interface Share {
  /** 9p mount tag, also the fsdev id. */
  tag: string;
  /** Folder on the host. */
  hostPath: string;
  /** Where L1's init mounts it, inside the host's root (same path as on the host). */
  mountPath?: string;
  readonly: boolean;
}

export interface L1Config {
  binary: string;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  append: string;
  /** L1's console (ttyS0): QEMU connects to this socket, which the lab listens on. */
  consoleSocket: string;
  /** The control line (ttyS1): `INT` or `TERM` forwarded to the command in L1. */
  controlSocket: string;
  qmpSocket: string;
  /** Where QEMU logs CPU resets and guest errors (a triple fault of L1 says nothing on its console). */
  debugLog: string;
  shares: readonly Share[];
  /** TCG's threading: one host thread per vCPU (`multi`, QEMU's default here) or one for all. */
  tcgThread?: 'single' | 'multi';
}

export function l1Argv(c: L1Config): string[] {
  const argv = [c.binary];
  const add = (...items: string[]) => argv.push(...items);
  add('-name', renderProps('guest=iopath-lab', { 'debug-threads': true }));
  add('-machine', 'pc');
  add('-accel', c.tcgThread ? `tcg,thread=${c.tcgThread}` : 'tcg');
  // `max` is the CPU model whose emulation includes SVM and nested paging (NPT).
  add('-cpu', 'max');
  add('-smp', String(c.cpus));
  add('-m', `${c.memoryMiB}M`);
  add('-nodefaults', '-no-user-config', '-vga', 'none', '-display', 'none', '-no-reboot', '-nic', 'none');
  add('-d', 'cpu_reset,guest_errors', '-D', c.debugLog);
  add('-kernel', c.kernel, '-initrd', c.initrd, '-append', c.append);
  add('-chardev', renderProps('socket', { id: 'console', path: c.consoleSocket }));
  add('-device', renderProps('isa-serial', { chardev: 'console', index: 0 }));
  add('-chardev', renderProps('socket', { id: 'control', path: c.controlSocket }));
  add('-device', renderProps('isa-serial', { chardev: 'control', index: 1 }));
  add('-chardev', renderProps('socket', { id: 'qmp', path: c.qmpSocket, server: true, wait: false }));
  add('-mon', renderProps('chardev=qmp', { mode: 'control' }));
  for (const s of c.shares) {
    // multidevs=remap: the host root spans several file systems; without it inode numbers collide.
    add('-fsdev', renderProps('local', { id: s.tag, path: s.hostPath, security_model: 'none', readonly: s.readonly ? true : undefined, multidevs: 'remap' }));
    add('-device', renderProps('virtio-9p-pci', { fsdev: s.tag, mount_tag: s.tag }));
  }
  return argv;
}

/** `mounts` for L1's init: one `tag path` line per writable share (paths must not hold white space). */
export function mountsFile(shares: readonly Share[]): string {
  return shares
    .filter((s) => s.mountPath !== undefined)
    .map((s) => `${s.tag} ${s.readonly ? 'ro' : 'rw'} ${s.mountPath}\n`)
    .join('');
}

/** `argv` for L1's init: one argument per line, read back without any shell interpretation. */
export function argvFile(argv: readonly string[]): string {
  for (const a of argv) {
    if (/[\n\r\0]/.test(a)) throw new RangeError(`an argument of the lab's command holds a line break or NUL: ${JSON.stringify(a)}`);
  }
  return argv.map((a) => `${a}\n`).join('');
}

/**
 * The command L1's init runs in the host's root: a clean environment, the same working directory,
 * then node running this checkout's `iopath` with the user's arguments.
 */
export function chrootCommand(o: { node: string; entry: string; cwd: string; env: Record<string, string>; args: readonly string[] }): string[] {
  return ['/usr/bin/env', '-i', `--chdir=${o.cwd}`, ...Object.entries(o.env).map(([k, v]) => `${k}=${v}`), o.node, o.entry, ...o.args];
}
