// Path `vhost-user-ts`: the queues of each guest's virtio-net-pci are served over vhost-user by our
// own switch in TypeScript (harness/vhost-user), run as its own process (`iopath switch`). Same topology as
// the testpmd path, so the two compare directly: event-driven JavaScript against busy-polling DPDK.

import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Availability, Collector } from '../collectors/types.ts';
import { startDaemon, type Daemon } from '../host/proc.ts';
import { readLabMarker } from '../lab/marker.ts';
import { projectRoot } from '../paths.ts';
import type { Sample } from '../samples.ts';
import { diffCounters, readSwitchCounters, type SwitchStats } from '../vhost-user/stats.ts';
import type { NicBackend } from './types.ts';
import { MSIX_NOTE, needsMsixWorkaround, SWITCH_PORT_METRICS, vhostUserNic, waitForSockets } from './vhost-user-common.ts';

const socketOf = (runtimeDir: string, index: number) => join(runtimeDir, `switch-${index}.sock`);
const ADDON = join(projectRoot, 'harness', 'vhost-user', 'native', 'build', 'Release', 'vhost_user_native.node');
const NAME = 'vhost-user-ts switch';
/** The sample source of the switch's own counters. */
const SOURCE = 'vhost-user-ts';
const ROLE = 'switch';

export const vhostUserTs: NicBackend = {
  id: 'vhost-user-ts',
  title: 'vhost-user (iopath TypeScript switch)',
  summary: 'virtio-net-pci served over vhost-user by iopath\'s own event-driven L2 switch in TypeScript.',
  // Okabe–Ito reddish purple.
  presentation: { order: 40, color: '#CC79A7', sources: { [SOURCE]: SOURCE } },
  // The switch and its native addon are built by `npm ci`; nothing from Debian beyond the build tools.
  debianPackages: [],
  // One data thread (Node's main thread): CPU placement pins the whole process to one core.
  helpers: [{ role: ROLE, what: 'iopath\'s vhost-user switch, one Node.js process', cpu: { busyPoll: 'when-switchBusyPoll', pinnedBy: 'iopath' } }],
  helperMemoryMiB: 150,
  metrics: [...SWITCH_PORT_METRICS, 'switchKicks', 'switchCalls', 'switchQueuePackets'],
  requirements: () => {
    const built = existsSync(ADDON);
    return [{ what: 'the switch\'s native addon', ok: built, detail: built ? 'built' : 'not built', reason: 'the vhost-user switch\'s native addon is not built', fix: `(cd ${projectRoot} && npm run build:native)` }];
  },
  guestArgs: (g, env) => vhostUserNic(g, socketOf(env.runtimeDir, g.index), env),
  async setUp(scope, ctx) {
    const sockets = ctx.guests.map((g) => socketOf(ctx.runtimeDir, g.index));
    const statsFile = join(ctx.runtimeDir, 'switch-stats.json');
    const queues = ctx.queues ?? 1;
    // With flame graphs on, V8 writes a map of its compiled JavaScript (/tmp/perf-<pid>.map) so perf
    // names the switch's frames instead of showing bare addresses; the map is removed with the switch.
    const node = ctx.perfMap ? [process.execPath, '--perf-basic-prof'] : [process.execPath];
    const argv = [...node, join(projectRoot, 'bin', 'iopath.js'), 'switch', ...sockets.flatMap((s) => ['--socket', s]), '--stats', statsFile, '--queues', String(queues)];
    if (ctx.busyPoll) argv.push('--busy-poll');
    scope.defer('remove switch sockets', () => {
      for (const s of [...sockets, statsFile]) rmSync(s, { force: true });
    });
    // SIGTERM first: the switch closes its ports and removes its sockets itself.
    // With the perf map on, V8 also writes its own logs (isolate-*-v8.log) into its working folder:
    // the private runtime folder, removed with the run, rather than wherever iopath was started.
    const daemon = startDaemon(scope, { name: NAME, argv, logFile: join(ctx.resultsDir, 'switch.log'), termTimeoutMs: 5000, ...(ctx.perfMap ? { cwd: ctx.runtimeDir } : {}) });
    if (ctx.perfMap) {
      // Removed at teardown, before the switch stops (disposers run newest first): V8 writes on to
      // the unlinked file, and nothing is left in /tmp.
      const map = `/tmp/perf-${daemon.pid}.map`;
      scope.defer(`remove ${map}`, () => rmSync(map, { force: true }));
    }
    await waitForSockets(NAME, daemon, sockets, SWITCH_START_MS, ctx.signal);
    const notes = [
      ctx.busyPoll
        ? 'vhost-user-ts: busy polling (switchBusyPoll): one data thread in Node.js that never sleeps, a core of its own; frames are copied once, guest to guest'
        : 'vhost-user-ts: one event-driven data thread in Node.js; frames are copied once, guest to guest',
    ];
    if (queues > 1) notes.push(`vhost-user-ts: ${queues} queue pairs per port, flows spread over them by hash, on the one data thread`);
    if (needsMsixWorkaround(ctx)) notes.push(MSIX_NOTE);
    const counters = new SwitchCounters(daemon, statsFile);
    // A busy-polling switch sleeps on kicks while another path is measured (SIGTSTP) and polls again
    // for its own turn (SIGCONT): see switch-main.ts.
    const poll = (signal: NodeJS.Signals) => async () => {
      if (daemon.running) process.kill(daemon.pid, signal);
    };
    return {
      notes,
      ...(ctx.busyPoll ? { quiesce: poll('SIGTSTP'), resume: poll('SIGCONT') } : {}),
      processes: () => [{ role: ROLE, pid: daemon.pid }],
      collectors: () => [counters],
    };
  },
};

