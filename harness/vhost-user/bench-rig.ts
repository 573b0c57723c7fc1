// One measurement of `npm run bench:switch`: a switch under test (ours, or testpmd's vhost PMD),
// DPDK testpmd with two virtio-user ports as the front-end, frames kept circulating through the
// switch, and the front-end's received frames counted over a window, with the switch's CPU time.
//
// Modes (both io forwarding in the front-end, started with `start tx_first 32`):
// - paired: the front-end forwards port 0 <-> port 1, so a frame goes A -> switch -> B -> front-end
//   -> A again; each frame crosses the switch in one direction, from a learned source to a learned
//   destination (unicast).
// - loopback: the front-end forwards every frame back out of the port it arrived on
//   (--port-topology=loop), so frames bounce A -> switch -> B -> switch -> A. A learning switch
//   sees every frame enter from both sides, so the frames are addressed to a MAC no port ever sends
//   from and both front-end ports share one source MAC: unknown unicast, which a two-port switch
//   forwards to the other port (testpmd's io forwarding does not look at addresses at all).
// Cores: the switch under test runs on CPU 0 (ours pinned with taskset, testpmd's forwarding lcore
// 0); the front-end forwards on CPU 1. With queue pairs > 1, each side still forwards on one core,
// and the front-end spreads flows over its queues (txonly multi-flow, varying source addresses).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { Testpmd } from '../backends/testpmd.ts';
import { TimeoutError } from '../errors.ts';
import { startDaemon, type Daemon } from '../host/proc.ts';
import { Scope } from '../host/scope.ts';
import { readSwitchCounters } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));

export type Kind = 'ts' | 'testpmd';
export type Mode = 'paired' | 'loopback';

export interface RigOptions {
  kind: Kind;
  mode: Mode;
  size: number;
  queues: number;
  seconds: number;
  queueSize: number;
  /** Extra arguments for our switch (after the defaults, which include --busy-poll). */
  switchArgs: string[];
  /** Write a V8 CPU profile of our switch here. */
  profileDir?: string;
  /** Record `perf` (cpu-clock, with V8's JIT map) of the switch under test into this directory. */
  perfDir?: string;
}

export interface Measurement {
  kind: Kind;
  mode: Mode;
  size: number;
  queues: number;
  /** Frames the front-end received per second (the switch forwarded them). */
  pps: number;
  /** CPU time of the switch process per second of the window (1.0 = one core). */
  cpu: number;
  /** Receive queues of our switch that delivered frames during the window (MQ check); -1 for testpmd. */
  busyQueues: number;
  note: string;
}

const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';
/** Loopback: the shared source MAC of both front-end ports, and a destination nobody sends from. */
const MAC_LOOP = '02:00:00:00:00:0c';
const MAC_NOBODY = '02:00:00:00:00:0f';

