// Path `vhost-user-testpmd`: the queues of each guest's virtio-net-pci are served by DPDK testpmd
// through a vhost-user socket; testpmd busy-polls and forwards port 0 <-> port 1 (io mode). QEMU is off the
// data path; the switch burns a core polling. Its port counters are this path's own collector.

import { readdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import type { Availability, Collector } from '../collectors/types.ts';
import { installFix } from '../host/facts.ts';
import type { Sample } from '../samples.ts';
import { dpdkRuntimeDir, switchApp, Testpmd, TESTPMD, TESTPMD_PACKAGE, type PortStats } from './testpmd.ts';
import type { NicBackend } from './types.ts';
import { MSIX_NOTE, needsMsixWorkaround, SWITCH_PORT_METRICS, vhostUserNic, waitForSockets } from './vhost-user-common.ts';

const socketOf = (runtimeDir: string, index: number) => join(runtimeDir, `vhost-user-${index}.sock`);
/** DPDK's file prefix of the run's testpmd; a variant's carries its name, since a path and its variants are up together. */
const filePrefix = (tag: string, variant?: string) => (variant ? `iopath-${tag}-${variant}` : `iopath-${tag}`);
/** The sample source of testpmd's own counters. */
const SOURCE = 'testpmd';
const ROLE = 'testpmd';
/** testpmd's memory (-m): without hugepages it is ordinary memory of the host. */
const TESTPMD_MEMORY_MIB = 1024;

export const vhostUserTestpmd: NicBackend = {
  id: 'vhost-user-testpmd',
  title: 'vhost-user (DPDK testpmd)',
  summary: 'virtio-net-pci served over vhost-user by DPDK testpmd (busy-polling io forwarding between two vhost ports).',
  presentation: { order: 50, color: '#E69F00', sources: { [SOURCE]: 'testpmd' } },
  debianPackages: [TESTPMD_PACKAGE],
  // testpmd has no --version that exits before EAL start-up; the package database knows it.
  hostProbes: { tools: [{ program: TESTPMD, versionArgv: ['dpkg-query', '-W', '-f=${Version}', TESTPMD_PACKAGE], pattern: /(\S+)/ }] },
  // DPDK pins its lcores itself: placement hands it a core for the main lcore and one to forward on (-l).
  helpers: [
    {
      role: ROLE,
      what: 'DPDK testpmd, busy-polling its vhost ports',
      threadKinds: [{ comm: /^(lcore-worker|rte-worker|lcore)-?\d+$/, kind: 'lcore' }],
      cpu: { busyPoll: 'always', pinnedBy: 'itself', lightThreads: true },
    },
  ],
  helperMemoryMiB: TESTPMD_MEMORY_MIB,
  metrics: SWITCH_PORT_METRICS,
  requirements: (host) => {
    const tool = host.tools[TESTPMD];
    return [
      { what: TESTPMD, ok: tool !== undefined, detail: tool ? `${tool.version}` : 'not installed', reason: `${TESTPMD} is not installed`, fix: installFix(TESTPMD_PACKAGE) },
      { what: 'two CPUs for testpmd lcores', ok: host.cpuCount >= 2, detail: `${host.cpuCount} CPUs`, reason: `testpmd needs a main and a forwarding lcore; this host has ${host.cpuCount} CPU` },
      {
        what: 'hugepages',
        ok: host.hugepagesMount !== undefined,
        optional: true,
        detail: host.hugepagesMount ? `hugetlbfs at ${host.hugepagesMount}` : 'none reserved: testpmd runs with --no-huge (slower, still correct)',
        fix: 'echo 1024 > /proc/sys/vm/nr_hugepages && mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages',
      },
    ];
  },
  guestArgs: (g, env) => vhostUserNic(g, socketOf(env.runtimeDir, g.index), env),
  async setUp(scope, ctx) {
    const notes: string[] = [];
    const sockets = ctx.guests.map((g) => socketOf(ctx.runtimeDir, g.index));
    const placed = ctx.cores?.[ROLE];
    // Without placement: CPUs 0 and 1, as DPDK users commonly start it.
    const lcores = placed ? [placed.light, ...placed.busy] : cpus().slice(0, 2).map((_, i) => i);
    const queues = ctx.queues ?? 1;
    scope.defer('remove testpmd sockets', () => {
      for (const s of sockets) rmSync(s, { force: true });
    });
    const testpmd = await Testpmd.start(
      scope,
      {
        lcores,
        filePrefix: filePrefix(ctx.tag, ctx.variant),
        vdevs: sockets.map((s, i) => `net_vhost${i},iface=${s},queues=${queues}`),
        ...(ctx.host.hugepagesMount ? { hugepages: ctx.host.hugepagesMount } : {}),
        memoryMiB: TESTPMD_MEMORY_MIB,
        // Without enough mbufs a second instance cannot allocate its pool on ordinary memory.
        app: switchApp({ mbufs: 16384, forwardingCores: lcores.length - 1, queues, ...(ctx.mtu !== undefined ? { mtu: ctx.mtu } : {}) }),
      },
      { logFile: join(ctx.resultsDir, 'testpmd.log'), signal: ctx.signal },
    );
    await waitForSockets(TESTPMD, testpmd.daemon, sockets, 10_000, ctx.signal);
    notes.push(`testpmd forwards with ${lcores.length - 1} busy-polling lcore(s) on CPU ${lcores.slice(1).join(',')}, ${ctx.host.hugepagesMount ? `hugepages from ${ctx.host.hugepagesMount}` : 'without hugepages (--no-huge)'}`);
    if (needsMsixWorkaround(ctx)) notes.push(MSIX_NOTE);
    const counters = new TestpmdCounters(testpmd);
    return {
      notes,
      // testpmd's `stop` ends the forwarding loops (its lcores then wait instead of polling) and
      // `start` begins them again; the ports and the guests' connections stay as they are.
      quiesce: async () => void (await testpmd.command('stop')),
      resume: async () => void (await testpmd.command('start')),
      processes: () => [{ role: ROLE, pid: testpmd.pid }],
      collectors: () => [counters],
    };
  },
  recover: (dead) => {
    // The path's own instance and those of its variants (`iopath-<tag>-<variant>`).
    const own = dpdkRuntimeDir(filePrefix(dead.tag));
    const parent = dirname(own);
    const dirs = [own, ...listDir(parent).filter((n) => n.startsWith(`${filePrefix(dead.tag)}-`)).map((n) => join(parent, n))];
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    return dirs;
  },
};

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** testpmd's own port counters over a window, as samples (source `testpmd`). */
export class TestpmdCounters implements Collector {
  readonly id = 'testpmd-ports';
  readonly source = SOURCE;
  #testpmd: Testpmd;
  #before: PortStats[] | undefined;

  constructor(testpmd: Testpmd) {
    this.#testpmd = testpmd;
  }

  async availability(): Promise<Availability> {
    return this.#testpmd.running ? { available: true } : { available: false, reason: 'dpdk-testpmd is not running' };
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
  const delta = (port: number, k: Exclude<keyof PortStats, 'rxPps'>) => {
    const a = after.find((x) => x.port === port);
    const b = before.find((x) => x.port === port);
    return a ? a[k] - (b?.[k] ?? 0) : 0;
  };
  const samples: Sample[] = [];
  for (const { port: p } of after) {
    const peer = p ^ 1;
    const port = String(p);
    const s = (metric: 'switchPackets' | 'switchBytes' | 'switchDrops', value: number, unit: 'count' | 'bytes', direction: string) =>
      samples.push({ metric, value, unit, source: SOURCE, dims: { port, direction } });
    s('switchPackets', delta(p, 'rxPackets'), 'count', 'rx');
    s('switchPackets', delta(p, 'txPackets'), 'count', 'tx');
    s('switchBytes', delta(p, 'rxBytes'), 'bytes', 'rx');
    s('switchBytes', delta(p, 'txBytes'), 'bytes', 'tx');
    s('switchDrops', delta(p, 'rxMissed') + delta(p, 'rxNombuf') + delta(p, 'rxErrors'), 'count', 'rx');
    if (after.some((x) => x.port === peer)) s('switchDrops', Math.max(0, delta(peer, 'rxPackets') - delta(p, 'txPackets')) + delta(p, 'txErrors'), 'count', 'tx');
  }
  return samples;
}
