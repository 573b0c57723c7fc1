// One backend of a run: set up the host side, boot both guests, bring up their interfaces, start
// the collectors and measure an idle baseline, run every scenario, and tear everything down in
// reverse order. A failure is recorded in words and ends this backend only; the run goes on.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { backends, type BackendId } from '../backends/registry.ts';
import type { BackendInstance, NicBackend } from '../backends/types.ts';
import { CollectorGroup, collectorArgs, createCollectors } from '../collectors/index.ts';
import { GuestNicCollector } from '../collectors/guest-nic.ts';
import { describeError, GuestError, StorageError } from '../errors.ts';
import { parseVersion } from '../host/facts.ts';
import { guestIdentity, GUEST_NAMES } from '../host/identity.ts';
import type { Scope } from '../host/scope.ts';
import { Vm } from '../vm/vm.ts';
import { guestEndpoint, hostEndpoint, type Endpoint } from '../workloads/endpoint.ts';
import { readNicFeatures, setNicQueues } from '../workloads/features.ts';
import { scenarioFor } from '../workloads/scenarios.ts';
import { phaseTimer, type RunEnv } from './env.ts';
import type { BackendOutcome, CollectorRecord } from './record.ts';
import { runScenario } from './scenario-run.ts';
import { Windows } from './windows.ts';

/** Guest MTU on the path under test. */
const MTU = 1500;
/** The idle baseline lasts as long as the longest traffic window, but no longer than this. */
const MAX_IDLE_SEC = 10;

export async function runBackend(env: RunEnv, root: Scope, id: BackendId): Promise<void> {
  const { plan, store, record, signal, reporter } = env;
  const backend: NicBackend = backends[id];
  const outcome = record.backends.find((b) => b.id === id)!;
  outcome.status = 'running';
  store.save();
  reporter.backendStarted?.(outcome);
  const timed = phaseTimer(record, store);
  const scope = root.child(id);
  const logDir = store.backendDir(id);
  const runtimeDir = join(env.runtimeDir, id);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  const guests = GUEST_NAMES.map((_, i) => guestIdentity(i, env.tag));
  const qemuVersion = parseVersion(env.host.qemu?.version ?? '0.0.0');
  let fatal: string | undefined;
  try {
    const instance: BackendInstance = await timed('setup', id, () =>
      backend.setUp(scope, {
        run: record.run,
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
        log: (line) => reporter.phase?.(`${id}: ${line}`),
      }),
    );
    outcome.notes.push(...instance.notes);
    store.save();

    // The trace log of software emulation lives in the private runtime directory: its path must
    // not contain spaces (QEMU's logfile command cannot quote them), unlike a user's results folder.
    const traceFile = (guest: string) => join(runtimeDir, `trace-${guest}.log`);
    const vms = await timed('boot', id, async () => {
      const launched: Vm[] = [];
      for (const g of guests) {
        launched.push(
          await Vm.launch(scope, {
            name: g.name,
            qemuBinary: env.host.qemu!.path,
            accel: env.accel.kind,
            memoryMiB: plan.guest.memoryMiB,
            vcpus: plan.guest.vcpus,
            image: env.image,
            nic: backend.guestArgs(g, { runtimeDir, accel: env.accel.kind, qemuVersion, queues: plan.guest.queues }),
            ...(instance.netns ? { netns: instance.netns } : {}),
            runtimeDir,
            logDir,
            extraArgs: collectorArgs(env.accel.kind, { traceFile: traceFile(g.name) }),
            signal,
          }),
        );
      }
      outcome.files.push(...launched.flatMap((vm) => [relativeTo(store.dir, vm.serialLog), relativeTo(store.dir, vm.qemuLog)]));
      await Promise.all(launched.map((vm) => vm.waitReady(plan.timeouts.bootSec * 1000, signal)));
      return launched;
    });

    const up: Endpoint[] = [];
    for (const [i, vm] of vms.entries()) {
      const g = guests[i]!;
      const iface = await vm.agent.netup(g.mac, `${g.ip}/${g.prefix}`, MTU, signal);
      up.push(guestEndpoint(vm.name, g.ip, iface, vm.agent));
    }
    outcome.features = {};
    for (const g of up) outcome.features[g.name] = await readNicFeatures(g, signal);
    outcome.queues = { requested: plan.guest.queues, guests: {} };
    for (const g of up) outcome.queues.guests[g.name] = await setNicQueues(g, plan.guest.queues, signal);
    store.save();

    const windows = plan.collectors
      ? await startCollectors(env, scope, outcome, instance, vms, up, traceFile, logDir)
      : new Windows(new CollectorGroup([]), new CollectorGroup([]));
    if (!plan.collectors) outcome.notes.push('collectors were switched off for this run (--no-collectors): no exits, device accesses or host CPU were counted');
    const trafficSecs = plan.scenarios.flatMap((s) => scenarioFor(s).variants(s).map((v) => v.trafficSec));
    const idleSec = Math.min(MAX_IDLE_SEC, Math.max(1, ...trafficSecs));
    outcome.idleWindowSec = idleSec;
    await timed('idle-baseline', id, async () => {
      const samples = await windows.idle({ kind: 'idle', backend: id, scenario: 'idle', rep: 0, warmup: false }, idleSec, signal);
      store.append({ backend: id, scenario: 'idle', rep: 0, warmup: false }, samples);
    });

    const hostEnd = instance.hostEnd ? hostEndpoint(scope, instance.hostEnd.netns, instance.hostEnd.address, logDir) : undefined;
    await timed('measure', id, async () => {
      for (const s of plan.scenarios) {
        const server = s.topology === 'guest-to-host' ? hostEnd : up[0]!;
        if (!server) {
          outcome.notes.push(`scenario ${s.name} not run: guest-to-host needs a path with a host end (a tap path); ${id} has none`);
          store.save();
          continue;
        }
        await runScenario(env, outcome, s, { server, client: up[1]!, guests: up, signal }, windows);
      }
    });
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof StorageError) {
      // Without a place for results there is no point going on; tear down, then stop the run.
      await timed('teardown', id, () => scope.close()).catch(() => undefined);
      throw err;
    }
    fatal = describeError(err);
    reporter.warn?.(`${id}: ${fatal}`);
  } finally {
    reporter.phase?.(`${id}: tearing down`);
    try {
      await timed('teardown', id, () => scope.close());
    } catch (err) {
      // Something survived or refused to go: that is a failure of this backend, said in words.
      outcome.notes.push(`teardown: ${describeError(err)}`);
      fatal ??= `teardown failed: ${describeError(err)}`;
    }
  }
  settle(env, outcome, fatal);
  reporter.backendFinished?.(outcome);
}

