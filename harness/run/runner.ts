// The run as a sequence of explicit phases: preflight -> image -> accelerator probe -> for each
// backend: set up, boot, (per scenario: prepare, warm-up, measured repetitions), tear down. Every
// sample is on disk before the next repetition starts; a failed repetition is recorded with its
// reason and the run goes on; teardown always runs, in reverse order of set-up.

import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { backends, pathList, pathProbes, type BackendId } from '../backends/registry.ts';
import type { RunPlan } from '../config/plan.ts';
import { ExitCode, HostError, StorageError, describeError, type ExitCodeValue } from '../errors.ts';
import { installFix, packageOf, probeHost, type HostFacts } from '../host/facts.ts';
import { acquireHostLock, recoverDeadRuns } from '../host/recovery.ts';
import { recordChildrenIn, selfIdentity, writeOwner } from '../host/registry.ts';
import { Scope } from '../host/scope.ts';
import { ensureImage } from '../image/build.ts';
import { runtimeRoot } from '../paths.ts';
import { chooseAccel } from '../vm/accel.ts';
import { runBackend } from './backend-run.ts';
import { phaseTimer, type RunEnv } from './env.ts';
import type { Reporter } from './progress.ts';
import { collectProvenance, newRunId } from './provenance.ts';
import { RUN_SCHEMA, type RunRecord } from './record.ts';
import { markRunInterrupted } from './recover.ts';
import { RunStore } from './store.ts';

export interface BenchOptions {
  plan: Readonly<RunPlan>;
  /** The command line, recorded in run.json. */
  argv: string[];
  resultsRoot: string;
  /** Guest image recipe folder (default: the project's images/). */
  imagesDir?: string;
  signal: AbortSignal;
  reporter: Reporter;
}

export interface BenchOutcome {
  runDir: string;
  record: RunRecord;
  exitCode: ExitCodeValue;
}

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
    backends: plan.backends.map((id) => ({ id, title: backends[id].title, status: 'pending', presentation: { ...backends[id].presentation }, notes: [], reps: [], files: [] })),
    phases: [],
    notes: [],
  };
  // One bench per host: take the lock before anything is created, then clean up after dead runs.
  const releaseLock = acquireHostLock(run);
  const root = new Scope(`run ${run}`);
  root.defer('release the host lock', releaseLock);
  let store: RunStore;
  let host: HostFacts;
  let runnable: BackendId[];
  const preflightStarted = Date.now();
  try {
    const recovered = await recoverDeadRuns(runtimeRoot, { markInterrupted: markRunInterrupted, paths: pathList });
    if (recovered.runs.length || recovered.netns.length) {
      reporter.phase?.(`removed what ${recovered.runs.length + recovered.netns.length} dead run(s) left behind: ${[...recovered.runs, ...recovered.netns].join(', ')}`);
    }
    // What the host cannot do stops the run before its results folder exists: nothing half-made.
    host = await probeHost(pathProbes(plan.backends.map((id) => backends[id])));
    if (!host.qemu) throw new HostError('qemu-system-x86_64 is not installed', installFix(packageOf.qemu));
    runnable = preflight(record, plan, host);
    if (runnable.length === 0) {
      throw new HostError(
        `none of the requested paths can run on this host:\n${record.backends.map((b) => `  ${b.id}: ${b.reason}`).join('\n')}`,
        [...new Set(record.backends.map((b) => b.fix).filter(Boolean))].join('; ') || undefined,
      );
    }
    store = new RunStore(runDir, record, hostname());
  } catch (err) {
    await root.close();
    throw err;
  }
  record.phases.push({ phase: 'preflight', ms: Date.now() - preflightStarted });
  reporter.runStarted?.({ run, dir: runDir, plan });
  for (const b of record.backends) if (b.status === 'skipped') reporter.backendSkipped?.(b);
  const runtimeDir = join(runtimeRoot, run);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  root.defer(`remove runtime directory ${runtimeDir}`, () => rmSync(runtimeDir, { recursive: true, force: true }));
  writeOwner(runtimeDir, { ...selfIdentity(), run, tag, resultsDir: runDir, startedAt: record.startedAt });
  recordChildrenIn(join(runtimeDir, 'pids'));
  root.defer('stop recording child processes', () => recordChildrenIn(undefined));
  const timed = phaseTimer(record, store);

  try {
    store.save();
    reporter.phase?.('guest image');
    const image = await timed('image', undefined, () => ensureImage({ log: (l) => reporter.phase?.(l), signal, ...(o.imagesDir ? { imagesDir: o.imagesDir } : {}) }));
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
    record.status = signal.aborted ? 'interrupted' : 'failed';
    record.error = describeError(signal.aborted ? signal.reason : err);
    for (const b of record.backends) if (b.status === 'pending' || b.status === 'running') b.status = b.reps.some((r) => r.status === 'ok') ? 'partial' : 'failed';
    await closeScope(root, record);
    finish(record, store);
    reporter.runFinished?.(record, runDir);
    throw signal.aborted ? signal.reason : err;
  }
  await closeScope(root, record);
  finish(record, store);
  reporter.runFinished?.(record, runDir);
  return { runDir, record, exitCode: exitCodeFor(record) };
}

/** Mark backends the host cannot run as skipped (with reason and fix); return the runnable ones. */
function preflight(record: RunRecord, plan: Readonly<RunPlan>, host: HostFacts): BackendId[] {
  const runnable: BackendId[] = [];
  for (const id of plan.backends) {
    const outcome = record.backends.find((b) => b.id === id)!;
    const unmet = backends[id].requirements(host).filter((r) => !r.ok && !r.optional);
    if (unmet.length === 0) {
      runnable.push(id);
      continue;
    }
    outcome.status = 'skipped';
    outcome.reason = unmet.map((r) => r.reason ?? `missing ${r.what}`).join('; ');
    const fixes = unmet.map((r) => r.fix).filter((f): f is string => Boolean(f));
    if (fixes.length) outcome.fix = fixes.join(' && ');
  }
  return runnable;
}

async function closeScope(root: Scope, record: RunRecord): Promise<void> {
  try {
    await root.close();
  } catch (err) {
    record.notes.push(`cleanup: ${describeError(err)}`);
  }
}

/**
 * Write the final record. When the disk is full this cannot succeed; the last run.json written
 * (atomically) stays valid and the error that stopped the run is what the user sees.
 */
function finish(record: RunRecord, store: RunStore): void {
  record.endedAt = new Date().toISOString();
  try {
    store.save();
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
  } finally {
    store.close();
  }
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
