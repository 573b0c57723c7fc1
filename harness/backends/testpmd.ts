// DPDK testpmd as a vhost-user switch: its command line from typed options, the process driven at
// its interactive prompt (stdout unbuffered through stdbuf), and the parser of its port counters.

import { existsSync, rmSync } from 'node:fs';
import { ParseError, TimeoutError } from '../errors.ts';
import { startDaemon, sleep, type Daemon } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import type { Availability, Collector } from '../collectors/types.ts';
import type { Sample } from '../samples.ts';

export interface TestpmdOptions {
  /** CPU ids: the first is the main lcore (mostly idle at the prompt), the rest forward. */
  lcores: number[];
  /** A private prefix, so runs never share DPDK runtime state. */
  filePrefix: string;
  /** vhost-user server sockets, one port each; testpmd forwards port 0 <-> port 1. */
  sockets: string[];
  /** hugetlbfs mount to use; without it testpmd runs on ordinary memory (--no-huge). */
  hugepages?: string;
  memoryMiB: number;
  mbufs: number;
  /** Queue pairs per port (the guests' NIC queue pairs); 1 when absent. */
  queues?: number;
}

export function testpmdArgv(o: TestpmdOptions): string[] {
  const eal = ['-l', o.lcores.join(','), '--file-prefix', o.filePrefix, '--no-pci', '--no-telemetry', '-m', String(o.memoryMiB)];
  // --in-memory keeps hugepage files unlinked (nothing left on hugetlbfs); without hugepages the
  // legacy memory mode that --no-huge implies cannot be combined with it, so --no-shconf keeps the
  // runtime directory free of shared config files instead.
  eal.push(...(o.hugepages ? ['--in-memory', '--huge-dir', o.hugepages] : ['--no-huge', '--no-shconf']));
  const queues = o.queues ?? 1;
  o.sockets.forEach((s, i) => eal.push('--vdev', `net_vhost${i},iface=${s},queues=${queues}`));
  const app = ['-i', '--forward-mode=io', '--auto-start', `--total-num-mbufs=${o.mbufs}`, `--nb-cores=${Math.max(1, o.lcores.length - 1)}`];
  if (queues > 1) app.push(`--rxq=${queues}`, `--txq=${queues}`);
  return ['dpdk-testpmd', ...eal, '--', ...app];
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
}

/** Parse the blocks `show port stats all` prints, one per port. */
export function parsePortStats(text: string): PortStats[] {
  const blocks = text.split(/#+ NIC statistics for port (\d+)\s+#+/).slice(1);
  if (blocks.length === 0) throw new ParseError('testpmd port statistics', 'no "NIC statistics for port" block', text);
  const out: PortStats[] = [];
  for (let i = 0; i < blocks.length; i += 2) {
    const port = Number(blocks[i]);
    const body = blocks[i + 1] ?? '';
    const field = (name: string) => {
      const m = new RegExp(`${name}:\\s*(\\d+)`).exec(body);
      if (!m) throw new ParseError('testpmd port statistics', `port ${port}: no ${name}`, text);
      return Number(m[1]);
    };
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
    });
  }
  return out;
}

