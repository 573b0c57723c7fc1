// One path of a run, in parts the runner schedules: bring it up (its host side, both guests, their
// interfaces, the collectors), measure its idle baseline (alone, or beside the other paths' when all
// are up and idle at once), visit it (a round's or the whole block's repetitions of every
// scenario), and tear everything down in reverse order. A failure is recorded
// in words on the path (what it contained is marked blocked) and ends this path only; the run goes
// on. An abort or a results folder that cannot be written ends the run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendInstance, NicBackend } from '../backends/types.ts';
import { guestFor, type RunPlan } from '../config/plan.ts';
import { CollectorGroup, type HostProcess } from '../collectors/index.ts';
import { InternalError, StorageError } from '../errors.ts';
import { parseVersion } from '../host/facts.ts';
import { guestIdentity, GUEST_NAMES } from '../host/identity.ts';
import type { Scope } from '../host/scope.ts';
import { guestEndpoint, hostEndpoint, type Endpoint } from '../workloads/endpoint.ts';
import { featureNames, findRefused, readNicNegotiation, setNicQueues, type NicNegotiation } from '../workloads/features.ts';
import { scenarioFor } from '../workloads/scenarios.ts';
import type { RunEnv } from './env.ts';
import type { LaunchedGuest } from './launcher.ts';
import type { CollectorRecord } from './record.ts';
import { runScenario } from './scenario-run.ts';
import { refusedNote, type PathNode } from './tree.ts';
import type { Visit } from './schedule.ts';
import { Windows, type WindowTiming } from './windows.ts';

/** The idle baseline lasts as long as the longest traffic window, but no longer than this. */
const MAX_IDLE_SEC = 4;

/** A path whose guests are up, between its visits. */
export interface PathSession {
  readonly path: NicBackend;
  readonly node: PathNode;
  readonly scope: Scope;
  readonly instance: BackendInstance;
  readonly guests: readonly Endpoint[];
  readonly hostEnd: Endpoint | undefined;
  readonly windows: Windows;
  /** The guests' QEMU processes (QMP), to park them while other paths are measured. */
  readonly vms: readonly LaunchedGuest[];
  /** Its guests are stopped (QMP stop) and its poller quiet, waiting for the path's next visit. */
  parked?: boolean;
  /** Set when a stage failed: the path is settled with it at teardown and gets no more visits. */
  fatal?: string;
  /** Its busy-polling helper is quieted, waiting for the path's next visit. */
  quiet?: boolean;
  /** Torn down and settled. */
  done?: boolean;
}

/** What quieting and waking a busy-polling helper needs: a path still booting has no session yet. */
type Poller = Pick<PathSession, 'path' | 'instance' | 'quiet'>;

/** Quiet the path's busy-polling helper while other paths run (no-op when nothing polls). */
export async function quiesce(env: RunEnv, session: Poller): Promise<void> {
  if (session.quiet || !session.instance.quiesce) return;
  await env.tree.timed('pause', session.path.id, () => session.instance.quiesce!());
  session.quiet = true;
}

/**
 * Park the path while others are measured: its busy poller quiet and its guests' virtual CPUs
 * stopped (QMP stop). An idle guest is not free under software emulation: its timer ticks and
 * wake-ups take turns on the cores the measured guests are pinned to. Stopped, it costs nothing,
 * and its clock stops with it, so it resumes with no jump in time.
 */
export async function park(env: RunEnv, session: PathSession): Promise<void> {
  if (session.parked) return;
  await quiesce(env, session);
  await env.tree.timed('pause', session.path.id, () => Promise.all(session.vms.map((vm) => vm.qmp.execute('stop'))));
  session.parked = true;
}

/** Undo {@link park}: the guests run again, then the poller polls. */
async function unpark(env: RunEnv, session: PathSession): Promise<void> {
  if (session.parked) {
    await env.tree.timed('pause', session.path.id, () => Promise.all(session.vms.map((vm) => vm.qmp.execute('cont'))));
    session.parked = false;
  }
  await wake(env, session);
}

/** Wake the path's busy-polling helper for its own work (no-op when it is not quiet). */
async function wake(env: RunEnv, session: Poller): Promise<void> {
  if (!session.quiet || !session.instance.resume) return;
  await env.tree.timed('pause', session.path.id, () => session.instance.resume!());
  session.quiet = false;
}

/**
 * Set up the path's host side, boot both guests, bring up their interfaces and start the
 * collectors; with `idle` also measure the idle baseline (otherwise the caller does, see
 * {@link measureIdle}). A busy-polling helper is quiet while the guests boot: a polling core would
 * only slow their boot. On failure the path is recorded as failed (naming the stage), torn down and
 * settled; returns undefined then. An abort or an unwritable results folder ends the run.
 */
