// The one driver of DPDK testpmd: its command line from typed options, the process (its own process
// group, owned by a scope) driven one command at a time at its interactive prompt, and the parser of
// its port counters. The testpmd path runs it as a switch; the benchmark and the tests of iopath's
// own switch run it as a virtio-user front-end. Flags that work without hugepages:
// docs/host-notes.md.

import { rmSync } from 'node:fs';
import { IopathError, ParseError, TimeoutError } from '../errors.ts';
import { onPath } from '../host/facts.ts';
import { startDaemon, sleep, type Daemon } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';

export const TESTPMD = 'dpdk-testpmd';
/** The Debian package that ships dpdk-testpmd. */
export const TESTPMD_PACKAGE = 'dpdk-dev';

export interface TestpmdOptions {
  /** CPU ids: the first is the main lcore (mostly idle at the prompt), the rest forward; a CPU may appear twice. */
  lcores: number[];
  /** A private prefix, so instances never share DPDK runtime state. */
  filePrefix: string;
  /** `--vdev` values, one port each (e.g. `net_vhost0,iface=<socket>` or `net_virtio_user0,path=<socket>`). */
  vdevs: string[];
  /** hugetlbfs mount to use; without it testpmd runs on ordinary memory (--no-huge). */
  hugepages?: string;
  memoryMiB: number;
  /** Application arguments after `--` (forwarding mode, mbufs, ...); `-i` is always added. */
  app: string[];
}

export function testpmdArgv(o: TestpmdOptions): string[] {
  const eal: string[] = [];
  if (new Set(o.lcores).size < o.lcores.length) {
    // Two lcores on one CPU (a host with few cores): lcore i runs on CPU lcores[i], lcore 0 the main one.
    eal.push('--lcores', o.lcores.map((cpu, i) => `${i}@${cpu}`).join(','));
  } else {
    eal.push('-l', o.lcores.join(','));
    // DPDK makes the lowest lcore the main one unless told otherwise.
    if (o.lcores[0] !== Math.min(...o.lcores)) eal.push('--main-lcore', String(o.lcores[0]));
  }
  eal.push('--file-prefix', o.filePrefix, '--no-pci', '--no-telemetry', '-m', String(o.memoryMiB));
  // --in-memory keeps hugepage files unlinked (nothing left on hugetlbfs); without hugepages the
  // legacy memory mode that --no-huge implies cannot be combined with it, so --no-shconf keeps the
  // runtime directory free of shared config files instead.
  eal.push(...(o.hugepages ? ['--in-memory', '--huge-dir', o.hugepages] : ['--no-huge', '--no-shconf']));
  for (const v of o.vdevs) eal.push('--vdev', v);
  return [TESTPMD, ...eal, '--', '-i', ...o.app];
}

/**
 * The app arguments of testpmd as a switch: io forwarding between its ports, started at once, with
 * `queues` queue pairs per port (the guests' NIC queue pairs; 1 when absent). With a guest MTU above
 * 1500, frames of that size are accepted and each fits one mbuf.
 */
export function switchApp(o: { mbufs: number; forwardingCores: number; queues?: number; mtu?: number }): string[] {
  const app = ['--forward-mode=io', '--auto-start', `--total-num-mbufs=${o.mbufs}`, `--nb-cores=${Math.max(1, o.forwardingCores)}`];
  const queues = o.queues ?? 1;
  if (queues > 1) app.push(`--rxq=${queues}`, `--txq=${queues}`);
  // Ethernet header and CRC above the MTU; the mbuf's headroom and some slack above the frame.
  if (o.mtu !== undefined && o.mtu > 1500) app.push(`--max-pkt-len=${o.mtu + 18}`, `--mbuf-size=${o.mtu + 512}`);
  return app;
}

/** Where DPDK keeps an instance's runtime files. */
export function dpdkRuntimeDir(filePrefix: string): string {
  return `/var/run/dpdk/${filePrefix}`;
}

/** Why testpmd cannot be used here, or undefined. */
export function testpmdUnavailableReason(): string | undefined {
  return onPath(TESTPMD) ? undefined : `${TESTPMD} is not installed (Debian package ${TESTPMD_PACKAGE})`;
}

export interface PortStats {
  port: number;
  rxPackets: number;
  rxMissed: number;
  rxBytes: number;
  rxErrors: number;
  rxNombuf: number;
  txPackets: number;
  txErrors: number;
  txBytes: number;
  /** Receive rate since the previous `show port stats`, packets per second. */
  rxPps?: number;
}

