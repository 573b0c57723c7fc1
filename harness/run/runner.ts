// The run as a sequence of explicit phases: preflight -> image -> accelerator probe -> for each
// backend: set up, boot, (per scenario: prepare, warm-up, measured repetitions), tear down. Every
// sample is on disk before the next repetition starts; a failed repetition is recorded with its
// reason and the run goes on; teardown always runs, in reverse order of set-up.

import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { backends, type BackendId } from '../backends/registry.ts';
import type { BackendInstance, NicBackend } from '../backends/types.ts';
import type { RunPlan, ScenarioPlan } from '../config/plan.ts';
import { ExitCode, HostError, describeError, type ExitCodeValue } from '../errors.ts';
import { installFix, packageOf, parseVersion, probeHost, type HostFacts } from '../host/facts.ts';
import { guestIdentity, GUEST_NAMES } from '../host/identity.ts';
import { Scope } from '../host/scope.ts';
import { ensureImage, type GuestImage } from '../image/build.ts';
import { runtimeRoot } from '../paths.ts';
import { chooseAccel } from '../vm/accel.ts';
import { Vm } from '../vm/vm.ts';
import { scenarioTable, type Endpoint, type RawOutput } from '../workloads/scenarios.ts';
import type { Reporter } from './progress.ts';
import { collectProvenance, newRunId } from './provenance.ts';
import { RUN_SCHEMA, type AccelChoice, type BackendOutcome, type PhaseTiming, type RepOutcome, type RunRecord } from './record.ts';
import { RunStore } from './store.ts';

export interface BenchOptions {
  plan: Readonly<RunPlan>;
  /** The command line, recorded in run.json. */
  argv: string[];
  resultsRoot: string;
  signal: AbortSignal;
  reporter: Reporter;
}

export interface BenchOutcome {
  runDir: string;
  record: RunRecord;
  exitCode: ExitCodeValue;
}

interface RunEnv {
  plan: Readonly<RunPlan>;
  store: RunStore;
  record: RunRecord;
  tag: string;
  runtimeDir: string;
  host: HostFacts;
  image: GuestImage;
  accel: AccelChoice;
  signal: AbortSignal;
  reporter: Reporter;
}

/** Guest MTU on the path under test. */
const MTU = 1500;

export async function runBench(o: BenchOptions): Promise<BenchOutcome> {
  const { plan, signal, reporter } = o;
  const { run, tag } = newRunId();
  const runDir = join(o.resultsRoot, run);
  const record: RunRecord = {
    schema: RUN_SCHEMA,
    run,
    status: 'running',
    startedAt: new Date().toISOString(),
    argv: o.argv,
    profile: { name: plan.profile.name, path: plan.profile.path, hash: plan.profile.hash, plan },
    backends: plan.backends.map((id) => ({ id, title: backends[id].title, status: 'pending', notes: [], reps: [], files: [] })),
    phases: [],
    notes: [],
  };
  const store = new RunStore(runDir, record, hostname());
  reporter.runStarted?.({ run, dir: runDir, plan });
  const root = new Scope(`run ${run}`);
  const runtimeDir = join(runtimeRoot, run);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  root.defer(`remove runtime directory ${runtimeDir}`, () => rmSync(runtimeDir, { recursive: true, force: true }));
  const timed = phaseTimer(record, store);

  try {
    const host = await timed('preflight', undefined, probeHost);
    if (!host.qemu) throw new HostError('qemu-system-x86_64 is not installed', installFix(packageOf.qemu));
    const runnable = preflight(record, plan, host, reporter);
    store.save();
    if (runnable.length === 0) {
      throw new HostError(
        `none of the requested paths can run on this host:\n${record.backends.map((b) => `  ${b.id}: ${b.reason}`).join('\n')}`,
        record.backends.map((b) => b.fix).filter(Boolean).join('; ') || undefined,
      );
    }
    reporter.phase?.('guest image');
    const image = await timed('image', undefined, () => ensureImage({ log: (l) => reporter.phase?.(l), signal }));
    reporter.phase?.(plan.accel === 'tcg' ? 'accelerator: TCG (requested)' : 'probing KVM with a guest boot');
    const accel = await timed('accel-probe', undefined, () =>
      chooseAccel({
        preference: plan.accel,
        host,
        qemuBinary: host.qemu!.path,
        image,
        runtimeDir,
        logDir: runDir,
        deadlineMs: plan.timeouts.probeSec * 1000,
        signal,
      }),
    );
    reporter.phase?.(`accelerator: ${accel.kind.toUpperCase()} (${accel.reason})`);
    record.provenance = await collectProvenance(host, image, accel);
    store.save();
    const env: RunEnv = { plan, store, record, tag, runtimeDir, host, image, accel, signal, reporter };
    for (const id of runnable) {
      signal.throwIfAborted();
      await runBackend(env, root, id);
    }
    record.status = overallStatus(record);
  } catch (err) {
    if (signal.aborted) {
      record.status = 'interrupted';
      record.error = describeError(signal.reason);
    } else {
      record.status = 'failed';
      record.error = describeError(err);
    }
    for (const b of record.backends) if (b.status === 'pending' || b.status === 'running') b.status = b.reps.some((r) => r.status === 'ok') ? 'partial' : 'failed';
    store.save();
    await closeScope(root, record);
    finish(record, store);
    reporter.runFinished?.(record, runDir);
    if (signal.aborted) throw signal.reason;
    throw err;
  }
  await closeScope(root, record);
  finish(record, store);
  reporter.runFinished?.(record, runDir);
  return { runDir, record, exitCode: exitCodeFor(record) };
}

