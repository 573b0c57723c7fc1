// How another process reads the switch's per-port counters at any moment.
//
// Mechanism (chosen for simplicity and zero coupling): the switch rewrites a small JSON file
// atomically (write a temporary file in the same directory, then rename) every `intervalMs`, on
// every connect/disconnect, at exit, and at once when it receives SIGUSR2. Each snapshot carries a
// sequence number and the switch's monotonic clock, so a reader computes rates between two snapshots
// from their own timestamps, never from its own clock. readSwitchCounters(file, { pid }) sends
// SIGUSR2 and waits for a newer snapshot, so "before" and "after" a window are fresh to within a
// few milliseconds. SIGUSR1 is not used: Node reserves it for starting the inspector.

import { ParseError, TimeoutError, ToolError } from '../errors.ts';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { featureNames } from './features.ts';
import type { Port, PortCounters, PortState } from './port.ts';

export interface PortStats {
  id: number;
  socket: string;
  state: PortState;
  /** Why the last connection was closed by the switch (protocol or ring violation), if it was. */
  brokenReason?: string;
  /** Negotiated virtio features of the current connection, hex, and their names. */
  features: string;
  featureNames: string;
  /** Queue pairs the port serves, and how many the front-end has enabled right now. */
  queuePairs: number;
  activeQueuePairs: number;
  /** Frames per queue pair since the switch started: delivered to each receive queue, taken from each transmit queue. */
  queueFrames: { rx: number[]; tx: number[] };
  counters: PortCounters;
}

export interface SwitchStats {
  format: 'iopath-switch-stats/1';
  pid: number;
  /** Increases with every snapshot written. */
  seq: number;
  /** Wall clock (ms since the epoch) and monotonic clock (ms, performance.now of the switch). */
  wallMs: number;
  monotonicMs: number;
  /** The data path polls without sleeping (--busy-poll). */
  busyPoll: boolean;
  ports: PortStats[];
}

export function snapshot(ports: readonly Port[], seq: number, busyPoll = false): SwitchStats {
  return {
    format: 'iopath-switch-stats/1',
    pid: process.pid,
    seq,
    wallMs: Date.now(),
    monotonicMs: performance.now(),
    busyPoll,
    ports: ports.map((p) => ({
      id: p.id,
      socket: p.socketPath,
      state: p.state,
      ...(p.brokenReason === undefined ? {} : { brokenReason: p.brokenReason }),
      features: `0x${p.featureBits.toString(16)}`,
      featureNames: featureNames(p.featureBits),
      queuePairs: p.queuePairs,
      activeQueuePairs: p.activeQueuePairs,
      queueFrames: { rx: p.rxq.map((q) => q.frames), tx: p.txq.map((q) => q.frames) },
      counters: p.snapshot(),
    })),
  };
}

/** Replace `file` atomically with the JSON of `stats`. */
export function writeStats(file: string, stats: SwitchStats): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(stats, null, 1)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

export function parseStats(text: string): SwitchStats {
  const v = JSON.parse(text) as SwitchStats;
  if (v === null || typeof v !== 'object' || v.format !== 'iopath-switch-stats/1' || !Array.isArray(v.ports)) {
    throw new ParseError('the switch counters file', 'not an iopath switch stats file', text.slice(0, 2000));
  }
  return v;
}

/**
 * Read the switch's counters. With `pid`, ask the switch for a fresh snapshot first (SIGUSR2) and
 * wait up to `timeoutMs` for it; without, return the latest periodic snapshot.
 */
export async function readSwitchCounters(statsFile: string, options: { pid?: number; timeoutMs?: number } = {}): Promise<SwitchStats> {
  const read = () => parseStats(readFileSync(statsFile, 'utf8'));
  if (options.pid === undefined) return read();
  let before = -1;
  try {
    before = read().seq;
  } catch {
    // no snapshot yet: any snapshot that appears is fresh
  }
  process.kill(options.pid, 'SIGUSR2');
  const deadline = Date.now() + (options.timeoutMs ?? 2000);
  for (;;) {
    try {
      const s = read();
      if (s.seq > before) return s;
    } catch {
      // the file may not exist yet
    }
    if (Date.now() > deadline) throw new TimeoutError(`the refresh of ${statsFile} by switch ${options.pid}`, options.timeoutMs ?? 2000);
    await delay(5);
  }
}

/** What changed on each port between two snapshots of the same switch (the harness's per-window view). */
export interface CounterWindow {
  /** Seconds between the snapshots, by the switch's own monotonic clock. */
  seconds: number;
  ports: { id: number; socket: string; delta: PortCounters }[];
}

/**
 * Per-port counter deltas between `before` and `after`. Throws if they come from different switch
 * processes (a restarted switch starts its counters again from zero).
 */
export function diffCounters(before: SwitchStats, after: SwitchStats): CounterWindow {
  if (before.pid !== after.pid) throw new ToolError(`the switch restarted between the snapshots (pid ${before.pid} -> ${after.pid})`);
  return {
    seconds: (after.monotonicMs - before.monotonicMs) / 1000,
    ports: after.ports.map((p) => {
      const b = before.ports.find((x) => x.id === p.id)?.counters;
      const delta = { ...p.counters };
      if (b) for (const k of Object.keys(delta) as (keyof PortCounters)[]) delta[k] -= b[k];
      return { id: p.id, socket: p.socket, delta };
    }),
  };
}
