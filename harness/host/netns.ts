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

  /** Create the namespace (with loopback up) and register its deletion. */
  static async create(scope: Scope, name: string, signal?: AbortSignal): Promise<Netns> {
    await runCommand(['ip', 'netns', 'add', name], { signal, fix: IP_FIX });
    scope.defer(`delete network namespace ${name}`, () => deleteNetns(name));
    const ns = new Netns(name);
    await ns.ip(['link', 'set', 'lo', 'up'], signal);
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

  async addBridge(scope: Scope, name: string, address?: string, signal?: AbortSignal): Promise<void> {
    await this.ip(['link', 'add', name, 'type', 'bridge'], signal);
    scope.defer(`delete bridge ${name}`, () => this.deleteLink(name));
    if (address) await this.ip(['addr', 'add', address, 'dev', name], signal);
    await this.ip(['link', 'set', name, 'up'], signal);
  }

  async addTap(scope: Scope, name: string, bridge: string, signal?: AbortSignal): Promise<void> {
    await this.ip(['tuntap', 'add', 'dev', name, 'mode', 'tap'], signal);
    scope.defer(`delete tap ${name}`, () => this.deleteLink(name));
    await this.ip(['link', 'set', name, 'master', bridge], signal);
    await this.ip(['link', 'set', name, 'up'], signal);
  }

  async deleteLink(name: string): Promise<void> {
    // Gone already (the namespace went first, or QEMU removed a tap it created) is fine.
    await runCommand(['ip', '-n', this.name, 'link', 'del', name], { okStatuses: [0, 1] });
  }
}

export async function deleteNetns(name: string): Promise<void> {
  await runCommand(['ip', 'netns', 'del', name], { okStatuses: [0], fix: IP_FIX });
}

export async function listNetns(): Promise<string[]> {
  const r = await runCommand(['ip', 'netns', 'list'], { fix: IP_FIX });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter(Boolean);
}
