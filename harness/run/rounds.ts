// The run's paths in the order the schedule chose: in rounds, every path is brought up first, their
// idle baselines measured in one window together, and each path parked between its turns (guests
// stopped, a busy-polling helper quiet); each round visits the paths in alternating order, and all
// are torn down together at the end. In blocks, one path after the other, the next path's set-up and
// boot overlapping the previous path's teardown (which mostly waits for processes to exit). In
// groups (a path with its variants, when not every path fits in memory at once), one group after
// the other, each in rounds when it fits on its own, else in blocks. A path that fails is settled
// and torn down at once; the others go on.

import { readFileSync } from 'node:fs';
import type { NicBackend } from '../backends/types.ts';
import { GUEST_NAMES } from '../host/identity.ts';
import type { Scope } from '../host/scope.ts';
import type { RunEnv } from './env.ts';
import { bringUp, measureIdle, park, runVisit, tearDown, type PathSession } from './path-run.ts';
import { chooseOrder, pathFootprint, planVisits, type Visit } from './schedule.ts';

/** MemAvailable of /proc/meminfo in MiB (what can be taken without swapping). */
export function hostAvailableMiB(): number {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Math.floor(Number(m[1]) / 1024) : 0;
}

export async function runPaths(env: RunEnv, root: Scope, paths: readonly NicBackend[], availableMiB: number): Promise<void> {
  const { plan, tree, reporter } = env;
  const footprints = paths.map((p) =>
    pathFootprint(p.id, {
      guests: GUEST_NAMES.length,
      guestMemoryMiB: plan.guest.memoryMiB,
      ...(p.helperMemoryMiB ? { helperMemoryMiB: p.helperMemoryMiB } : {}),
      ...(p.presentation.variantOf ? { variantOf: p.presentation.variantOf } : {}),
    }),
  );
  const choice = chooseOrder(plan.order, footprints, availableMiB);
  tree.schedule({ requested: plan.order, mode: choice.mode, reason: choice.reason, ...(choice.groups ? { groups: choice.groups } : {}) });
  reporter.phase?.(`order: ${choice.mode}${choice.groups ? ` within ${choice.groups.length} groups` : ''} (${choice.reason})`);
  const visits = planVisits({
    paths: paths.map((p) => p.id),
    scenarios: plan.scenarios.map((s) => s.name),
    repetitions: plan.repetitions,
    warmup: plan.warmup,
    mode: choice.mode,
    ...(choice.groups ? { groups: choice.groups } : {}),
  });

  for (const group of choice.groups ?? [{ paths: paths.map((p) => p.id), mode: choice.mode }]) {
    const members = paths.filter((p) => group.paths.includes(p.id));
    const mine = visits.filter((v) => group.paths.includes(v.backend));
    await (group.mode === 'rounds' ? runRounds(env, root, members, mine) : runBlocks(env, root, members, mine));
  }
}

/** One path after the other, the next one's set-up and boot overlapping the teardown of the one before. */
async function runBlocks(env: RunEnv, root: Scope, paths: readonly NicBackend[], visits: readonly Visit[]): Promise<void> {
  let previous: Promise<void> | undefined;
  try {
    for (const path of paths) {
      env.signal.throwIfAborted();
      const session = await bringUp(env, root, path);
      await previous;
      previous = undefined;
      if (!session) continue;
      for (const v of visits.filter((x) => x.backend === path.id)) await runVisit(env, session, v, { quietAfter: false });
      previous = tearDown(env, session);
    }
  } finally {
    await previous;
  }
}

/**
 * Paths measured in rounds among themselves: every path up (a busy poller quiet while the next
 * boots), then one idle window for all of them, then each path parked (guests stopped, poller quiet)
 * until its turn; all torn down together at the end.
 */
async function runRounds(env: RunEnv, root: Scope, paths: readonly NicBackend[], visits: readonly Visit[]): Promise<void> {
  const { tree, signal } = env;
  const sessions: PathSession[] = [];
  for (const path of paths) {
    signal.throwIfAborted();
    const session = await bringUp(env, root, path, { idle: false });
    if (session) sessions.push(session);
  }
  await measureIdle(env, sessions);
  // Alone, a path has nobody to make room for.
  if (sessions.length > 1) for (const session of sessions) if (!session.done) await parkOrEnd(env, session);
  for (const [i, v] of visits.entries()) {
    signal.throwIfAborted();
    const session = sessions.find((s) => s.path.id === v.backend);
    if (!session || session.fatal !== undefined) continue;
    // Parked after its visit when another path is measured next (not before the teardown).
    const next = visits[i + 1];
    await runVisit(env, session, v, { quietAfter: next !== undefined && next.backend !== v.backend });
  }
  const open = sessions.filter((s) => !s.done);
  if (open.length) await tree.timed('teardown', undefined, () => Promise.all(open.map((s) => tearDown(env, s, { timed: false }))));
}

/** Park the path until its turn; when that fails the path ends there (recorded, torn down). */
async function parkOrEnd(env: RunEnv, session: PathSession): Promise<void> {
  try {
    await park(env, session);
  } catch (err) {
    if (env.signal.aborted) throw err;
    session.fatal = `pausing it between its turns failed: ${env.tree.describe(err, `${session.path.id} pause`)}`;
    env.reporter.warn?.(`${session.path.id}: ${session.fatal}`);
    await tearDown(env, session);
  }
}
