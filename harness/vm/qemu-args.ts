// QEMU command lines from typed options. Options render in a fixed order to a plain string[]
// (repeated flags allowed), spawned without a shell. Property values are escaped the way QEMU's
// option parser wants (a comma inside a value is written twice).

export type PropValue = string | number | boolean;
export type Props = Record<string, PropValue | undefined>;

/** `-device <driver>,<props>` */
export interface DeviceOpt {
  driver: string;
  props: Props;
}
/** `-netdev <type>,id=<id>,<props>` */
export interface NetdevOpt {
  type: string;
  id: string;
  props: Props;
}
/** `-chardev <backend>,id=<id>,<props>` */
export interface ChardevOpt {
  backend: string;
  id: string;
  props: Props;
}
/** `-object <type>,id=<id>,<props>` */
export interface ObjectOpt {
  type: string;
  id: string;
  props: Props;
}

/** What a NIC backend contributes to one guest's command line. */
export interface NicConfig {
  chardevs: ChardevOpt[];
  netdevs: NetdevOpt[];
  devices: DeviceOpt[];
  /** The guest's RAM must be a shareable memfd (vhost-user back-ends map it). */
  sharedMemory: boolean;
}

export interface VmConfig {
  /** Guest name, e.g. `a`. */
  name: string;
  binary: string;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
  vcpus: number;
  kernel: string;
  initrd: string;
  append: string;
  qmpSocket: string;
  agentSocket: string;
  serialLog: string;
  nic?: NicConfig;
  /** Extra options appended last (collectors' tracing, for example), already in argv form. */
  extraArgs?: readonly string[];
}

export function renderProps(head: string, props: Props): string {
  const parts = [head];
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    const text = typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value);
    parts.push(`${key}=${text.replace(/,/g, ',,')}`);
  }
  return parts.join(',');
}

export function qemuArgv(c: VmConfig): string[] {
  const argv: string[] = [c.binary];
  const add = (...items: string[]) => argv.push(...items);
  // debug-threads names the vCPU and I/O threads (`CPU 0/KVM`), which CPU accounting relies on.
  add('-name', renderProps(`guest=${c.name}`, { 'debug-threads': true }));
  add('-machine', renderProps('pc', { 'memory-backend': c.nic?.sharedMemory ? 'mem' : undefined }));
  add('-accel', c.accel);
  // Under TCG the default CPU model is used: `-cpu max` makes QEMU emulate wider vector units
  // that the guest kernel then uses, and halves guest-to-guest throughput (measured here).
  if (c.accel === 'kvm') add('-cpu', 'host');
  add('-m', `${c.memoryMiB}M`);
  add('-smp', String(c.vcpus));
  if (c.nic?.sharedMemory) {
    add('-object', renderProps('memory-backend-memfd', { id: 'mem', size: `${c.memoryMiB}M`, share: true }));
  }
  // No default devices: emulated VGA, floppy and friends would add noise to device-access counts.
  add('-nodefaults', '-no-user-config', '-vga', 'none', '-display', 'none', '-no-reboot');
  add('-kernel', c.kernel, '-initrd', c.initrd, '-append', c.append);
  add('-chardev', renderProps('file', { id: 'console', path: c.serialLog }));
  add('-device', renderProps('isa-serial', { chardev: 'console', index: 0 }));
  add('-chardev', renderProps('socket', { id: 'agent', path: c.agentSocket }));
  add('-device', renderProps('isa-serial', { chardev: 'agent', index: 1 }));
  add('-chardev', renderProps('socket', { id: 'qmp', path: c.qmpSocket, server: true, wait: false }));
  add('-mon', renderProps('chardev=qmp', { mode: 'control' }));
  for (const ch of c.nic?.chardevs ?? []) add('-chardev', renderProps(ch.backend, { id: ch.id, ...ch.props }));
  for (const nd of c.nic?.netdevs ?? []) add('-netdev', renderProps(nd.type, { id: nd.id, ...nd.props }));
  for (const dev of c.nic?.devices ?? []) add('-device', renderProps(dev.driver, dev.props));
  if (c.extraArgs) add(...c.extraArgs);
  return argv;
}
