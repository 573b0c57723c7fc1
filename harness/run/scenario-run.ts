// One scenario on a booted pair of guests: prepare it, run the warm-up and the measured
// repetitions (each variant inside a measurement window), put every sample on disk before the next
// repetition, record each repetition's outcome in the tree, and undo the scenario's settings.

import { join, relative } from 'node:path';
import type { ScenarioPlan } from '../config/plan.ts';
import { GuestError, StorageError, TimeoutError } from '../errors.ts';
import type { Sample } from '../samples.ts';
import { scenarioFor, type RawOutput, type RepResult, type ScenarioContext } from '../workloads/scenarios.ts';
import type { RunEnv } from './env.ts';
import type { IntrusionRecord, RepOutcome } from './record.ts';
import type { ScenarioNode } from './tree.ts';
import { withDims, type Windows } from './windows.ts';

/** The repetitions of one scenario in one visit of its path (a round, or the whole block). */
export interface ScenarioVisit {
  round?: number;
  reps: readonly { rep: number; warmup: boolean }[];
  /** The path's last visit: the scenario is settled from its repetitions afterwards. */
  last: boolean;
}

/** Statuses after which a scenario runs no more repetitions. */
const SETTLED = new Set(['ok', 'partial', 'failed', 'skipped', 'blocked']);

/**
 * One visit of a scenario: prepare it (servers, settings), run the visit's repetitions, undo its
 * settings, so that the next scenario and the next round start from the same guest state. A
 * scenario whose preparation fails is recorded as failed (its repetitions blocked, with that reason)
 * and not tried again; only a guest that stopped answering ends the path.
 */
export async function runScenario(env: RunEnv, node: ScenarioNode, s: ScenarioPlan, ctx: ScenarioContext, windows: Windows, visit: ScenarioVisit): Promise<void> {
  if (SETTLED.has(node.record.status)) return;
  const impl = scenarioFor(s);
  const id = node.path.id;
  const first = node.record.status === 'pending';
  if (first) node.start();
  try {
    const notes = await env.tree.timed('scenario-prepare', id, () => impl.prepare(ctx, s));
    // Each visit prepares again; what it has to say was said the first time.
    if (first) node.notes(notes);
  } catch (err) {
    if (env.signal.aborted || guestLost(ctx)) throw err;
    const reason = `scenario could not be prepared: ${env.tree.describe(err, `${id} ${s.name} preparation`)}`;
    node.fail(reason);
    env.reporter.warn?.(`${id} ${s.name}: ${reason}`);
    return;
  }
  try {
    await runReps(env, node, s, ctx, windows, visit);
    if (visit.last) node.finish();
  } finally {
    if (!env.signal.aborted && !guestLost(ctx) && impl.finish) await env.tree.timed('scenario-prepare', id, () => impl.finish!(ctx, s));
  }
}

/**
 * A warm-up repetition runs the scenario with shorter traffic (profile warmupSec) and nothing omitted
 * at its start: its numbers are thrown away, so seconds left out of them would only cost time.
 */
export function warmupPlan(s: ScenarioPlan, warmupSec: number): ScenarioPlan {
  return { ...s, durationSec: Math.min(s.durationSec, warmupSec), ...('omitSec' in s ? { omitSec: 0 } : {}) };
}