/** Mark backends the host cannot run as skipped (with reason and fix); return the runnable ones. */
function preflight(record: RunRecord, plan: Readonly<RunPlan>, host: HostFacts, reporter: Reporter): BackendId[] {
  const runnable: BackendId[] = [];
  for (const id of plan.backends) {
    const outcome = record.backends.find((b) => b.id === id)!;
    const unmet = backends[id].requirements(host).filter((r) => !r.ok);
    if (unmet.length === 0) {
      runnable.push(id);
      continue;
    }
    outcome.status = 'skipped';
    outcome.reason = unmet.map((r) => r.reason ?? `missing ${r.what}`).join('; ');
    const fixes = unmet.map((r) => r.fix).filter((f): f is string => Boolean(f));
    if (fixes.length) outcome.fix = fixes.join(' && ');
    reporter.backendSkipped?.(outcome);
  }
  return runnable;
}

async function runBackend(env: RunEnv, root: Scope, id: BackendId): Promise<void> {
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
  let fatal: string | undefined;
  try {
    const instance: BackendInstance = await timed('setup', id, () =>
      backend.setUp(scope, {
        run: record.run,
        tag: env.tag,
        runtimeDir,
        resultsDir: logDir,
        accel: env.accel.kind,
        qemuVersion: parseVersion(env.host.qemu?.version ?? '0.0.0'),
        guests,
        host: env.host,
        signal,
        log: (line) => reporter.phase?.(`${id}: ${line}`),
      }),
    );
    outcome.notes.push(...instance.notes);
    store.save();
    const nicEnv = { runtimeDir, accel: env.accel.kind, qemuVersion: parseVersion(env.host.qemu?.version ?? '0.0.0') };
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
            nic: backend.guestArgs(g, nicEnv),
            ...(instance.netns ? { netns: instance.netns } : {}),
            runtimeDir,
            logDir,
            signal,
          }),
        );
      }
      outcome.files.push(...launched.flatMap((vm) => [relativeTo(store.dir, vm.serialLog), relativeTo(store.dir, vm.qemuLog)]));
      await Promise.all(launched.map((vm) => vm.waitReady(plan.timeouts.bootSec * 1000, signal)));
      for (const [i, vm] of launched.entries()) {
        const g = guests[i]!;
        await vm.agent.netup(g.mac, `${g.ip}/${g.prefix}`, MTU, signal);
      }
      return launched;
    });
    const endpoints: Endpoint[] = vms.map((vm, i) => ({ name: vm.name, ip: guests[i]!.ip, agent: vm.agent }));
    for (const s of plan.scenarios) {
      await runScenario(env, outcome, s, endpoints[0]!, endpoints[1]!);
    }
  } catch (err) {
    if (signal.aborted) throw err;
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
  const measured = outcome.reps.filter((r) => !r.warmup);
  const ok = measured.filter((r) => r.status === 'ok').length;
  const expected = plan.scenarios.length * plan.repetitions;
  outcome.status = ok === 0 ? 'failed' : ok < expected || fatal ? 'partial' : 'ok';
  if (fatal) outcome.reason = fatal;
  else if (ok < expected) outcome.reason = `${expected - ok} of ${expected} measured repetitions failed`;
  store.save();
  reporter.backendFinished?.(outcome);
}

