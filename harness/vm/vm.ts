// One guest, modelled as one object that owns its QEMU process, its sockets, its QMP connection and
// its agent. Launch registers every piece with the scope as it comes into being; `shutdown` ends the
// guest politely (QMP quit), and the scope's disposers make sure of it anyway.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GuestError, TimeoutError, tailLines } from '../errors.ts';
import { startDaemon, type Daemon } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import { listenForAgent, type GuestAgent } from './agent.ts';
import { qemuArgv, type NicConfig } from './qemu-args.ts';
import { QmpClient } from './qmp.ts';

export interface VmImage {
  kernel: string;
  initrd: string;
  cmdline: string;
}

export interface VmOptions {
  name: string;
  qemuBinary: string;
  accel: 'kvm' | 'tcg';
  memoryMiB: number;
  vcpus: number;
  image: VmImage;
  nic?: NicConfig;
  /** Run QEMU inside this network namespace (tap devices live there). */
  netns?: string;
  /** Private directory for this guest's sockets. */
  runtimeDir: string;
  /** Folder for the serial console log and QEMU's own output. */
  logDir: string;
  extraArgs?: readonly string[];
  signal?: AbortSignal;
}

export class Vm {
  readonly name: string;
  readonly qemu: Daemon;
  readonly qmp: QmpClient;
  readonly agent: GuestAgent;
  readonly serialLog: string;
  readonly qemuLog: string;
  readonly argv: readonly string[];

  private constructor(init: { name: string; qemu: Daemon; qmp: QmpClient; agent: GuestAgent; serialLog: string; qemuLog: string; argv: readonly string[] }) {
    this.name = init.name;
    this.qemu = init.qemu;
    this.qmp = init.qmp;
    this.agent = init.agent;
    this.serialLog = init.serialLog;
    this.qemuLog = init.qemuLog;
    this.argv = init.argv;
  }

  get pid(): number {
    return this.qemu.pid;
  }

  /** Start QEMU and connect to its QMP monitor and agent socket. Does not wait for the guest to boot. */
  static async launch(scope: Scope, o: VmOptions): Promise<Vm> {
    const agentSocket = join(o.runtimeDir, `${o.name}.agent`);
    const qmpSocket = join(o.runtimeDir, `${o.name}.qmp`);
    const serialLog = join(o.logDir, `serial-${o.name}.log`);
    const qemuLog = join(o.logDir, `qemu-${o.name}.log`);
    // The agent socket listens before QEMU starts: QEMU connects to it as a client at start-up.
    const listener = listenForAgent(scope, agentSocket, o.name);
    const vmArgv = qemuArgv({
      name: o.name,
      binary: o.qemuBinary,
      accel: o.accel,
      memoryMiB: o.memoryMiB,
      vcpus: o.vcpus,
      kernel: o.image.kernel,
      initrd: o.image.initrd,
      append: o.image.cmdline,
      qmpSocket,
      agentSocket,
      serialLog,
      ...(o.nic ? { nic: o.nic } : {}),
      ...(o.extraArgs ? { extraArgs: o.extraArgs } : {}),
    });
    const argv = o.netns ? ['ip', 'netns', 'exec', o.netns, ...vmArgv] : vmArgv;
    const qemu = startDaemon(scope, { name: `qemu ${o.name}`, argv, logFile: qemuLog });
    scope.defer(`remove QMP socket of ${o.name}`, () => rmSync(qmpSocket, { force: true }));
    const died = qemu.exited.then((exit) => {
      throw new GuestError(`QEMU for guest ${o.name} exited (${exit.signal ?? `status ${exit.code}`}) during start-up:\n${tailLines(readText(qemuLog), 10)}`);
    });
    died.catch(() => undefined);
    const qmp = await Promise.race([QmpClient.connect(qmpSocket, { timeoutMs: 15_000, ...(o.signal ? { signal: o.signal } : {}) }), died]);
    scope.defer(`QMP connection of ${o.name}`, () => qmp.close());
    const agent = await Promise.race([listener.accept(scope), died]);
    const vm = new Vm({ name: o.name, qemu, qmp, agent, serialLog, qemuLog, argv });
    // Registered last so it runs first: a polite quit before the process group is signalled.
    scope.defer(`shut down guest ${o.name}`, () => vm.shutdown());
    return vm;
  }

  /** Wait until the guest agent reports ready; fails early if QEMU dies. Returns the guest kernel. */
  async waitReady(timeoutMs: number, signal?: AbortSignal): Promise<string> {
    const died = this.qemu.exited.then((exit) => {
      throw new GuestError(`QEMU for guest ${this.name} exited (${exit.signal ?? `status ${exit.code}`}) before the guest was ready:\n${tailLines(readText(this.qemuLog), 10)}`);
    });
    died.catch(() => undefined);
    try {
      return await Promise.race([this.agent.ready(timeoutMs, signal), died]);
    } catch (err) {
      if (err instanceof TimeoutError) {
        const console = tailLines(readText(this.serialLog), 8);
        throw new GuestError(`guest ${this.name} did not become ready within ${(timeoutMs / 1000).toFixed(0)} s${console ? `; last console lines:\n${console}` : ' (console is empty)'}`);
      }
      throw err;
    }
  }

  /** End QEMU: QMP `quit`, then wait briefly. The process-group stop registered at launch follows. */
  async shutdown(): Promise<void> {
    if (!this.qemu.running) return;
    if (!this.qmp.closed) {
      await this.qmp.execute('quit', undefined, 3000).catch(() => undefined);
    }
    await Promise.race([this.qemu.exited, new Promise((r) => setTimeout(r, 3000))]);
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