/** Parse the blocks `show port stats all` prints, one per port. */
export function parsePortStats(text: string): PortStats[] {
  const blocks = text.split(/#+ NIC statistics for port (\d+)\s+#+/).slice(1);
  if (blocks.length === 0) throw new ParseError('testpmd port statistics', 'no "NIC statistics for port" block', text);
  const out: PortStats[] = [];
  for (let i = 0; i < blocks.length; i += 2) {
    const port = Number(blocks[i]);
    const body = blocks[i + 1] ?? '';
    const find = (name: string) => new RegExp(`${name}:\\s*(\\d+)`).exec(body)?.[1];
    const field = (name: string) => {
      const v = find(name);
      if (v === undefined) throw new ParseError('testpmd port statistics', `port ${port}: no ${name}`, text);
      return Number(v);
    };
    const rxPps = find('Rx-pps');
    out.push({
      port,
      rxPackets: field('RX-packets'),
      rxMissed: field('RX-missed'),
      rxBytes: field('RX-bytes'),
      rxErrors: field('RX-errors'),
      rxNombuf: field('RX-nombuf'),
      txPackets: field('TX-packets'),
      txErrors: field('TX-errors'),
      txBytes: field('TX-bytes'),
      ...(rxPps === undefined ? {} : { rxPps: Number(rxPps) }),
    });
  }
  return out;
}

const PROMPT = 'testpmd> ';

export interface StartOptions {
  /** File that receives everything testpmd prints. */
  logFile?: string;
  /** How long the prompt may take to appear. */
  promptTimeoutMs?: number;
  signal?: AbortSignal;
}

/** A running testpmd, driven one command at a time at its prompt. */
export class Testpmd {
  readonly daemon: Daemon;
  readonly options: TestpmdOptions;
  #output = '';
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(daemon: Daemon, options: TestpmdOptions) {
    this.daemon = daemon;
    this.options = options;
    daemon.onOutput((t) => {
      this.#output += t;
      if (this.#output.length > 1 << 20) this.#output = this.#output.slice(-(1 << 19));
    });
  }

  /** Start testpmd and wait for its prompt; registers a clean `quit` and the removal of its runtime files with the scope. */
  static async start(scope: Scope, o: TestpmdOptions, s: StartOptions = {}): Promise<Testpmd> {
    // testpmd writes through stdio; on a pipe that would be block-buffered and the prompt would
    // never arrive, so stdbuf makes it unbuffered.
    const daemon = startDaemon(scope, { name: TESTPMD, argv: ['stdbuf', '-o0', '-e0', ...testpmdArgv(o)], ...(s.logFile ? { logFile: s.logFile } : {}), interactive: true, termTimeoutMs: 5000 });
    const t = new Testpmd(daemon, o);
    scope.defer('remove testpmd runtime files', () => rmSync(dpdkRuntimeDir(o.filePrefix), { recursive: true, force: true }));
    scope.defer('quit testpmd', () => t.quit());
    await t.#waitFor(PROMPT, s.promptTimeoutMs ?? 60_000, s.signal);
    return t;
  }

  get pid(): number {
    return this.daemon.pid;
  }

  get running(): boolean {
    return this.daemon.running;
  }

  /** Run one prompt command and return what it printed before the next prompt. */
  command(cmd: string, timeoutMs = 10_000): Promise<string> {
    const run = async () => {
      this.#output = '';
      this.daemon.write(cmd + '\n');
      return this.#waitFor(PROMPT, timeoutMs);
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async portStats(): Promise<PortStats[]> {
    return parsePortStats(await this.command('show port stats all'));
  }

  /** Ask testpmd to stop its ports and exit (it removes its vhost sockets itself). */
  async quit(): Promise<void> {
    if (!this.daemon.running) return;
    try {
      this.daemon.write('quit\n');
    } catch {
      return;
    }
    await Promise.race([this.daemon.exited, sleep(10_000)]);
  }

  async #waitFor(marker: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.#output.lastIndexOf(marker);
      if (at >= 0) {
        const text = this.#output.slice(0, at);
        this.#output = this.#output.slice(at + marker.length);
        return text;
      }
      if (!this.daemon.running) throw new IopathError(`${TESTPMD} exited (${JSON.stringify(this.daemon.exitInfo)}); see its log`);
      if (Date.now() > deadline) throw new TimeoutError(`${TESTPMD} prompt`, timeoutMs);
      await sleep(20, signal);
    }
  }
}
