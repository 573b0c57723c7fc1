// The switch: N ports, one listening vhost-user socket each (front-ends connect as clients, one at a
// time per socket), one Session per connection, one Forwarder for the data path, and the stats
// file. It owns every resource it creates and releases all of them in close().

import { UsageError } from '../errors.ts';
import { DEFAULT_FEATURES, DEFAULT_QUEUE_PAIRS, featureNames, offeredFeatures } from './features.ts';
import { Forwarder, type ForwarderOptions } from './forwarder.ts';
import { closeQuietly, native } from './native.ts';
import { Port } from './port.ts';
import { Session } from './session.ts';
import { snapshot, writeStats, type SwitchStats } from './stats.ts';
import { Listener } from './transport.ts';

export interface SwitchOptions extends ForwarderOptions {
  sockets: readonly string[];
  statsFile?: string;
  /** Rewrite the stats file this often (ms); 0 disables the periodic write. Default 1000. */
  statsIntervalMs?: number;
  /** Virtio features to offer on every port (default: DEFAULT_FEATURES, plus MQ with several pairs). */
  features?: bigint;
  /** Queue pairs each port serves (GET_QUEUE_NUM); default DEFAULT_QUEUE_PAIRS. */
  queuePairs?: number;
  verbose?: boolean;
  log?: (line: string) => void;
}

export class VhostSwitch {
  readonly ports: Port[];
  readonly forwarder: Forwarder;
  #opts: SwitchOptions;
  #log: (line: string) => void;
  #listeners: Listener[] = [];
  #sessions: (Session | undefined)[];
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly features: bigint;

  private constructor(opts: SwitchOptions) {
    this.#opts = opts;
    this.#log = opts.log ?? (() => undefined);
    const pairs = opts.queuePairs ?? DEFAULT_QUEUE_PAIRS;
    this.features = offeredFeatures(pairs, opts.features ?? DEFAULT_FEATURES);
    this.ports = opts.sockets.map((path, i) => new Port(i, path, pairs));
    this.#sessions = this.ports.map(() => undefined);
    this.forwarder = new Forwarder(this.ports, opts);
    this.forwarder.onBroken = (port, reason) => this.#sessions[port.id]?.fail(reason);
  }

  /** Create the sockets and start serving. Throws (after releasing what it made) if a socket cannot be created. */
  static async start(opts: SwitchOptions): Promise<VhostSwitch> {
    native(); // fail early, with the build command, if the addon is missing
    if (opts.sockets.length < 1) throw new UsageError('the switch needs at least one --socket');
    if (new Set(opts.sockets).size !== opts.sockets.length) throw new UsageError('the same socket path is given twice');
    const sw = new VhostSwitch(opts);
    try {
      for (const port of sw.ports) {
        sw.#listeners.push(await Listener.open(port.socketPath, (fd) => sw.#accept(port, fd)));
        sw.#log(`port ${port.id}: listening on ${port.socketPath}`);
      }
    } catch (err) {
      sw.close();
      throw err;
    }
    sw.#log(`offering features 0x${sw.features.toString(16)}: ${featureNames(sw.features)}; ${sw.ports[0]!.queuePairs} queue pair(s) per port`);
    if (sw.forwarder.busyPoll) sw.#log('busy polling: the data path never sleeps');
    const every = opts.statsIntervalMs ?? 1000;
    if (opts.statsFile !== undefined && every > 0) {
      sw.#timer = setInterval(() => sw.writeStats(), every);
      sw.#timer.unref();
    }
    sw.writeStats();
    return sw;
  }

  #accept(port: Port, fd: number): void {
    if (this.#closed || this.#sessions[port.id] !== undefined) {
      // One front-end per socket (§1.8): a second client is turned away at once.
      this.#log(`port ${port.id}: refused a second connection`);
      closeQuietly(fd);
      return;
    }
    port.state = 'connected';
    port.brokenReason = undefined;
    port.c.connections++;
    this.#log(`port ${port.id}: front-end connected`);
    let session: Session;
    try {
      session = new Session(
        port,
        fd,
        {
          features: this.features,
          log: this.#log,
          verbose: this.#opts.verbose ?? false,
          wake: this.forwarder.wake,
          kicked: (q) => this.forwarder.kicked(port, q),
        },
        (reason) => this.#ended(port, reason),
      );
    } catch (err) {
      port.state = 'listening';
      this.#log(`port ${port.id}: could not serve the connection: ${(err as Error).message}`);
      throw err; // the listener closes the fd
    }
    this.#sessions[port.id] = session;
    this.writeStats();
  }

  #ended(port: Port, reason: string | undefined): void {
    this.#sessions[port.id] = undefined;
    this.forwarder.macs.forgetPort(port.id);
    if (reason !== undefined && !this.#closed) {
      port.state = 'broken';
      port.brokenReason = reason;
      port.c.brokenCount++;
      this.#log(`port ${port.id}: connection closed, port broken: ${reason}`);
    } else {
      port.state = 'listening';
      this.#log(`port ${port.id}: front-end disconnected`);
    }
    if (!this.#closed) this.writeStats();
  }

  stats(): SwitchStats {
    return snapshot(this.ports, ++this.#seq, this.forwarder.busyPoll);
  }

  /** Poll without sleeping, or sleep on kicks (hybrid); takes effect at the next pass. */
  setBusyPoll(on: boolean): void {
    if (this.forwarder.busyPoll === on) return;
    this.forwarder.busyPoll = on;
    this.#log(on ? 'busy polling again' : 'busy polling paused: sleeping on kicks');
    this.forwarder.wake();
  }

  writeStats(): void {
    if (this.#opts.statsFile === undefined) return;
    try {
      writeStats(this.#opts.statsFile, this.stats());
    } catch (err) {
      this.#log(`could not write ${this.#opts.statsFile}: ${(err as Error).message}`);
    }
  }

  /** Stop everything: data path, sessions (unmap, close fds), sockets (files removed). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.forwarder.stop();
    clearInterval(this.#timer);
    this.writeStats();
    this.#closed = true;
    for (const s of this.#sessions) s?.close();
    for (const l of this.#listeners) l.close();
    this.#listeners = [];
  }
}