async function runScenario(env: RunEnv, outcome: BackendOutcome, s: ScenarioPlan, server: Endpoint, client: Endpoint): Promise<void> {
  const impl = scenarioTable[s.kind];
  const ctx = { server, client, signal: env.signal };
  await impl.prepare(ctx, s);
  const reps = [
    ...Array.from({ length: env.plan.warmup }, (_, i) => ({ warmup: true, rep: i })),
    ...Array.from({ length: env.plan.repetitions }, (_, i) => ({ warmup: false, rep: i })),
  ];
  for (const { warmup, rep } of reps) {
    env.signal.throwIfAborted();
    const label = `${s.name}-${warmup ? 'warmup' : 'rep'}${rep}`;
    const budgetMs = impl.budgetSec(s) * 1000;
    const repSignal = AbortSignal.any([env.signal, AbortSignal.timeout(budgetMs)]);
    const startedAt = new Date();
    env.reporter.repStarted?.({ backend: outcome.id, scenario: s.name, rep, warmup, budgetMs });
    const result: RepOutcome = { scenario: s.name, rep, warmup, status: 'ok', startedAt: startedAt.toISOString(), durationMs: 0 };
    let raw: RawOutput[] = [];
    try {
      const r = await impl.run({ ...ctx, signal: repSignal }, s, label);
      raw = r.raw;
      const records = env.store.append({ backend: outcome.id, scenario: s.name, rep, warmup }, r.samples);
      env.reporter.samples?.(records);
    } catch (err) {
      if (env.signal.aborted) throw err;
      raw = (err as { raw?: RawOutput[] }).raw ?? [];
      result.status = 'failed';
      result.reason = repSignal.aborted ? `no result within the repetition's budget of ${(budgetMs / 1000).toFixed(0)} s` : describeError(err);
    }
    result.durationMs = Date.now() - startedAt.getTime();
    if (raw.length) result.raw = raw.map((f) => env.store.saveRaw(join(outcome.id, 'raw', f.name), f.text));
    outcome.reps.push(result);
    env.store.save();
    env.reporter.repFinished?.({ backend: outcome.id, outcome: result });
    if (result.status === 'failed' && (server.agent.broken || client.agent.broken)) {
      throw new Error(`a guest stopped answering during ${label}: ${result.reason}`);
    }
  }
}

function phaseTimer(record: RunRecord, store: RunStore) {
  return async <T>(phase: PhaseTiming['phase'], backend: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      record.phases.push({ phase, ...(backend ? { backend } : {}), ms: Date.now() - started });
      store.save();
    }
  };
}

async function closeScope(root: Scope, record: RunRecord): Promise<void> {
  try {
    await root.close();
  } catch (err) {
    record.notes.push(`cleanup: ${describeError(err)}`);
  }
}

function finish(record: RunRecord, store: RunStore): void {
  record.endedAt = new Date().toISOString();
  store.save();
  store.close();
}

function overallStatus(record: RunRecord): RunRecord['status'] {
  const ran = record.backends.filter((b) => b.status !== 'skipped');
  if (ran.length === 0 || ran.every((b) => b.status === 'failed')) return 'failed';
  if (ran.every((b) => b.status === 'ok') && record.notes.length === 0) return 'complete';
  return 'partial';
}

export function exitCodeFor(record: RunRecord): ExitCodeValue {
  switch (record.status) {
    case 'complete':
      return ExitCode.ok;
    case 'partial':
      return ExitCode.partial;
    case 'interrupted':
      return ExitCode.interrupted;
    default:
      return ExitCode.failed;
  }
}

function relativeTo(dir: string, path: string): string {
  return path.startsWith(dir + '/') ? path.slice(dir.length + 1) : path;
}
