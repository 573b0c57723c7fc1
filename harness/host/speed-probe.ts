// How fast the host is right now, measured in a few milliseconds just before and just after each
// measured window: a pointer chase through 16 MiB (one cache miss per step: memory latency and
// what other tenants leave of the shared cache) and a register-only loop (the core's own speed). On
// a shared machine both change with what the neighbours do, which the guests' figures follow and
// nothing inside the machine otherwise sees. CPU time (not wall time) is taken, so being preempted
// by our own guests does not read as a slow host; the best of a few tries is kept.

import { readFileSync } from 'node:fs';

export interface HostProbeReading {
  /** Nanoseconds of CPU time per step of the pointer chase. */
  memNs: number;
  /** Nanoseconds of CPU time per 1,000 iterations of the register-only loop. */
  spinNs: number;
  /** The CPU iopath ran on when it probed, where /proc says. */
  cpu?: number;
}

const CHASE_ENTRIES = 4 * 1024 * 1024; // 16 MiB of Int32
const CHASE_STEPS = 100_000;
const SPIN_ITERATIONS = 1_000_000;
const TRIES = 2;

let chain: Int32Array | undefined;

/**
 * One random cycle through every entry (Sattolo's shuffle of the identity yields a single cycle), so
 * that each step lands somewhere the last one gave no hint of. Built once, on the first probe.
 */
function buildChain(): Int32Array {
  const next = new Int32Array(CHASE_ENTRIES);
  for (let i = 0; i < CHASE_ENTRIES; i++) next[i] = i;
  let seed = 0x9e3779b9;
  for (let i = CHASE_ENTRIES - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % i;
    const t = next[i]!;
    next[i] = next[j]!;
    next[j] = t;
  }
  return next;
}

function chase(next: Int32Array): number {
  let p = 0;
  for (let i = 0; i < CHASE_STEPS; i++) p = next[p]!;
  return p;
}

function spin(): number {
  let x = 0x2545f491;
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x;
}

/** Least CPU time (ns) of `tries` calls of `f`. */
function bestCpuNs(f: () => number, tries: number): number {
  let best = Infinity;
  let sink = 0;
  for (let k = 0; k < tries; k++) {
    const t0 = process.cpuUsage();
    sink ^= f();
    const d = process.cpuUsage(t0);
    best = Math.min(best, (d.user + d.system) * 1000);
  }
  // Keep the loops' results alive so the compiler cannot drop them.
  if (sink === 0x7fffffff) process.emitWarning('speed probe: unlikely value');
  return best;
}

function currentCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = Number(f[36]); // field 39, "processor"
    return Number.isInteger(cpu) ? cpu : undefined;
  } catch {
    return undefined;
  }
}

/** Probe the host once (about 20-40 ms of CPU on a machine of this kind). */
export function probeHostSpeed(): HostProbeReading {
  if (!chain) {
    chain = buildChain();
    // A first pass so that the loops are compiled before anything is timed.
    chase(chain);
    spin();
  }
  const next = chain;
  const memNs = bestCpuNs(() => chase(next), TRIES) / CHASE_STEPS;
  const spinNs = (bestCpuNs(spin, TRIES) / SPIN_ITERATIONS) * 1000;
  const cpu = currentCpu();
  return { memNs: round(memNs), spinNs: round(spinNs), ...(cpu === undefined ? {} : { cpu }) };
}

const round = (x: number) => Math.round(x * 100) / 100;
