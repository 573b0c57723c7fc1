// The run as a sequence of explicit phases: host lock and recovery -> preflight -> image ->
// accelerator probe -> the paths in rounds or blocks (rounds.ts: set up, boot, baseline, the
// repetitions in the chosen order, tear down). Every sample is on disk before the next repetition starts; a failed
// repetition is recorded with its reason and the run goes on; teardown always runs, in reverse order
// of set-up. The result is a tree (run.ts's RunTree) saved whole at every change. Everything that
// touches the machine is a seam (`BenchSeams`): unit tests run this same code on fakes.

import { mkdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { backends, pathProbes } from '../backends/registry.ts';
import type { NicBackend } from '../backends/types.ts';
import { seriesPaths } from '../backends/variant.ts';
import type { RunPlan } from '../config/plan.ts';
import { checkVariants } from '../config/variants.ts';
import { ExitCode, HostError, StorageError, UsageError, type ExitCodeValue } from '../errors.ts';
import { installFix, packageOf, probeHost, type ExtraProbes, type HostFacts } from '../host/facts.ts';
import { acquireHostLock, recoverDeadRuns, type RecoveryReport } from '../host/recovery.ts';
import { recordChildrenIn, selfIdentity, writeOwner } from '../host/registry.ts';
import { Scope } from '../host/scope.ts';
import { probeHostSpeed } from '../host/speed-probe.ts';
import { ensureImage, type GuestImage } from '../image/build.ts';
import { runtimeRoot } from '../paths.ts';
import { chooseAccel, type ProbeOptions } from '../vm/accel.ts';
import { queryDeviceHelp, type DeviceHelp } from '../vm/device-help.ts';
import type { RunEnv, RunSeams } from './env.ts';
import { qemuLauncher, standardCollectors } from './launcher.ts';
import { realPlacer, RunPlacement } from './placement-step.ts';
import type { Reporter } from './progress.ts';
import { collectProvenance, newRunId } from './provenance.ts';
import type { AccelChoice, Provenance, RunRecord } from './record.ts';
import { markRunInterrupted } from './recover.ts';
import { hostAvailableMiB, runPaths } from './rounds.ts';
import { RunStore } from './store.ts';
import { RunTree, type Frozen } from './tree.ts';

export interface BenchOptions {
  plan: Readonly<RunPlan>;
  /** The command line, recorded in run.json. */
  argv: string[];
  resultsRoot: string;
  /** Guest image recipe folder (default: the project's images/). */
  imagesDir?: string;
  signal: AbortSignal;
  reporter: Reporter;
  /** Replace what touches the machine (unit tests do); each default is the real thing. */
  seams?: Partial<BenchSeams>;
}

/** Every part of a bench that touches the machine. */
export interface BenchSeams extends RunSeams {
  /** One bench per host: take the lock (returns its release) and clean up after dead runs. */
  hostGuard: { lock(run: string): () => void; recover(paths: readonly NicBackend[]): Promise<RecoveryReport> };
  probeHost(probes: ExtraProbes): Promise<HostFacts>;
  image(o: { imagesDir?: string; log: (line: string) => void; signal: AbortSignal }): Promise<GuestImage>;
  accel(o: ProbeOptions): Promise<AccelChoice>;
  provenance(host: HostFacts, image: GuestImage, accel: AccelChoice): Promise<Provenance>;
  /** Parent of the run's private runtime directory. */
  runtimeRoot: string;
  /** Host memory available now, in MiB: decides whether every path's guests can stay up for rounds. */
  availableMemoryMiB(): number;
  /** The properties a QEMU binary lists for a device (`-device <driver>,help`): variants are checked against them. */
  deviceHelp(qemuBinary: string, driver: string): DeviceHelp;
}

export const realSeams: BenchSeams = {
  paths: new Map(Object.entries(backends)),
  launcher: qemuLauncher,
  collectors: standardCollectors,
  placer: realPlacer,
  speedProbe: probeHostSpeed,
  hostGuard: {
    lock: (run) => acquireHostLock(run),
    recover: (paths) => recoverDeadRuns(runtimeRoot, { markInterrupted: markRunInterrupted, paths }),
  },
  probeHost,
  image: (o) => ensureImage({ log: o.log, signal: o.signal, ...(o.imagesDir ? { imagesDir: o.imagesDir } : {}) }),
  accel: chooseAccel,
  provenance: collectProvenance,
  runtimeRoot,
  availableMemoryMiB: hostAvailableMiB,
  deviceHelp: queryDeviceHelp,
};

export interface BenchOutcome {
  runDir: string;
  record: Frozen<RunRecord>;
  exitCode: ExitCodeValue;
}

export async function runBench(o: BenchOptions): Promise<BenchOutcome> {
  const { plan, signal, reporter } = o;
  const seams: BenchSeams = { ...realSeams, ...o.seams };
  const { run, tag } = newRunId();
  const runDir = join(o.resultsRoot, run);
  const series = seriesPaths(plan.backends, plan.variants, seams.paths);
  const planned = plan.backends.map((id) => descriptor(series, seams, id));
  const tree = new RunTree({
    run,
    argv: o.argv,
    profile: { name: plan.profile.name, path: plan.profile.path, hash: plan.profile.hash, plan },
    paths: planned.map((p) => {
      const v = plan.variants.find((x) => x.id === p.id);
      return { id: p.id, title: p.title, presentation: p.presentation, ...(v ? { variant: { of: v.of, name: v.name, ...(v.description ? { description: v.description } : {}), device: { ...v.device }, ...(v.mtu !== undefined ? { mtu: v.mtu } : {}), ...(v.queues !== undefined ? { queues: v.queues } : {}) } } : {}) };
    }),
    scenarios: plan.scenarios.map((s) => s.name),
    repetitions: plan.repetitions,
    warmup: plan.warmup,
  });
  // One bench per host: take the lock before anything is created, then clean up after dead runs.
  const root = new Scope(`run ${run}`);
  root.defer('release the host lock', seams.hostGuard.lock(run));
  let store: RunStore;
  let host: HostFacts;
  let runnable: NicBackend[];
  const preflightStarted = Date.now();
  try {
    const recovered = await seams.hostGuard.recover([...seams.paths.values()]);
    if (recovered.runs.length || recovered.netns.length) {
      reporter.phase?.(`removed what ${recovered.runs.length + recovered.netns.length} dead run(s) left behind: ${[...recovered.runs, ...recovered.netns].join(', ')}`);
    }
    // What the host cannot do stops the run before its results folder exists: nothing half-made.
    host = await seams.probeHost(pathProbes(planned));
    if (!host.qemu) throw new HostError('qemu-system-x86_64 is not installed', installFix(packageOf.qemu));
    // Variants' device properties against what this QEMU lists for each path's NIC (exit 2 when one does not fit).
    if (plan.variants.length) {
      const qemu = host.qemu;
      checkVariants(plan.profile.path, plan.variants, seams.paths, (driver) => seams.deviceHelp(qemu.path, driver), qemu.version);
    }
    runnable = preflight(tree, planned, host);
    if (runnable.length === 0) {
      const skipped = tree.record.backends;
      throw new HostError(
        `none of the requested paths can run on this host:\n${skipped.map((b) => `  ${b.id}: ${b.reason}`).join('\n')}`,
        [...new Set(skipped.map((b) => b.fix).filter(Boolean))].join('; ') || undefined,
      );
    }
    store = new RunStore(runDir, run, hostname());
    tree.attach({ save: (r) => store.save(r), log: (t) => store.log(t) });
  } catch (err) {
    await root.close();
    throw err;
  }
  tree.phase('preflight', undefined, Date.now() - preflightStarted);
  reporter.runStarted?.({ run, dir: runDir, plan });
  for (const b of tree.record.backends) if (b.status === 'skipped') reporter.backendSkipped?.(b);
  const runtimeDir = join(seams.runtimeRoot, run);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  root.defer(`remove runtime directory ${runtimeDir}`, () => rmSync(runtimeDir, { recursive: true, force: true }));
  writeOwner(runtimeDir, { ...selfIdentity(), run, tag, resultsDir: runDir, startedAt: tree.record.startedAt });
  recordChildrenIn(join(runtimeDir, 'pids'));
  root.defer('stop recording child processes', () => recordChildrenIn(undefined));

  let stopped: { interrupted?: unknown; error?: unknown } = {};
  try {
    reporter.phase?.('guest image');
    const image = await tree.timed('image', undefined, () => seams.image({ log: (l) => reporter.phase?.(l), signal, ...(o.imagesDir ? { imagesDir: o.imagesDir } : {}) }));
    reporter.phase?.(plan.accel === 'tcg' ? 'accelerator: TCG (requested)' : 'probing KVM with a guest boot');
    const accel = await tree.timed('accel-probe', undefined, () =>
      seams.accel({ preference: plan.accel, host, qemuBinary: host.qemu!.path, image, runtimeDir, logDir: runDir, deadlineMs: plan.timeouts.probeSec * 1000, signal }),
    );
    reporter.phase?.(`accelerator: ${accel.kind.toUpperCase()} (${accel.reason})`);
    const provenance = await seams.provenance(host, image, accel);
    tree.provenance(provenance);
    // The run's CPUs are read here, before any path pins anything (iopath included).
    const placement = new RunPlacement(seams.placer, plan.placement);
    const env: RunEnv = { ...seams, plan, tree, store, tag, runtimeDir, host, image, accel, signal, reporter, placement, bootOneByOne: provenance.lab !== undefined };
    await runPaths(env, root, runnable, seams.availableMemoryMiB());
  } catch (err) {
    stopped = signal.aborted ? { interrupted: signal.reason } : { error: err };
  }
  try {
    await root.close();
  } catch (err) {
    tree.note(`cleanup: ${tree.describe(err, 'run cleanup')}`);
  }
  finish(tree, store, stopped);
  reporter.runFinished?.(tree.record, runDir);
  if (stopped.interrupted !== undefined) throw stopped.interrupted;
  if (stopped.error !== undefined) throw stopped.error;
  return { runDir, record: tree.record, exitCode: exitCodeFor(tree.record) };
}

function descriptor(series: ReadonlyMap<string, NicBackend>, seams: BenchSeams, id: string): NicBackend {
  const path = series.get(id);
  if (!path) throw new UsageError(`no path named ${id} (known: ${[...seams.paths.keys()].join(', ')})`);
  return path;
}

/** Mark paths the host cannot run as skipped (with reason and fix); return the runnable ones. */
function preflight(tree: RunTree, paths: readonly NicBackend[], host: HostFacts): NicBackend[] {
  return paths.filter((p) => {
    const unmet = p.requirements(host).filter((r) => !r.ok && !r.optional);
    if (unmet.length === 0) return true;
    const fixes = unmet.map((r) => r.fix).filter((f): f is string => Boolean(f));
    tree.skip(p.id, unmet.map((r) => r.reason ?? `missing ${r.what}`).join('; '), fixes.length ? fixes.join(' && ') : undefined);
    return false;
  });
}

/**
 * Settle and write the final tree. When the disk is full this cannot succeed; the last run.json
 * written (atomically) stays valid and the error that stopped the run is what the user sees.
 */
function finish(tree: RunTree, store: RunStore, stopped: { interrupted?: unknown; error?: unknown }): void {
  try {
    tree.finish(stopped);
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
  } finally {
    store.close();
  }
}

export function exitCodeFor(record: Pick<RunRecord, 'status'>): ExitCodeValue {
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
