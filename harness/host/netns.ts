// A private network namespace per run holding a bridge and one tap per guest. Each resource
// registers its removal the moment it exists. Commands are argv arrays for `ip`, never shell text.

import { runCommand } from './proc.ts';
import type { Scope } from './scope.ts';

const IP_FIX = 'apt-get install -y iproute2';

export class Netns {
  readonly name: string;
  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Create the namespace (with loopback up). Its deletion is registered before it is created and
   * creation is not cancelled half-way by Ctrl-C: a namespace can never exist without its disposer.
   */
  static async create(scope: Scope, name: string, signal?: AbortSignal): Promise<Netns> {
    signal?.throwIfAborted();
    scope.defer(`delete network namespace ${name}`, () => deleteNetns(name));
    await runCommand(['ip', 'netns', 'add', name], { fix: IP_FIX });
    const ns = new Netns(name);
    await ns.ip(['link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run `ip -n <ns> ...`. */
  ip(args: readonly string[], signal?: AbortSignal): Promise<unknown> {
    return runCommand(['ip', '-n', this.name, ...args], { signal, fix: IP_FIX });
  }

  /** Run a program inside the namespace. */
  exec(argv: readonly string[], options: { signal?: AbortSignal; timeoutMs?: number } = {}) {
    return runCommand(['ip', 'netns', 'exec', this.name, ...argv], options);
  }

  // Links follow the namespace's rule: disposer first, then an uncancelled creation.
  /** A bridge; `mtu` when its frames are larger than Ethernet's 1500 bytes. */
  async addBridge(scope: Scope, name: string, address?: string, signal?: AbortSignal, mtu?: number): Promise<void> {
    signal?.throwIfAborted();
    scope.defer(`delete bridge ${name}`, () => this.deleteLink(name));
    await this.ip(['link', 'add', name, ...(mtu ? ['mtu', String(mtu)] : []), 'type', 'bridge']);
    if (address) await this.ip(['addr', 'add', address, 'dev', name]);
    await this.ip(['link', 'set', name, 'up']);
  }

  /**
   * A tap on `bridge`; `multiQueue` for a NIC with several queue pairs (QEMU opens one file per
   * pair); `mtu` set before it joins the bridge, so the bridge keeps its own.
   */
  async addTap(scope: Scope, name: string, bridge: string, signal?: AbortSignal, multiQueue = false, mtu?: number): Promise<void> {
    signal?.throwIfAborted();
    scope.defer(`delete tap ${name}`, () => this.deleteLink(name));
    await this.ip(['tuntap', 'add', 'dev', name, 'mode', 'tap', ...(multiQueue ? ['multi_queue'] : [])]);
    if (mtu) await this.ip(['link', 'set', name, 'mtu', String(mtu)]);
    await this.ip(['link', 'set', name, 'master', bridge]);
    await this.ip(['link', 'set', name, 'up']);
  }

  async deleteLink(name: string): Promise<void> {
    // Gone already (never created, the namespace went first, QEMU removed it) is fine.
    await runCommand(['ip', '-n', this.name, 'link', 'del', name], { okStatuses: [0, 1, 255] });
  }
}

/** Delete a namespace; one that does not exist (never created, or gone) is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  if (!(await listNetns()).includes(name)) return;
  await runCommand(['ip', 'netns', 'del', name], { fix: IP_FIX });
}

export async function listNetns(): Promise<string[]> {
  const r = await runCommand(['ip', 'netns', 'list'], { fix: IP_FIX });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}
