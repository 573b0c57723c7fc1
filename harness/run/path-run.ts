// One path of a run: set up its host side, boot both guests, bring up their interfaces, start the
// collectors and measure an idle baseline, run every scenario, and tear everything down in reverse
// order. A failure is recorded in words on the path (what it contained is marked blocked) and ends
// this path only; the run goes on. An abort or a results folder that cannot be written ends the run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendInstance, NicBackend } from '../backends/types.ts';
import { CollectorGroup, type HostProcess } from '../collectors/index.ts';
import { InternalError, StorageError } from '../errors.ts';
import { parseVersion } from '../host/facts.ts';
import { guestIdentity, GUEST_NAMES } from '../host/identity.ts';
import type { Scope } from '../host/scope.ts';
import { guestEndpoint, hostEndpoint, type Endpoint } from '../workloads/endpoint.ts';
import { readNicFeatures, setNicQueues } from '../workloads/features.ts';
import { scenarioFor } from '../workloads/scenarios.ts';
import type { RunEnv } from './env.ts';
import type { LaunchedGuest } from './launcher.ts';
import type { CollectorRecord } from './record.ts';
import { runScenario } from './scenario-run.ts';
import type { PathNode } from './tree.ts';
import { Windows } from './windows.ts';

/** Guest MTU on the path under test. */
const MTU = 1500;
/** The idle baseline lasts as long as the longest traffic window, but no longer than this. */
const MAX_IDLE_SEC = 10;

export async function runPath(env: RunEnv, root: Scope, path: NicBackend): Promise<void> {
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
  let stage = 'set-up';
  let fatal: string | undefined;
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
        queues: plan.guest.queues,
        busyPoll: plan.switchBusyPoll,
        host: env.host,
        signal,
        log: (line) => reporter.phase?.(`${path.id}: ${line}`),
      }),
    );
    node.notes(instance.notes);

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
            memoryMiB: plan.guest.memoryMiB,
            vcpus: plan.guest.vcpus,
            image: env.image,
            nic: path.guestArgs(g, { runtimeDir, accel: env.accel.kind, qemuVersion, queues: plan.guest.queues }),
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

    stage = 'network set-up in the guests';
    const up: Endpoint[] = [];
    for (const [i, vm] of vms.entries()) {
      const g = guests[i]!;
      const iface = await vm.agent.netup(g.mac, `${g.ip}/${g.prefix}`, MTU, signal);
      up.push(guestEndpoint(vm.name, g.ip, iface, vm.agent));
    }
    const features: Record<string, string[]> = {};
    for (const g of up) features[g.name] = await readNicFeatures(g, signal);
    node.features(features);
    const running: Record<string, number> = {};
    for (const g of up) running[g.name] = await setNicQueues(g, plan.guest.queues, signal);
    node.queues({ requested: plan.guest.queues, guests: running });

    stage = 'collector set-up';
    const windows = plan.collectors ? await startCollectors(env, scope, node, path, instance, vms, up, traceFile, logDir) : new Windows(new CollectorGroup([]), new CollectorGroup([]));
    if (!plan.collectors) node.notes(['collectors were switched off for this run (--no-collectors): no exits, device accesses or host CPU were counted']);

    stage = 'idle baseline';
    const trafficSecs = plan.scenarios.flatMap((s) => scenarioFor(s).variants(s).map((v) => v.trafficSec));
    const idleSec = Math.min(MAX_IDLE_SEC, Math.max(1, ...trafficSecs));
    node.idleWindow(idleSec);
    await tree.timed('idle-baseline', path.id, async () => {
      const samples = await windows.idle({ kind: 'idle', backend: path.id, scenario: 'idle', rep: 0, warmup: false }, idleSec, signal);
      env.store.append({ backend: path.id, scenario: 'idle', rep: 0, warmup: false }, samples);
    });

    stage = 'measurement';
    const hostEnd = instance.hostEnd ? hostEndpoint(scope, instance.hostEnd.netns, instance.hostEnd.address, logDir) : undefined;
    await tree.timed('measure', path.id, async () => {
      for (const s of plan.scenarios) {
        const server = s.topology === 'guest-to-host' ? hostEnd : up[0]!;
        if (!server) {
          node.scenario(s.name).skip(`guest-to-host needs a path with a host end (a tap path); ${path.id} has none`);
          continue;
        }
        await runScenario(env, node.scenario(s.name), s, { server, client: up[1]!, guests: up, signal }, windows);
      }
    });
  } catch (err) {
    if (signal.aborted) {
      await closeQuietly(env, scope, path.id);
      throw err;
    }
    if (err instanceof StorageError) {
      // Without a place for results there is no point going on; tear down, then stop the run.
      await closeQuietly(env, scope, path.id);
      throw err;
    }
    fatal = stage === 'measurement' ? tree.describe(err, `${path.id}`) : `${stage} failed: ${tree.describe(err, `${path.id} ${stage}`)}`;
    reporter.warn?.(`${path.id}: ${fatal}`);
  }
  reporter.phase?.(`${path.id}: tearing down`);
  try {
    await tree.timed('teardown', path.id, () => scope.close());
  } catch (err) {
    // Something survived or refused to go: that is a failure of this path, said in words.
    const why = tree.describe(err, `${path.id} teardown`);
    node.notes([`teardown: ${why}`]);
    fatal ??= `teardown failed: ${why}`;
  }
  if (fatal) node.stop(fatal);
  else node.settle();
  reporter.backendFinished?.(node.record);
}

async function closeQuietly(env: RunEnv, scope: Scope, id: string): Promise<void> {
  await env.tree.timed('teardown', id, () => scope.close()).catch((err: unknown) => env.tree.describe(err, `${id} teardown`));
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
  });
  const windows = new Windows(new CollectorGroup(rings.inner), new CollectorGroup(rings.outer));
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
