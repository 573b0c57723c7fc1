// Two guests started the way a person starts them by hand: a network namespace with a bridge and a
// tap per guest made with `ip`, then `qemu-system-x86_64` with a short command line typed out (the
// NIC, the kernel and initramfs of iopath's image cache, the serial console on stdio), no guest
// agent, no control port, no tracing, no collectors. The guests boot straight into a shell
// (`rdinit=/bin/busybox -- sh`), where the driver modules are loaded and iperf3 is run at the
// console. Everything started is registered with the scope, its removal before its creation: the
// QEMU process groups last (so they are gone first), then the taps, the bridge and the namespace.

import type { NicBackend } from '../backends/types.ts';
import { GuestError, UsageError } from '../errors.ts';
import { guestIdentity, netnsName } from '../host/identity.ts';
import { Netns } from '../host/netns.ts';
import { startDaemon } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import type { GuestImage } from '../image/build.ts';
import { renderProps, type Props } from '../vm/qemu-args.ts';
import { parseIperf3Json, type Iperf3Result } from '../workloads/iperf3.ts';
import { SerialShell } from './serial-shell.ts';

/** What a person types for a path's NIC: the QEMU device and the tap's own options. */
export interface HandNic {
  path: string;
  driver: string;
  tapProps: Props;
}

/**
 * The hand-typed NIC of a path, read from the path's own QEMU options: a path a hand run can stand
 * in for plugs one QEMU device into one tap (no chardev, no shared memory, one queue pair).
 */
export function handNic(path: Pick<NicBackend, 'id' | 'guestArgs'>): HandNic {
  const nic = path.guestArgs(guestIdentity(0, 'hand'), { runtimeDir: '/nonexistent', accel: 'tcg', qemuVersion: { major: 7, minor: 2, micro: 0 }, queues: 1 });
  const [netdev, ...moreNetdevs] = nic.netdevs;
  const [device, ...moreDevices] = nic.devices;
  if (!netdev || !device || moreNetdevs.length || moreDevices.length || netdev.type !== 'tap' || nic.chardevs.length || nic.sharedMemory) {
    throw new UsageError(`a hand run stands in for a path whose guests have one QEMU NIC on a tap; ${path.id} is not one (drop it from --backends)`);
  }
  const tapProps = Object.fromEntries(Object.entries(netdev.props).filter(([k, v]) => !['ifname', 'script', 'downscript', 'queues'].includes(k) && v !== undefined));
  return { path: path.id, driver: device.driver, tapProps };
}

export interface BarePairOptions {
  nic: HandNic;
  image: Pick<GuestImage, 'kernel' | 'initrd'>;
  memoryMiB: number;
  /** Options appended to both guests' QEMU command lines (experiments: `-accel tcg,thread=single`, ...). */
  extraQemuArgs?: readonly string[];
  /** The hand run's tag (host.ts's claimHost): last in the namespace's name, so recovery finds it. */
  tag: string;
  /** Folder for the two consoles' logs. */
  logDir: string;
  bootTimeoutSec?: number;
  /** CPU of each guest's QEMU (`taskset -c`, as a person pins by hand); absent: the scheduler's choice. */
  pin?: readonly [number, number];
  signal?: AbortSignal;
}

const SUBNET = '10.98.0';

/**
 * The hand pair's network namespace on `path`: `iopath-hand-<path>-<tag>`, a tap path's name with
 * `hand-` before the path, so that the one rule recovery sweeps by (the run's tag last) covers it.
 */
export function handNetns(tag: string, path: string): string {
  return netnsName(tag, `hand-${path}`);
}

export function handArgv(o: BarePairOptions, index: number, tap: string): string[] {
  const mac = `52:54:00:1b:00:0${index + 1}`;
  return [
    'qemu-system-x86_64', '-accel', 'tcg', '-m', `${o.memoryMiB}M`, '-nodefaults', '-display', 'none', '-serial', 'stdio',
    '-kernel', o.image.kernel, '-initrd', o.image.initrd, '-append', 'console=ttyS0 quiet rdinit=/bin/busybox -- sh',
    '-netdev', renderProps('tap', { id: 'n0', ifname: tap, script: 'no', downscript: 'no', ...o.nic.tapProps }), '-device', `${o.nic.driver},netdev=n0,mac=${mac}`,
    ...(o.extraQemuArgs ?? []),
  ];
}