export async function bringUp(env: RunEnv, root: Scope, path: NicBackend, o: { idle: boolean } = { idle: true }): Promise<PathSession | undefined> {
  const { plan, tree, signal, reporter } = env;
  const node = tree.path(path.id);
  node.start();
  reporter.backendStarted?.(node.record);
  const scope = root.child(path.id);
  const logDir = env.store.backendDir(path.id);
  const runtimeDir = join(env.runtimeDir, path.id);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  const guests = GUEST_NAMES.map((_, i) => guestIdentity(i, env.tag));
  const qemuVersion = parseVersion(env.host.qemu?.version ?? '0.0.0');
  // The profile's guests, with a variant's queue pairs and MTU.
  const guest = guestFor(plan, path.id);
  const variant = plan.variants.find((v) => v.id === path.id);
  let stage = 'set-up';
  // Another path's placement may hold iopath on one core: what this path starts gets the run's CPUs.
  const starting = await env.placement.starting(node);
  try {
    const instance: BackendInstance = await tree.timed('setup', path.id, () =>
      path.setUp(scope, {
        run: tree.record.run,
        tag: env.tag,
        runtimeDir,
        resultsDir: logDir,
        accel: env.accel.kind,
        qemuVersion,
        guests,
        queues: guest.queues,
        mtu: guest.mtu,
        busyPoll: plan.switchBusyPoll,
        ...(plan.flame ? { perfMap: true } : {}),
        ...(plan.placement === 'auto' ? { cores: env.placement.helperCores(plan, path) } : {}),
        host: env.host,
        signal,
        log: (line) => reporter.phase?.(`${path.id}: ${line}`),
      }),
    );
    node.notes(instance.notes);
    const polling: Poller = { path, instance, quiet: false };
    stage = 'pausing its busy-polling helper';
    await quiesce(env, polling);

    stage = 'boot';
    // The trace log of software emulation lives in the private runtime directory: its path must
    // not contain spaces (QEMU's logfile command cannot quote them), unlike a user's results folder.
    const traceFile = (guest: string) => join(runtimeDir, `trace-${guest}.log`);
    const vms = await tree.timed('boot', path.id, async () => {
      const launched: LaunchedGuest[] = [];
      for (const g of guests) {
        const vm = await env.launcher.launch(scope, {
          name: g.name,
          qemuBinary: env.host.qemu?.path ?? 'qemu-system-x86_64',
          accel: env.accel.kind,
          memoryMiB: guest.memoryMiB,
          vcpus: guest.vcpus,
          image: env.image,
          nic: path.guestArgs(g, { runtimeDir, accel: env.accel.kind, qemuVersion, queues: guest.queues }),
          ...(instance.netns ? { netns: instance.netns } : {}),
          runtimeDir,
          logDir,
          extraArgs: env.collectors.qemuArgs(env.accel.kind, { traceFile: traceFile(g.name) }),
          signal,
        });
        launched.push(vm);
        node.files([relativeTo(env.store.dir, vm.serialLog), relativeTo(env.store.dir, vm.qemuLog)]);
        if (env.bootOneByOne) await vm.waitReady(plan.timeouts.bootSec * 1000, signal);
      }
      await Promise.all(launched.map((vm) => vm.waitReady(plan.timeouts.bootSec * 1000, signal)));
      if (env.bootOneByOne) node.notes(['the guests booted one after the other (nested lab: two booting at once under emulated SVM is unreliable)']);
      return launched;
    });

    // Pinned once per bring-up: the pins stay through every round until the path is torn down.
    stage = 'CPU placement';
    await starting.done();
    const helpers = helperProcesses(path, instance, vms.map((vm) => ({ name: vm.name, qemuPid: vm.pid })));
    await env.placement.place({ tree, scope, node, path, plan, helpers, vms, signal });

    stage = 'network set-up in the guests';
    const up = await tree.timed('network', path.id, async () => {
      const up: Endpoint[] = [];
      for (const [i, vm] of vms.entries()) {
        const g = guests[i]!;
        const iface = await vm.agent.netup(g.mac, `${g.ip}/${g.prefix}`, guest.mtu, plan.timeouts.netupSec * 1000, signal);
        up.push(guestEndpoint(vm.name, g.ip, iface, vm.agent));
      }
      const negotiated: Record<string, NicNegotiation> = {};
      for (const g of up) negotiated[g.name] = await readNicNegotiation(g, signal);
      node.features(Object.fromEntries(Object.entries(negotiated).map(([name, n]) => [name, featureNames(n)])));
      node.negotiated(negotiated);
      if (variant) {
        // A property the device, the back-end or the driver did not follow is said, never dropped.
        const refused = findRefused(variant.device, negotiated);
        node.refused(refused);
        for (const r of refused) reporter.warn?.(`${path.id}: ${refusedNote(r)}`);
      }
      const running: Record<string, number> = {};
      for (const g of up) running[g.name] = await setNicQueues(g, guest.queues, signal);
      node.queues({ requested: guest.queues, guests: running });
      return up;
    });

    stage = 'collector set-up';
    const timing: WindowTiming = (phase, startedAt, ms) => tree.phase(phase, path.id, ms, startedAt);
    const windows = plan.collectors
      ? await tree.timed('collectors-prepare', path.id, () => startCollectors(env, scope, node, path, instance, vms, up, traceFile, logDir, timing))
      : new Windows(new CollectorGroup([]), new CollectorGroup([]), timing);
    if (!plan.collectors) node.notes(['collectors were switched off for this run (--no-collectors): no exits, device accesses or host CPU were counted']);

    const hostEnd = instance.hostEnd ? hostEndpoint(scope, instance.hostEnd.netns, instance.hostEnd.address, logDir) : undefined;
    const session: PathSession = { path, node, scope, instance, guests: up, hostEnd, windows, vms, quiet: polling.quiet };
    if (o.idle) {
      stage = 'idle baseline';
      await idleBaseline(env, session);
    }
    return session;
  } catch (err) {
    await starting.done();
    const session = { path, node, scope, fatal: '' } as PathSession;
    if (signal.aborted || err instanceof StorageError) {
      // Without a place for results there is no point going on; tear down, then stop the run.
      await tearDown(env, session, { quietly: true });
      throw err;
    }
    session.fatal = `${stage} failed: ${tree.describe(err, `${path.id} ${stage}`)}`;
    reporter.warn?.(`${path.id}: ${session.fatal}`);
    await tearDown(env, session);
    return undefined;
  }
}

