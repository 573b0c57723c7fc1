// DPDK testpmd as a benchmark partner: interactive instances driven over stdin (commands) and
// stdout (port statistics), each in its own process group so a stop kills everything it forked.
// Flags that work without hugepages on the project's machines: HOST-NOTES.md "vhost-user".

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

export const TESTPMD = '/usr/bin/dpdk-testpmd';

export interface TestpmdOptions {
  /** Unique --file-prefix (DPDK runtime directory /var/run/dpdk/<prefix>). */
  prefix: string;
  /** EAL lcore list, main first (e.g. [0, 1]: main on CPU 0, forwarding on CPU 1). */
  lcores: number[];
  vdevs: string[];
  /** Application arguments after `--`. */
  args: string[];
  memoryMb?: number;
}

export class Testpmd {
  readonly argv: string[];
  #child: ChildProcess;
  #out = '';
  #exited: Promise<number | null>;
  #prefix: string;

  constructor(o: TestpmdOptions) {
    this.#prefix = o.prefix;
    this.argv = [
      TESTPMD,
      '-l', o.lcores.join(','),
      '--main-lcore', String(o.lcores[0]),
      '--no-huge', '-m', String(o.memoryMb ?? 1024),
      '--no-pci',
      `--file-prefix=${o.prefix}`,
      ...o.vdevs.flatMap((v) => ['--vdev', v]),
      '--',
      ...o.args,
    ];
    // testpmd prints statistics with stdio: make its stdout unbuffered or they sit in a pipe buffer.
    this.#child = spawn('stdbuf', ['-o0', '-e0', ...this.argv], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.#child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.#out += d));
    this.#child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.#out += d));
    this.#child.stdin!.on('error', () => undefined);
    this.#exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
    this.#child.once('error', () => undefined);
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  get output(): string {
    return this.#out;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  send(line: string): void {
    this.#child.stdin!.write(`${line}\n`);
  }

  /** Wait until the output contains `text` (after `from`), or throw with the output's tail. */
  async waitFor(text: string | RegExp, timeoutMs: number, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const tail = this.#out.slice(from);
      if (typeof text === 'string' ? tail.includes(text) : text.test(tail)) return;
      if (!this.running) throw new Error(`testpmd exited before printing ${text}:\n${this.#out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`testpmd did not print ${text} within ${timeoutMs} ms:\n${this.#out.slice(-2000)}`);
      await delay(50);
    }
  }

  /** `show port stats all`: RX packets per port (cumulative). */
  async portStats(): Promise<{ rxPackets: number[]; txPackets: number[]; rxPps: number[] }> {
    const from = this.#out.length;
    this.send('show port stats all');
    await this.waitFor(/Tx-bps[^\n]*\n[\s\S]*testpmd>/, 5000, from);
    const text = this.#out.slice(from);
    const rxPackets = [...text.matchAll(/RX-packets:\s+(\d+)/g)].map((m) => Number(m[1]));
    const txPackets = [...text.matchAll(/TX-packets:\s+(\d+)/g)].map((m) => Number(m[1]));
    const rxPps = [...text.matchAll(/Rx-pps:\s+(\d+)/g)].map((m) => Number(m[1]));
    return { rxPackets, txPackets, rxPps };
  }

  /** Quit politely, then kill the group; remove DPDK's runtime directory. */
  async stop(): Promise<void> {
    if (this.running) {
      this.send('quit');
      this.#child.stdin!.end();
      const done = await Promise.race([this.#exited.then(() => true), delay(5000).then(() => false)]);
      if (!done) signalGroup(this.pid, 'SIGKILL');
    }
    await this.#exited;
    const dir = `/var/run/dpdk/${this.#prefix}`;
    if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
  }

  /** Kill at once (used when a test wants an abrupt death). */
  kill(): void {
    signalGroup(this.pid, 'SIGKILL');
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** Why testpmd cannot be used here, or undefined. */
export function testpmdUnavailableReason(): string | undefined {
  if (!existsSync(TESTPMD)) return `${TESTPMD} is missing (Debian package dpdk-dev / dpdk)`;
  return undefined;
}