/** What a person types at each guest's console once it booted: pseudo file systems, drivers, address. */
export function setUpCommand(index: number): string {
  return [
    '/bin/busybox --install -s /bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    'mount -t tmpfs tmpfs /tmp',
    'for m in $(cat /etc/iopath/modules); do insmod /lib/modules/$m.ko; done',
    'ip link set lo up',
    'ip link set eth0 up',
    `ip addr add ${SUBNET}.${index + 1}/24 dev eth0`,
  ].join('; ');
}

export class BarePair {
  readonly server: SerialShell;
  readonly client: SerialShell;
  readonly argv: readonly (readonly string[])[];
  readonly #signal: AbortSignal | undefined;

  private constructor(server: SerialShell, client: SerialShell, argv: readonly (readonly string[])[], signal?: AbortSignal) {
    this.server = server;
    this.client = client;
    this.argv = argv;
    this.#signal = signal;
  }

  /** Make the namespace and taps, boot both guests, configure them and start the iperf3 server. */
  static async start(scope: Scope, o: BarePairOptions): Promise<BarePair> {
    // The same `ip` commands a person types, each removal registered before its creation.
    const ns = await Netns.create(scope, handNetns(o.tag, o.nic.path), o.signal);
    await ns.addBridge(scope, 'br0', undefined, o.signal);
    const shells: SerialShell[] = [];
    const argvs: string[][] = [];
    for (const index of [0, 1]) {
      const tap = `tap${index}`;
      await ns.addTap(scope, tap, 'br0', o.signal);
      // What a person types, pinning included: shown once, and run inside the namespace.
      const argv = [...(o.pin ? ['taskset', '-c', String(o.pin[index])] : []), ...handArgv(o, index, tap)];
      argvs.push(argv);
      const name = index === 0 ? 'a' : 'b';
      const qemu = startDaemon(scope, { name: `hand-run qemu ${name}`, argv: ['ip', 'netns', 'exec', ns.name, ...argv], logFile: `${o.logDir}/hand-console-${name}.log`, interactive: true });
      shells.push(new SerialShell(name, qemu));
    }
    const bootMs = (o.bootTimeoutSec ?? 120) * 1000;
    await Promise.all(shells.map((s) => s.waitReady(bootMs, o.signal)));
    for (const [index, shell] of shells.entries()) {
      const r = await shell.run(setUpCommand(index), 60_000, o.signal);
      if (r.status !== 0) throw new GuestError(`guest ${shell.guest}: setting up at the console failed (status ${r.status}):\n${r.output.trim().slice(-500)}`);
    }
    const [server, client] = shells as [SerialShell, SerialShell];
    const started = await server.run('iperf3 -s -D', 30_000, o.signal);
    if (started.status !== 0) throw new GuestError(`guest a: iperf3 -s -D failed: ${started.output.trim()}`);
    // The link comes up a moment after `ip link set up`: wait until B reaches A.
    for (let attempt = 0; ; attempt++) {
      const r = await client.run(`ping -c 1 -W 1 ${SUBNET}.1 >/dev/null`, 15_000, o.signal);
      if (r.status === 0) break;
      if (attempt >= 30) throw new GuestError(`guest b cannot reach guest a at ${SUBNET}.1 over ${o.nic.path}`);
    }
    return new BarePair(server, client, argvs, o.signal);
  }

  /** `iperf3 -c <a> -t <seconds>` at B's console, as typed by hand; the result parsed from -J. */
  async iperf3(seconds: number, extraArgs: readonly string[] = []): Promise<Iperf3Result> {
    const command = ['iperf3', '-c', `${SUBNET}.1`, '-t', String(seconds), ...extraArgs, '-J', '>/tmp/iperf3.json'].join(' ');
    const r = await this.client.run(command, (seconds + 40) * 1000, this.#signal);
    const json = await this.client.run('cat /tmp/iperf3.json', 30_000, this.#signal);
    const text = json.output;
    const body = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
    if (r.status !== 0 && !body) throw new GuestError(`guest b: ${command} exited with status ${r.status}: ${text.trim().slice(-300)}`);
    return parseIperf3Json(body);
  }
}
