// CPU placement on real guests: a short bench with placement auto on a tap path and on iopath's own
// switch, watched while the guests are up: every vCPU thread (found through QMP, independently of
// the placer) is allowed exactly the core run.json records for it, the switch's threads are on
// theirs, each path is planned on all the run's CPUs even when the other is already up and pinned
// (rounds), iopath's own affinity is given back afterwards; and with placement none nothing is pinned.

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { allowedCpus, ownCpus, tasksOf } from '../../harness/host/affinity.ts';
import { formatCpuList } from '../../harness/host/placement.ts';
import { projectRoot } from '../../harness/paths.ts';
import { realPlacer, type Placer } from '../../harness/run/placement-step.ts';
import { runRecordSchema, type RunRecord } from '../../harness/run/record.ts';
import { runBench } from '../../harness/run/runner.ts';
import { firstReason, leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const ADDON = join(projectRoot, 'harness', 'vhost-user', 'native', 'build', 'Release', 'vhost_user_native.node');
const guests = needs('CPU placement on real guests', firstReason(whyNoGuests(), existsSync(ADDON) ? undefined : 'needs the switch\'s native addon (npm run build:native)'));

/** What a vCPU thread was allowed to run on while its guest was up, seen from outside the placer. */
interface Seen {
  path: number;
  guest: string;
  tid: number;
  allowed: string | undefined;
}

/** The real placer, plus a look at every vCPU thread and helper thread right after it placed them. */
function watching(seen: Seen[], helpers: { path: number; role: string; allowed: string[] }[]): Placer {
  let path = -1;
  return {
    ...realPlacer,
    async apply(req) {
      const applied = await realPlacer.apply(req);
      path++;
      for (const g of req.guests) {
        const cpus = await g.qmp.execute<{ 'thread-id': number }[]>('query-cpus-fast');
        for (const c of cpus) seen.push({ path, guest: g.name, tid: c['thread-id'], allowed: allowedCpus(g.pid, c['thread-id']) });
      }
      for (const h of req.helpers) helpers.push({ path, role: h.role, allowed: tasksOf(h.pid).map((t) => allowedCpus(h.pid, t.tid) ?? 'gone') });
      return applied;
    },
  };
}

async function bench(placement: 'auto' | 'none', backends: string, placer: Placer): Promise<RunRecord> {
  const plan = resolvePlan(loadProfile('quick'), { accel: 'tcg', reps: 1, warmup: 0, duration: 2, backends, placement });
  const resultsRoot = mkdtempSync(join(tmpdir(), 'iopath-placement-'));
  await runBench({ plan: { ...plan, scenarios: plan.scenarios.filter((s) => s.kind === 'tcp-stream') }, argv: ['placement test'], resultsRoot, signal: AbortSignal.timeout(540_000), reporter: {}, seams: { placer } });
  const dir = join(resultsRoot, readdirSync(resultsRoot)[0]!);
  return runRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')));
}

describe('CPU placement', () => {
  guests.it('auto pins every vCPU thread where run.json says, on a tap path and on the switch; none pins nothing', async () => {
    const mine = formatCpuList(ownCpus());
    const seen: Seen[] = [];
    const helpers: { path: number; role: string; allowed: string[] }[] = [];
    const auto = await bench('auto', 'e1000,vhost-user-ts', watching(seen, helpers));
    expect(auto.backends.map((b) => `${b.id}:${b.status}`)).toEqual(['e1000:ok', 'vhost-user-ts:ok']);
    expect(formatCpuList(ownCpus())).toBe(mine); // iopath gave its own affinity back
    expect(seen.filter((s) => s.path === 0)).toHaveLength(2);
    expect(seen.filter((s) => s.path === 1)).toHaveLength(2);
    // In rounds both paths are up at once: each is planned on the run's CPUs as if alone (the second
    // is not squeezed onto the core the first holds iopath on), and names the other as alongside.
    const rounds = auto.schedule!.mode === 'rounds';
    console.log(`order: ${auto.schedule!.mode} (${auto.schedule!.reason})`);
    for (const [i, b] of auto.backends.entries()) {
      const p = b.placement!;
      expect(p.policy).toBe('auto');
      expect(p.notes).toEqual([]);
      expect(p.cpus).toBe(mine);
      const vcpuCore = (g: string) => p.units!.find((u) => u.id === `vcpu ${g}/0`)!.cpu;
      if (ownCpus().length >= 2) expect(vcpuCore('a')).not.toBe(vcpuCore('b'));
      if (rounds) expect(p.alongside).toEqual([auto.backends[1 - i]!.id]);
      for (const s of seen.filter((x) => x.path === i)) {
        const unit = p.units!.find((u) => u.id === `vcpu ${s.guest}/0`)!;
        const rec = p.threads.find((t) => t.tid === s.tid)!;
        console.log(`${b.id}: guest ${s.guest} vCPU thread ${s.tid} allowed ${s.allowed} (run.json: pinned ${rec.pinned}, allowed ${rec.allowed})`);
        expect(rec).toMatchObject({ kind: 'vcpu', pinned: String(unit.cpu), allowed: String(unit.cpu) });
        expect(s.allowed).toBe(String(unit.cpu));
      }
      // Every thread iopath pinned was allowed exactly its core when read back.
      expect(p.threads.filter((t) => t.pinned !== undefined && t.pinned !== t.allowed)).toEqual([]);
      if (p.shared?.length) console.log(`${b.id} shares cores: ${p.shared.map((s) => `core ${s.cpu}: ${s.units.join(', ')}`).join('; ')}`);
      console.log(`${b.id} other load: ${p.otherLoad?.detail}`);
    }
    const sw = helpers.find((h) => h.path === 1 && h.role === 'switch')!;
    const swCore = String(auto.backends[1]!.placement!.units!.find((u) => u.id === 'helper switch')!.cpu);
    expect(new Set(sw.allowed)).toEqual(new Set([swCore]));
    expect(auto.readiness!.items.map((i) => i.id)).toEqual(['governor', 'boost', 'smt', 'isolation', 'irq', 'hugepages', 'load']);
    expect(leftovers(auto.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });

    const seenNone: Seen[] = [];
    const none = await bench('none', 'e1000', watching(seenNone, []));
    expect(none.backends[0]!.status).toBe('ok');
    expect(seenNone).toHaveLength(2);
    for (const s of seenNone) expect(s.allowed).toBe(mine);
    const p = none.backends[0]!.placement!;
    expect(p.policy).toBe('none');
    expect(p.units).toBeUndefined();
    expect(p.threads.filter((t) => t.pinned !== undefined)).toEqual([]);
    expect(p.threads.filter((t) => t.kind === 'vcpu').map((t) => t.allowed)).toEqual([mine, mine]);
    expect(leftovers(none.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 600_000);
});