export async function measure(o: RigOptions): Promise<Measurement> {
  const dir = mkdtempSync(join(tmpdir(), 'iopath-bench-'));
  const a = join(dir, 'a.sock');
  const b = join(dir, 'b.sock');
  const stats = join(dir, 'stats.json');
  const tag = `${process.pid}-${o.kind}-${o.mode}-${o.size}-${o.queues}`;
  // Everything started here is stopped in reverse order (perf, front-end, switch) when the scope
  // closes, and DPDK's runtime files are removed.
  const scope = new Scope(`switch bench ${tag}`);
  scope.defer('remove the bench sockets', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const sw = o.kind === 'ts' ? startOurs(scope, a, b, stats, o) : await startTestpmdSwitch(scope, a, b, `sw-${tag}`, o.queues);
    await waitForFiles([a, b], 15000);
    const loop = o.mode === 'loopback';
    // Several flows for several queues: the first burst (txonly's) then varies the source address.
    const qs = o.queues > 1 ? [`--rxq=${o.queues}`, `--txq=${o.queues}`, '--txonly-multi-flow'] : [];
    const vdev = (i: number, path: string, mac: string) => `net_virtio_user${i},path=${path},queue_size=${o.queueSize},queues=${o.queues},mac=${mac}`;
    const fe = await Testpmd.start(
      scope,
      {
        filePrefix: `fe-${tag}`,
        lcores: [0, 1],
        memoryMiB: 1024,
        vdevs: [vdev(0, a, loop ? MAC_LOOP : MAC_A), vdev(1, b, loop ? MAC_LOOP : MAC_B)],
        app: [
          '--total-num-mbufs=32768', '--forward-mode=io', '--nb-cores=1', ...qs,
          ...(loop ? ['--port-topology=loop', `--eth-peer=0,${MAC_NOBODY}`, `--eth-peer=1,${MAC_NOBODY}`] : [`--eth-peer=0,${MAC_B}`, `--eth-peer=1,${MAC_A}`]),
          ...(o.size > 2000 ? ['--mbuf-size=10240'] : []),
        ],
      },
      { promptTimeoutMs: 30000 },
    );
    await fe.command(`set txpkts ${o.size}`);
    await fe.command('start tx_first 32');
    await delay(2000); // warm-up: learning, ring fill, JIT
    const before = await fe.portStats();
    const c0 = o.kind === 'ts' ? await readSwitchCounters(stats, { pid: sw.pid }) : undefined;
    const perf = o.perfDir === undefined ? undefined : startPerf(scope, sw.pid, join(o.perfDir, `perf-${o.kind}-${o.mode}-${o.size}-q${o.queues}.data`));
    const cpu0 = cpuSeconds(sw.pid);
    const t0 = performance.now();
    await delay(o.seconds * 1000);
    const after = await fe.portStats();
    const dt = (performance.now() - t0) / 1000;
    const cpu = (cpuSeconds(sw.pid) - cpu0) / dt;
    await perf?.stop();
    const pps = (sum(after.map((p) => p.rxPackets)) - sum(before.map((p) => p.rxPackets))) / dt;
    let note = '';
    let busyQueues = -1;
    if (c0 !== undefined) {
      const c1 = await readSwitchCounters(stats, { pid: sw.pid });
      const drops = c1.ports.reduce((s, p) => s + p.counters.txDrops + p.counters.rxDrops, 0);
      busyQueues = 0;
      for (const p of c1.ports) {
        const was = c0.ports.find((x) => x.id === p.id)?.queueFrames.rx ?? [];
        p.queueFrames.rx.forEach((n, i) => (busyQueues += n - (was[i] ?? 0) > 0 ? 1 : 0));
      }
      note = `switch drops ${drops}; receive queues carrying frames ${busyQueues}`;
    }
    const stopped = await fe.command('stop', 5000).catch(() => '');
    const feDrops = [...stopped.matchAll(/TX-dropped:\s+(\d+)/g)].map((m) => Number(m[1]));
    note += `${note ? '; ' : ''}front-end TX drops ${feDrops.length > 0 ? Math.max(...feDrops) : '?'}`;
    return { kind: o.kind, mode: o.mode, size: o.size, queues: o.queues, pps, cpu, busyQueues, note };
  } finally {
    await scope.close();
  }
}

/** Our switch, pinned to CPU 0, busy polling; SIGTERM makes it close its ports (and write a CPU profile). */
function startOurs(scope: Scope, a: string, b: string, stats: string, o: RigOptions): Daemon {
  const argv = [
    'taskset', '-c', '0', process.execPath,
    ...(o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : []),
    ...(o.perfDir ? ['--perf-basic-prof-only-functions'] : []),
    '--import', 'tsx', join(here, 'switch-main.ts'),
    '--socket', a, '--socket', b, '--stats', stats, '--queues', String(Math.max(1, o.queues)), '--busy-poll', ...o.switchArgs,
  ];
  return startDaemon(scope, { name: 'iopath switch (bench)', argv, termTimeoutMs: 5000 });
}

async function startTestpmdSwitch(scope: Scope, a: string, b: string, filePrefix: string, queues: number): Promise<Testpmd> {
  const qs = queues > 1 ? [`--rxq=${queues}`, `--txq=${queues}`] : [];
  const t = await Testpmd.start(
    scope,
    {
      filePrefix,
      lcores: [1, 0],
      memoryMiB: 1024,
      vdevs: [`net_vhost0,iface=${a},queues=${queues}`, `net_vhost1,iface=${b},queues=${queues}`],
      app: ['--total-num-mbufs=32768', '--forward-mode=io', '--nb-cores=1', ...qs],
    },
    { promptTimeoutMs: 30000 },
  );
  await t.command('start');
  return t;
}

/** perf record of one process (software cpu-clock: these machines have no hardware counters). */
function startPerf(scope: Scope, pid: number, out: string): Daemon {
  return startDaemon(scope, { name: 'perf record', argv: ['perf', 'record', '-q', '-e', 'cpu-clock', '-F', '2999', '-g', '-p', String(pid), '-o', out], termTimeoutMs: 5000 });
}

async function waitForFiles(paths: string[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!paths.every((p) => existsSync(p))) {
    if (Date.now() > deadline) throw new TimeoutError(`the wait for sockets ${paths.join(', ')}`, ms);
    await delay(50);
  }
}

/** CPU seconds (user + system) used so far by every thread of `pid`. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