/** The path's idle baseline: its helper polling as in its own windows, guests up, no traffic. */
async function idleBaseline(env: RunEnv, session: PathSession): Promise<void> {
  const { path, node } = session;
  await wake(env, session);
  const idleSec = idleWindowSec(env.plan);
  node.idleWindow(idleSec);
  const samples = await session.windows.idle({ kind: 'idle', backend: path.id, scenario: 'idle', rep: 0, warmup: false }, idleSec, env.signal);
  env.store.append({ backend: path.id, scenario: 'idle', rep: 0, warmup: false }, samples);
}

/**
 * The idle baselines of paths that are all up at once, measured together: every guest of every
 * path is at rest, so each path's counters see only its own idle guests, and one window of a few
 * seconds serves all of them instead of one after the other. A path whose baseline fails ends there
 * (recorded, torn down); the others go on.
 */
export async function measureIdle(env: RunEnv, sessions: readonly PathSession[]): Promise<void> {
  const idle = sessions.filter((s) => s.fatal === undefined && !s.done);
  if (idle.length > 1) for (const s of idle) s.node.notes([`idle baseline measured at the same time as that of ${others(s, idle)}, all at rest`]);
  await Promise.all(
    idle.map(async (session) => {
      try {
        await idleBaseline(env, session);
      } catch (err) {
        if (env.signal.aborted || err instanceof StorageError) throw err;
        session.fatal = `idle baseline failed: ${env.tree.describe(err, `${session.path.id} idle baseline`)}`;
        env.reporter.warn?.(`${session.path.id}: ${session.fatal}`);
        await tearDown(env, session);
      }
    }),
  );
}

function others(s: PathSession, all: readonly PathSession[]): string {
  return all.filter((x) => x !== s).map((x) => x.path.id).join(', ');
}

/**
 * One visit of the path: wake its busy pollers, run the visit's repetitions of every scenario, and
 * quiet the pollers again when others are measured next. A failure here ends the path (recorded in
 * words, its remaining repetitions blocked, torn down at once); the other paths go on.
 */
export async function runVisit(env: RunEnv, session: PathSession, visit: Visit, o: { quietAfter: boolean }): Promise<void> {
  const { tree, signal, plan } = env;
  const { path, node } = session;
  if (session.fatal !== undefined) return;
  try {
    await unpark(env, session);
    for (const item of visit.items) {
      const s = plan.scenarios.find((x) => x.name === item.scenario)!;
      const server = s.topology === 'guest-to-host' ? session.hostEnd : session.guests[0]!;
      if (!server) {
        if (node.scenario(s.name).record.status === 'pending') node.scenario(s.name).skip(`guest-to-host needs a path with a host end (a tap path); ${path.id} has none`);
        continue;
      }
      const ctx = { server, client: session.guests[1]!, guests: session.guests, signal };
      await runScenario(env, node.scenario(s.name), s, ctx, session.windows, { ...(visit.round === undefined ? {} : { round: visit.round }), reps: item.reps, last: visit.last });
    }
    if (o.quietAfter) await park(env, session);
  } catch (err) {
    if (signal.aborted || err instanceof StorageError) throw err;
    session.fatal = tree.describe(err, path.id);
    env.reporter.warn?.(`${path.id}: ${session.fatal}`);
    await tearDown(env, session);
  }
}

