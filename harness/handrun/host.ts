// The hand run's place on the host, taken the way a bench takes it, so that what a killed hand run
// leaves is found by the same recovery as a bench's (`recoverDeadRuns`, run by every bench and by
// `iopath doctor --clean`): the host lock for the whole command (its iopath runs go on under it), a
// runtime directory named like a run's with an owner file, the hand pair's QEMU process groups
// recorded in it while they run; the hand pair's network namespace carries the run's tag last, by
// the rule of the tap paths' (bare-pair.ts's handNetns), so recovery sweeps it once the run is dead.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathList } from '../backends/registry.ts';
import { acquireHostLock, recoverDeadRuns, type RecoveryReport } from '../host/recovery.ts';
import { recordChildrenIn, selfIdentity, writeOwner } from '../host/registry.ts';
import type { Scope } from '../host/scope.ts';
import { runtimeRoot } from '../paths.ts';
import { markRunInterrupted } from '../run/recover.ts';
import { newRunId } from '../run/provenance.ts';

export interface HandRunHost {
  run: string;
  tag: string;
  runtimeDir: string;
  /** What recovery removed before the hand run started. */
  recovered: RecoveryReport;
  /** Run `fn` with every process group it starts recorded in the runtime directory (stop them inside `fn`). */
  recording<T>(fn: () => Promise<T>): Promise<T>;
}

export interface ClaimOptions {
  /** Where the results of the command's iopath runs go (the owner file names it). */
  resultsDir: string;
  /** Parent of runtime directories (default: iopath's runtime root). */
  root?: string;
  /** Clean up after dead runs (default: recoverDeadRuns of `root` with every path's hook). */
  recover?: (root: string) => Promise<RecoveryReport>;
}

/**
 * Take the host lock (released when `scope` closes), clean up after dead runs and register the hand
 * run: its runtime directory with an owner file, removed when `scope` closes.
 */
export async function claimHost(scope: Scope, o: ClaimOptions): Promise<HandRunHost> {
  const root = o.root ?? runtimeRoot;
  const { run, tag } = newRunId();
  scope.defer('release the host lock', acquireHostLock(run, root));
  const recover = o.recover ?? ((r: string) => recoverDeadRuns(r, { markInterrupted: markRunInterrupted, paths: pathList }));
  const recovered = await recover(root);
  const runtimeDir = join(root, run);
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  scope.defer(`remove runtime directory ${runtimeDir}`, () => rmSync(runtimeDir, { recursive: true, force: true }));
  writeOwner(runtimeDir, { ...selfIdentity(), run, tag, resultsDir: o.resultsDir, startedAt: new Date().toISOString() });
  const pids = join(runtimeDir, 'pids');
  return {
    run,
    tag,
    runtimeDir,
    recovered,
    async recording(fn) {
      // One directory at a time per process: the command's iopath runs record into their own between.
      recordChildrenIn(pids);
      try {
        return await fn();
      } finally {
        recordChildrenIn(undefined);
      }
    },
  };
}