const PROMPT = 'testpmd> ';

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

  /** Start testpmd, wait for its prompt and its sockets; registers a clean `quit` with the scope. */
  static async start(scope: Scope, o: TestpmdOptions, logFile: string, signal?: AbortSignal): Promise<Testpmd> {
    // testpmd writes through stdio; on a pipe that would be block-buffered and the prompt would
    // never arrive, so stdbuf makes it unbuffered.
    const daemon = startDaemon(scope, { name: 'dpdk-testpmd', argv: ['stdbuf', '-o0', '-e0', ...testpmdArgv(o)], logFile, interactive: true, termTimeoutMs: 5000 });
    const t = new Testpmd(daemon, o);
    scope.defer('remove testpmd sockets and runtime files', () => t.#removeFiles());
    scope.defer('quit testpmd', () => t.quit());
    await t.#waitFor(PROMPT, 60_000, signal);
    for (const s of o.sockets) {
      const deadline = Date.now() + 10_000;
      while (!existsSync(s)) {
        if (Date.now() > deadline) throw new TimeoutError(`testpmd socket ${s}`, 10_000);
        await sleep(50, signal);
      }
    }
    return t;
  }

  get pid(): number {
    return this.daemon.pid;
  }

  /** Run one prompt command and return what it printed before the next prompt. */
  command(cmd: string, timeoutMs = 10_000): Promise<string> {
    const run = async () => {
      this.#output = '';
      this.daemon.write(cmd + '\n');
      const text = await this.#waitFor(PROMPT, timeoutMs);
      return text;
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

  #removeFiles(): void {
    for (const s of this.options.sockets) rmSync(s, { force: true });
    rmSync(`/var/run/dpdk/${this.options.filePrefix}`, { recursive: true, force: true });
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
      if (!this.daemon.running) throw new Error(`dpdk-testpmd exited (${JSON.stringify(this.daemon.exitInfo)}); see its log`);
      if (Date.now() > deadline) throw new TimeoutError(`dpdk-testpmd prompt`, timeoutMs);
      await sleep(20, signal);
    }
  }
}

/** testpmd's own port counters over a window, as samples (source `testpmd`). */
export class TestpmdCounters implements Collector {
  readonly id = 'testpmd-ports';
  readonly source = 'testpmd';
  #testpmd: Testpmd;
  #before: PortStats[] | undefined;

  constructor(testpmd: Testpmd) {
    this.#testpmd = testpmd;
  }

  async availability(): Promise<Availability> {
    return this.#testpmd.daemon.running ? { available: true } : { available: false, reason: 'dpdk-testpmd is not running' };
  }

  async start(): Promise<void> {
    this.#before = await this.#testpmd.portStats();
  }

  async stop(): Promise<Sample[]> {
    const after = await this.#testpmd.portStats();
    const before = this.#before ?? [];
    this.#before = undefined;
    return countersToSamples(before, after);
  }
}

/**
 * Deltas of every port's counters between two snapshots. testpmd's io mode forwards every packet
 * received on one port to its peer (0 <-> 1), and the vhost PMD does not count a packet it could
 * not place in a full guest ring as a port error, so drops on the way out of port p are
 * rx(peer) - tx(p) over the window (clamped at 0 for packets in flight at the edges); drops on the
 * way in are the port's missed, no-mbuf and error counts.
 */
export function countersToSamples(before: readonly PortStats[], after: readonly PortStats[]): Sample[] {
  const delta = (port: number, k: keyof PortStats) => {
    const a = after.find((x) => x.port === port);
    const b = before.find((x) => x.port === port);
    return a ? a[k] - (b?.[k] ?? 0) : 0;
  };
  const samples: Sample[] = [];
  for (const { port: p } of after) {
    const peer = p ^ 1;
    const port = String(p);
    const s = (metric: 'switchPackets' | 'switchBytes' | 'switchDrops', value: number, unit: 'count' | 'bytes', direction: string) =>
      samples.push({ metric, value, unit, source: 'testpmd', dims: { port, direction } });
    s('switchPackets', delta(p, 'rxPackets'), 'count', 'rx');
    s('switchPackets', delta(p, 'txPackets'), 'count', 'tx');
    s('switchBytes', delta(p, 'rxBytes'), 'bytes', 'rx');
    s('switchBytes', delta(p, 'txBytes'), 'bytes', 'tx');
    s('switchDrops', delta(p, 'rxMissed') + delta(p, 'rxNombuf') + delta(p, 'rxErrors'), 'count', 'rx');
    if (after.some((x) => x.port === peer)) s('switchDrops', Math.max(0, delta(peer, 'rxPackets') - delta(p, 'txPackets')) + delta(p, 'txErrors'), 'count', 'tx');
  }
  return samples;
}