/** How long the switch may take to listen: a node process starts in seconds, but minutes at the nested lab's emulated speed. */
const SWITCH_START_MS = readLabMarker() ? 180_000 : 30_000;

/** The switch's per-port counters over a window, as samples. */
class SwitchCounters implements Collector {
  readonly id = 'switch-ports';
  readonly source = SOURCE;
  #daemon: Daemon;
  #file: string;
  #before: SwitchStats | undefined;

  constructor(daemon: Daemon, file: string) {
    this.#daemon = daemon;
    this.#file = file;
  }

  async availability(): Promise<Availability> {
    return this.#daemon.running ? { available: true } : { available: false, reason: `the ${NAME} is not running` };
  }

  async start(): Promise<void> {
    this.#before = await readSwitchCounters(this.#file, { pid: this.#daemon.pid });
  }

  async stop(): Promise<Sample[]> {
    const after = await readSwitchCounters(this.#file, { pid: this.#daemon.pid });
    const before = this.#before;
    this.#before = undefined;
    if (!before) return [];
    const samples: Sample[] = [];
    for (const p of diffCounters(before, after).ports) {
      const port = String(p.id);
      const d = p.delta;
      const s = (metric: Sample['metric'], value: number, unit: 'count' | 'bytes', direction?: string) =>
        samples.push({ metric, value, unit, source: SOURCE, dims: direction ? { port, direction } : { port } });
      s('switchPackets', d.rxPackets, 'count', 'rx');
      s('switchPackets', d.txPackets, 'count', 'tx');
      s('switchBytes', d.rxBytes, 'bytes', 'rx');
      s('switchBytes', d.txBytes, 'bytes', 'tx');
      s('switchDrops', d.rxDrops, 'count', 'rx');
      s('switchDrops', d.txDrops, 'count', 'tx');
      s('switchKicks', d.kicks, 'count');
      s('switchCalls', d.calls, 'count');
    }
    // Multi-queue ports: frames per queue pair, so a reader sees every queue carry its share.
    for (const p of after.ports) {
      const b = before.ports.find((x) => x.id === p.id);
      if (!b || p.queuePairs < 2) continue;
      const port = String(p.id);
      const q = (direction: 'rx' | 'tx', now: number[], was: number[]) =>
        now.forEach((n, i) => samples.push({ metric: 'switchQueuePackets', value: n - (was[i] ?? 0), unit: 'count', source: this.source, dims: { port, direction, queue: String(i) } }));
      q('rx', p.queueFrames.tx, b.queueFrames.tx); // taken from the guest's transmit queue i
      q('tx', p.queueFrames.rx, b.queueFrames.rx); // delivered to its receive queue i
    }
    return samples;
  }
}
