// A switch port: the net device behind one vhost-user socket. It owns the two virtqueues of queue
// pair 0 (0 = receiveq, the switch writes; 1 = transmitq, the switch reads), the negotiated
// features, and the counters. Counters never reset across reconnections and are named from the
// switch's side, like testpmd's port stats: rx = frames the switch received from this front-end
// (the guest transmitted them), tx = frames the switch delivered to it.

import type { GuestMemory } from './memory.ts';
import { NetFeatures } from './net-header.ts';
import { SplitQueue } from './virtqueue.ts';

export type PortState = 'listening' | 'connected' | 'broken';

/** Per-port counters exposed to other processes (see stats.ts). */
export interface PortCounters {
  rxPackets: number;
  rxBytes: number;
  /** Frames from this front-end that were dropped (bad header, bad address, nowhere to go). */
  rxDrops: number;
  txPackets: number;
  txBytes: number;
  /** Frames for this front-end that were dropped (no receive buffers, too large, offload impossible). */
  txDrops: number;
  /** Kick eventfd wake-ups (both rings). */
  kicks: number;
  /** Call eventfd writes (both rings), and how many of them failed. */
  calls: number;
  callFailures: number;
  /** TSO frames cut in software, and checksums finished in software, for this port as receiver. */
  softwareSegmented: number;
  softwareChecksums: number;
  connections: number;
  brokenCount: number;
}

export function zeroCounters(): PortCounters {
  return {
    rxPackets: 0,
    rxBytes: 0,
    rxDrops: 0,
    txPackets: 0,
    txBytes: 0,
    txDrops: 0,
    kicks: 0,
    calls: 0,
    callFailures: 0,
    softwareSegmented: 0,
    softwareChecksums: 0,
    connections: 0,
    brokenCount: 0,
  };
}

export class Port {
  readonly id: number;
  readonly socketPath: string;
  readonly rx = new SplitQueue(0);
  readonly tx = new SplitQueue(1);
  features = new NetFeatures();
  featureBits = 0n;
  mem: GuestMemory | null = null;
  state: PortState = 'listening';
  brokenReason: string | undefined;
  readonly c: PortCounters = zeroCounters();
  /** Since when (ms) this port's receive ring has had no room for a frame, or -1. */
  stalledSince = -1;
  /** The port whose receive ring this port's held TX head waits for, or -1. */
  heldOn = -1;
  /** Per-port caches of the last learned source and looked-up destination (hot path). */
  lastSrcMac = -1;
  lastSrcSeen = 0;
  lastDstMac = -1;
  lastDstPort = -1;
  lastDstGen = -1;

  constructor(id: number, socketPath: string) {
    this.id = id;
    this.socketPath = socketPath;
  }

  /** Both rings can carry traffic. */
  get up(): boolean {
    return this.rx.ready && this.tx.ready;
  }

  setFeatures(bits: bigint): void {
    this.featureBits = bits;
    this.features = NetFeatures.from(bits);
    for (const q of [this.rx, this.tx]) {
      q.eventIdx = this.features.eventIdx;
      q.indirect = this.features.indirect;
      q.inOrder = this.features.inOrder;
    }
  }

  /** Drop all connection state (disconnect); counters stay. */
  reset(): void {
    this.rx.unplace();
    this.tx.unplace();
    this.rx.callFd = this.tx.callFd = -1;
    this.setFeatures(0n);
    this.mem = null;
    this.stalledSince = -1;
    this.heldOn = -1;
    this.lastSrcMac = this.lastDstMac = -1;
  }

  snapshot(): PortCounters {
    const c = { ...this.c };
    c.kicks += this.rx.kicks + this.tx.kicks;
    c.calls += this.rx.calls + this.tx.calls;
    c.callFailures += this.rx.callFailures + this.tx.callFailures;
    return c;
  }
}
