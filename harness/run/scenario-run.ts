// One scenario on a booted pair of guests: prepare it, run the warm-up and the measured
// repetitions (each variant inside a measurement window), put every sample on disk before the next
// repetition, record each repetition's outcome in the tree, and undo the scenario's settings.

import { join } from 'node:path';
import type { ScenarioPlan } from '../config/plan.ts';
import { GuestError, StorageError, TimeoutError } from '../errors.ts';
import type { Sample } from '../samples.ts';
import { scenarioFor, type RawOutput, type RepResult, type ScenarioContext } from '../workloads/scenarios.ts';
import type { RunEnv } from './env.ts';
import type { RepOutcome } from './record.ts';
import type { ScenarioNode } from './tree.ts';
import { withDims, type Windows } from './windows.ts';

/**
 * A scenario whose preparation fails is recorded as failed (its repetitions blocked, with that
 * reason) and the next scenario runs; only a guest that stopped answering ends the path.
 */
export async function runScenario(env: RunEnv, node: ScenarioNode, s: ScenarioPlan, ctx: ScenarioContext, windows: Windows): Promise<void> {
  const impl = scenarioFor(s);
  const id = node.path.id;
  node.start();
  try {
    node.notes(await impl.prepare(ctx, s));
  } catch (err) {
    if (env.signal.aborted || guestLost(ctx)) throw err;
    const reason = `scenario could not be prepared: ${env.tree.describe(err, `${id} ${s.name} preparation`)}`;
    node.fail(reason);
    env.reporter.warn?.(`${id} ${s.name}: ${reason}`);
    return;
  }
  try {
    await runReps(env, node, s, ctx, windows);
    node.finish();
  } finally {
    if (!env.signal.aborted && !guestLost(ctx)) await impl.finish?.(ctx, s);
  }
}

async function runReps(env: RunEnv, node: ScenarioNode, s: ScenarioPlan, ctx: ScenarioContext, windows: Windows): Promise<void> {
  const impl = scenarioFor(s);
  const backend = node.path.id;
  const reps = [
    ...Array.from({ length: env.plan.warmup }, (_, i) => ({ warmup: true, rep: i })),
    ...Array.from({ length: env.plan.repetitions }, (_, i) => ({ warmup: false, rep: i })),
  ];
  const guestsOnPath = s.topology === 'guest-to-guest' ? 2 : 1;
  for (const { warmup, rep } of reps) {
    env.signal.throwIfAborted();
    const label = `${s.name}-${warmup ? 'warmup' : 'rep'}${rep}`;
    const budgetMs = impl.budgetSec(s) * 1000;
    const startedAt = new Date();
    env.reporter.repStarted?.({ backend, scenario: s.name, rep, warmup, budgetMs: budgetMs * impl.variants(s).length });
    const result: RepOutcome = { scenario: s.name, rep, warmup, status: 'ok', startedAt: startedAt.toISOString(), durationMs: 0 };
    const raw: RawOutput[] = [];
    const warnings = new Set<string>();
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
          ? { value: await run(), samples: [] as Sample[], warnings: [] as string[] }
          : await windows.measure({ kind: 'measure', backend, scenario: s.name, rep, warmup }, run, (r) => r.samples, guestsOnPath);
        raw.push(...measured.value.raw);
        measured.warnings.forEach((w) => warnings.add(w));
        const { records, rejected } = env.store.append({ backend, scenario: s.name, rep, warmup }, withDims([...measured.value.samples, ...measured.samples], variant.dims));
        rejected.forEach((w) => warnings.add(w));
        env.reporter.samples?.(records);
      }
    } catch (err) {
      if (env.signal.aborted || err instanceof StorageError) throw err;
      result.status = 'failed';
      result.reason = env.tree.describe(err, `${backend} ${label}`);
    }
    result.durationMs = Date.now() - startedAt.getTime();
    if (raw.length) result.raw = raw.map((f) => env.store.saveRaw(join(backend, 'raw', f.name), f.text));
    if (warnings.size) result.notes = [...warnings];
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
