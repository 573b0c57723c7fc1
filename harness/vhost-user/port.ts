// A switch port: the net device behind one vhost-user socket. It owns the virtqueues of its queue
// pairs (vring 2i = receiveq i, the switch writes; 2i+1 = transmitq i, the switch reads), the
// negotiated features, and the counters. Counters never reset across reconnections and are named
// from the switch's side, like testpmd's port stats: rx = frames the switch received from this
// front-end (the guest transmitted them), tx = frames the switch delivered to it.
//
// Multi-queue: frames for this port are spread over its enabled receive queues by a hash of their
// flow (flow.ts), so one flow always lands on one queue and stays in order.

import type { GuestMemory } from './memory.ts';
import { FlowTable } from './flow.ts';
import { NetFeatures } from './net-header.ts';
import { SplitQueue } from './virtqueue.ts';

export type PortState = 'listening' | 'connected' | 'broken';

/** Per-port counters exposed to other processes (see stats.ts). */
export interface PortCounters {
  rxPackets: number;
  rxBytes: number;
  /** Frames from this front-end that were dropped (bad header, bad address, nowhere to go, ring disabled). */
  rxDrops: number;
  txPackets: number;
  txBytes: number;
  /** Frames for this front-end that were dropped (no receive buffers, too large, offload impossible). */
  txDrops: number;
  /** Kick eventfd wake-ups (all rings). */
  kicks: number;
  /** Call eventfd writes (all rings), and how many of them failed. */
  calls: number;
  callFailures: number;
  /** TSO frames cut in software and delivered whole, and checksums finished in software, for this port as receiver. */
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
  /** Queue pairs this port serves (the answer to GET_QUEUE_NUM). */
  readonly queuePairs: number;
  readonly rxq: SplitQueue[];
  readonly txq: SplitQueue[];
  /** Receive queues that can take frames now, and transmit queues to drain (refreshQueues()). */
  rxReady: SplitQueue[] = [];
  txLive: SplitQueue[] = [];
  /** Which of rxReady each flow to this port uses. */
  readonly flows = new FlowTable();
  features = new NetFeatures();
  featureBits = 0n;
  mem: GuestMemory | null = null;
  state: PortState = 'listening';
  brokenReason: string | undefined;
  readonly c: PortCounters = zeroCounters();
  /**
   * Per-port caches of the last source address learned and the last destination looked up (hot
   * path), as the 32- and 16-bit words the burst path reads from the frame: destination = bytes
   * 0-3 (dstA) and 4-5 (dstB), source = bytes 6-7 (srcA) and 8-11 (srcB), little-endian.
   */
  lastSrcA = -1;
  lastSrcB = -1;
  lastSrcSeen = 0;
  lastDstA = -1;
  lastDstB = -1;
  lastDstPort = -1;
  lastDstGen = -1;

  constructor(id: number, socketPath: string, queuePairs = 1) {
    this.id = id;
    this.socketPath = socketPath;
    this.queuePairs = queuePairs;
    this.rxq = Array.from({ length: queuePairs }, (_, i) => new SplitQueue(2 * i));
    this.txq = Array.from({ length: queuePairs }, (_, i) => new SplitQueue(2 * i + 1));
  }

  /** Receive and transmit queue of pair 0. */
  get rx(): SplitQueue {
    return this.rxq[0]!;
  }

  get tx(): SplitQueue {
    return this.txq[0]!;
  }

  /** The virtqueue of vring `index` (even: receive, odd: transmit). */
  queue(index: number): SplitQueue {
    return (index & 1) === 0 ? this.rxq[index >> 1]! : this.txq[index >> 1]!;
  }

  /** At least one receive queue can take frames. */
  get up(): boolean {
    return this.rxReady.length > 0;
  }

  /** Receive queues enabled right now (the negotiated queue count in use). */
  get activeQueuePairs(): number {
    let n = 0;
    for (let i = 0; i < this.queuePairs; i++) if (this.rxq[i]!.ready || this.txq[i]!.ready) n++;
    return n;
  }

  /** Rebuild rxReady and txLive after any ring changed state. */
  refreshQueues(): void {
    const n = this.rxReady.length;
    this.rxReady = this.rxq.filter((q) => q.ready);
    if (this.rxReady.length !== n) this.flows.clear();
    this.txLive = this.txq.filter((q) => q.ready || q.draining);
    for (const q of this.txq) if (q.heldOn !== null && !q.heldOn.ready) q.heldOn = null;
  }

  setFeatures(bits: bigint): void {
    this.featureBits = bits;
    this.features = NetFeatures.from(bits);
    for (const q of [...this.rxq, ...this.txq]) {
      q.eventIdx = this.features.eventIdx;
      q.indirect = this.features.indirect;
      q.inOrder = this.features.inOrder;
    }
  }

  /** Drop all connection state (disconnect); counters stay. */
  reset(): void {
    for (const q of [...this.rxq, ...this.txq]) {
      q.unplace();
      q.callFd = -1;
    }
    this.refreshQueues();
    this.setFeatures(0n);
    this.mem = null;
    this.lastSrcA = this.lastSrcB = this.lastDstA = this.lastDstB = -1;
    this.lastDstGen = -1;
  }

  snapshot(): PortCounters {
    const c = { ...this.c };
    for (const q of [...this.rxq, ...this.txq]) {
      c.kicks += q.kicks;
      c.calls += q.calls;
      c.callFailures += q.callFailures;
    }
    return c;
  }
}