async function runReps(env: RunEnv, node: ScenarioNode, planned: ScenarioPlan, ctx: ScenarioContext, windows: Windows, visit: ScenarioVisit): Promise<void> {
  const impl = scenarioFor(planned);
  const backend = node.path.id;
  const guestsOnPath = planned.topology === 'guest-to-guest' ? 2 : 1;
  for (const { warmup, rep } of visit.reps) {
    env.signal.throwIfAborted();
    const s = warmup ? warmupPlan(planned, env.plan.warmupSec) : planned;
    const label = `${s.name}-${warmup ? 'warmup' : 'rep'}${rep}`;
    const budgetMs = impl.budgetSec(s) * 1000;
    const startedAt = new Date();
    env.reporter.repStarted?.({ backend, scenario: s.name, rep, warmup, budgetMs: budgetMs * impl.variants(s).length });
    const result: RepOutcome = { scenario: s.name, rep, warmup, status: 'ok', startedAt: startedAt.toISOString(), durationMs: 0 };
    const raw: RawOutput[] = [];
    const warnings = new Set<string>();
    const intrusions: IntrusionRecord[] = [];
    let stopped = true;
    // The host's speed around the measured windows, so that a reader can tell a slow path from a
    // slow moment of the host (see host/speed-probe.ts); not for warm-ups, whose numbers are dropped.
    if (!warmup) result.hostProbe = { before: env.speedProbe() };
    try {
      for (const variant of impl.variants(s)) {
        const variantLabel = variant.suffix ? `${label}.${variant.suffix}` : label;
        const repSignal = AbortSignal.any([env.signal, AbortSignal.timeout(budgetMs)]);
        const run = async (trafficDone?: () => void): Promise<RepResult> => {
          try {
            return await impl.run({ ...ctx, signal: repSignal, ...(trafficDone ? { trafficDone } : {}) }, s, variantLabel, variant);
          } catch (err) {
            raw.push(...((err as { raw?: RawOutput[] }).raw ?? []));
            if (repSignal.aborted && !env.signal.aborted) throw new TimeoutError(`${variantLabel} (the repetition's time budget)`, budgetMs, err);
            throw err;
          }
        };
        // Warm-up repetitions only warm up: no collectors, nothing to normalise.
        const measured = warmup
          ? { value: await run(), samples: [] as Sample[], warnings: [] as string[], intrusions: [] }
          : await windows.measure({ kind: 'measure', backend, scenario: s.name, rep, warmup }, run, (r) => r.samples, guestsOnPath);
        raw.push(...measured.value.raw);
        measured.value.notes?.forEach((w) => warnings.add(w));
        measured.warnings.forEach((w) => warnings.add(w));
        for (const i of measured.intrusions) intrusions.push({ ...i, files: i.files.map((f) => relative(env.store.dir, f)) });
        const { records, rejected } = env.store.append({ backend, scenario: s.name, rep, warmup }, withDims([...measured.value.samples, ...measured.samples], variant.dims));
        rejected.forEach((w) => warnings.add(w));
        env.reporter.samples?.(records);
      }
      stopped = false;
      if (result.hostProbe) result.hostProbe.after = env.speedProbe();
    } catch (err) {
      if (env.signal.aborted || err instanceof StorageError) throw err;
      result.status = 'failed';
      result.reason = env.tree.describe(err, `${backend} ${label}`);
      stopped = false;
    } finally {
      const ended = Date.now();
      if (warmup) env.tree.phase('warmup', backend, ended - startedAt.getTime(), startedAt.getTime());
      // A repetition cut by an interruption is in the order too (blocked), to show where the run stopped.
      const status = stopped ? 'blocked' : result.status;
      env.tree.step({ ...(visit.round === undefined ? {} : { round: visit.round }), backend, scenario: s.name, rep, warmup, startedAt: startedAt.toISOString(), endedAt: new Date(ended).toISOString(), status });
    }
    result.durationMs = Date.now() - startedAt.getTime();
    if (raw.length) result.raw = raw.map((f) => env.store.saveRaw(join(backend, 'raw', f.name), f.text));
    if (warnings.size) result.notes = [...warnings];
    // Kept whatever became of the repetition: its statistics leave it out either way (see flame.ts).
    if (intrusions.length) result.intrusions = intrusions;
    node.rep(result);
    env.reporter.repFinished?.({ backend, outcome: result });
    if (result.status === 'failed' && guestLost(ctx)) {
      throw new GuestError(`a guest stopped answering during ${label}: ${result.reason}`);
    }
  }
}

function guestLost(ctx: ScenarioContext): boolean {
  return ctx.guests.some((g) => g.agent?.broken !== undefined);
}