/**
 * Tear the path down (its scope, in reverse order of set-up) and settle it: a teardown that fails is
 * a failure of the path, said in words. `timed: false` when several paths are torn down together
 * (the caller times them as one phase).
 */
export async function tearDown(env: RunEnv, session: PathSession, o: { quietly?: boolean; timed?: boolean } = {}): Promise<void> {
  const { tree, reporter } = env;
  const { node, path } = session;
  if (session.done) return;
  session.done = true;
  const close = () => session.scope.close();
  if (o.quietly) {
    await tree.timed('teardown', path.id, close).catch((err: unknown) => tree.describe(err, `${path.id} teardown`));
    return;
  }
  reporter.phase?.(`${path.id}: tearing down`);
  try {
    await (o.timed === false ? close() : tree.timed('teardown', path.id, close));
  } catch (err) {
    // Something survived or refused to go: that is a failure of this path, said in words.
    const why = tree.describe(err, `${path.id} teardown`);
    node.notes([`teardown: ${why}`]);
    session.fatal ??= `teardown failed: ${why}`;
  }
  if (session.fatal) node.stop(session.fatal);
  else node.settle();
  reporter.backendFinished?.(node.record);
}

/**
 * The idle baseline's length: as long as the longest traffic window, but at most {@link MAX_IDLE_SEC}.
 * The baseline is a rate (counts per second at rest, scaled to each window's length), so a few
 * seconds of a steady idle guest estimate it well enough: see docs/statistics.md.
 */
export function idleWindowSec(plan: Readonly<RunPlan>): number {
  const trafficSecs = plan.scenarios.flatMap((s) => scenarioFor(s).variants(s).map((v) => v.trafficSec));
  return Math.min(MAX_IDLE_SEC, Math.max(1, ...trafficSecs));
}

/**
 * Create every collector of the path, record which are available and why not, and register their
 * close before the guests and the switch stop.
 */
async function startCollectors(
  env: RunEnv,
  scope: Scope,
  node: PathNode,
  path: NicBackend,
  instance: BackendInstance,
  vms: readonly LaunchedGuest[],
  up: readonly Endpoint[],
  traceFile: (guest: string) => string,
  logDir: string,
  timing: WindowTiming,
): Promise<Windows> {
  const rings = env.collectors.create({
    accel: env.accel.kind,
    guests: vms,
    endpoints: up,
    helpers: helperProcesses(path, instance, vms.map((vm) => ({ name: vm.name, qemuPid: vm.pid }))),
    pathCollectors: instance.collectors?.() ?? [],
    traceFile,
    dir: join(logDir, 'collectors'),
    runtimeDir: join(env.runtimeDir, node.id, 'collectors'),
    scope,
    flame: env.plan.flame,
  });
  const windows = new Windows(new CollectorGroup(rings.inner), new CollectorGroup(rings.outer), timing);
  // Registered after QEMU and the switch, so it runs before them: collectors stop first.
  scope.defer('close collectors', async () => {
    await windows.inner.close();
    await windows.outer.close();
  });
  const statuses = [...(await windows.inner.prepare()), ...(await windows.outer.prepare())];
  node.collectors(
    statuses.map(
      (s): CollectorRecord => ({
        id: s.id,
        source: s.source,
        available: s.availability.available,
        ...(s.availability.available ? {} : { reason: s.availability.reason, ...(s.availability.fix ? { fix: s.availability.fix } : {}) }),
        notes: s.notes,
      }),
    ),
  );
  return windows;
}

/** The path's helper processes for CPU accounting, each with the thread names its descriptor declares for its role. */
export function helperProcesses(path: NicBackend, instance: BackendInstance, guests: readonly { name: string; qemuPid: number }[]): HostProcess[] {
  return (instance.processes?.(guests) ?? []).map((p) => {
    const spec = path.helpers?.find((h) => h.role === p.role || p.role.startsWith(`${h.role} `));
    if (!spec) throw new InternalError(`${path.id} reports a helper process with role "${p.role}" that its descriptor does not declare`);
    return { ...p, ...(spec.threadKinds ? { threadKinds: spec.threadKinds } : {}) };
  });
}

function relativeTo(dir: string, path: string): string {
  return path.startsWith(dir + '/') ? path.slice(dir.length + 1) : path;
}