/**
 * Create every collector (the generic ones, the guests' NIC counters, the backend's own), record
 * which are available and why not, and register their close before the guests and the switch stop.
 */
async function startCollectors(
  env: RunEnv,
  scope: Scope,
  outcome: BackendOutcome,
  instance: BackendInstance,
  vms: readonly Vm[],
  up: readonly Endpoint[],
  traceFile: (guest: string) => string,
  logDir: string,
): Promise<Windows> {
  const inner = [
    ...createCollectors({
      accel: env.accel.kind,
      targets: vms.map((vm) => ({ guest: vm.name, qemuPid: vm.pid, qmp: vm.qmp, traceFile: traceFile(vm.name) })),
      hostProcesses: instance.processes?.(vms.map((vm) => ({ name: vm.name, qemuPid: vm.pid }))) ?? [],
      dir: join(logDir, 'collectors'),
      scope,
    }),
    ...(instance.collectors?.() ?? []),
  ];
  const outer = [new GuestNicCollector(up.map((g) => ({ name: g.name, iface: g.iface!, readFile: (path) => readGuestFile(g, path) })))];
  const windows = new Windows(new CollectorGroup(inner), new CollectorGroup(outer));
  // Registered after QEMU and the switch, so it runs before them: collectors stop first.
  scope.defer('close collectors', async () => {
    await windows.inner.close();
    await windows.outer.close();
  });
  const statuses = [...(await windows.inner.prepare()), ...(await windows.outer.prepare())];
  outcome.collectors = statuses.map(
    (s): CollectorRecord => ({
      id: s.id,
      source: s.source,
      available: s.availability.available,
      ...(s.availability.available ? {} : { reason: s.availability.reason, ...(s.availability.fix ? { fix: s.availability.fix } : {}) }),
      notes: s.notes,
    }),
  );
  mergeCollectorRecords(env.record, outcome.collectors);
  env.store.save();
  return windows;
}

async function readGuestFile(g: Endpoint, path: string): Promise<string> {
  const r = await g.exec(['cat', path], 10);
  if (r.status !== 0) throw new GuestError(`${g.name}: cannot read ${path}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Keep one run-wide entry per collector: available if it was available for any backend. */
function mergeCollectorRecords(record: RunEnv['record'], records: readonly CollectorRecord[]): void {
  record.collectors ??= [];
  for (const r of records) {
    const i = record.collectors.findIndex((c) => c.id === r.id);
    if (i < 0) record.collectors.push({ ...r });
    else if (!record.collectors[i]!.available && r.available) record.collectors[i] = { ...r };
  }
}

function settle(env: RunEnv, outcome: BackendOutcome, fatal: string | undefined): void {
  const measured = outcome.reps.filter((r) => !r.warmup);
  const ok = measured.filter((r) => r.status === 'ok').length;
  const scenariosRun = new Set(measured.map((r) => r.scenario)).size || env.plan.scenarios.length;
  const expected = scenariosRun * env.plan.repetitions;
  outcome.status = ok === 0 ? 'failed' : ok < expected || fatal ? 'partial' : 'ok';
  if (fatal) outcome.reason = fatal;
  else if (ok < expected) outcome.reason = `${expected - ok} of ${expected} measured repetitions failed`;
  env.store.save();
}

function relativeTo(dir: string, path: string): string {
  return path.startsWith(dir + '/') ? path.slice(dir.length + 1) : path;
}
