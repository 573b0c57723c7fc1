// The idle baseline: what each path's guests and threads cost at rest (guests booted, no traffic),
// measured once per path before its repetitions and subtracted from every measured window. It is
// not a scenario: the report shows it as one small table, as rates per second.

import type { RunRecord } from '../run/record.ts';
import type { SampleRecord } from '../samples.ts';
import { groupSamples } from '../stats/series.ts';
import { countParts } from './costs.ts';
import { sourceName } from './format.ts';

/** The scenario name under which the runner stores the idle window's samples. */
export const IDLE_SCENARIO = 'idle';

/** The runner's cap on the idle window (harness/run/path-run.ts, MAX_IDLE_SEC). */
const MAX_IDLE_SEC = 10;

export interface IdleCount {
  guest: string;
  /** `device accesses (software emulation)` or `VM exits`. */
  what: string;
  source: string;
  /** Everything the collector counted at rest, and the part on the network path (as summed in the cost figures). */
  total: number;
  counted: number;
  /** Per second, when the window's length is known. */
  totalPerSec: number | null;
  countedPerSec: number | null;
}

export interface IdleCpu {
  role: string;
  seconds: number;
  /** CPU seconds per second of window: how many cores the role keeps busy at rest. */
  cores: number | null;
}

export interface IdleView {
  host: string;
  backend: string;
  /** Length of the idle window in seconds, or null when neither run.json nor the plan says. */
  windowSec: number | null;
  /** Where the length came from: recorded by the runner, or derived from the profile's plan. */
  windowFrom: 'recorded' | 'plan' | 'unknown';
  counts: IdleCount[];
  cpu: IdleCpu[];
}

interface PlanScenario {
  kind?: string;
  durationSec?: number;
  omitSec?: number;
}

/**
 * The idle window's length: `backends[].idleWindowSec` when the runner records it; otherwise as the
 * runner chooses it, the longest traffic window of the plan's scenarios (duration plus omitted
 * warm-up seconds; latency has none) between 1 and 10 s.
 */
export function idleWindowSec(record: RunRecord, backend: string): { sec: number | null; from: IdleView['windowFrom'] } {
  const b = record.backends.find((x) => x.id === backend) as { idleWindowSec?: unknown } | undefined;
  if (typeof b?.idleWindowSec === 'number' && b.idleWindowSec > 0) return { sec: b.idleWindowSec, from: 'recorded' };
  const plan = record.profile.plan as { scenarios?: PlanScenario[] } | undefined;
  const secs = (plan?.scenarios ?? []).flatMap((s) => (typeof s.durationSec === 'number' ? [s.durationSec + (s.kind === 'latency' ? 0 : (s.omitSec ?? 0))] : []));
  if (secs.length === 0) return { sec: null, from: 'unknown' };
  return { sec: Math.min(MAX_IDLE_SEC, Math.max(1, ...secs)), from: 'plan' };
}

/** One row per path that has idle samples. */
export function idleViews(record: RunRecord, samples: readonly SampleRecord[], host: string): IdleView[] {
  const idle = samples.filter((s) => s.scenario === IDLE_SCENARIO && !s.warmup);
  const out: IdleView[] = [];
  for (const backend of [...new Set(idle.map((s) => s.backend))]) {
    const series = groupSamples(
      idle.filter((s) => s.backend === backend),
      { defaultHost: host },
    );
    const { sec, from } = idleWindowSec(record, backend);
    const perSec = (v: number) => (sec ? v / sec : null);
    const counts: IdleCount[] = [];
    for (const [metric, count] of [
      ['deviceAccesses', 'device-accesses'],
      ['exits', 'exits'],
    ] as const) {
      const of = series.filter((s) => s.metric === metric);
      const guests = [...new Set(of.map((s) => String(s.dims.guest ?? '')))].filter(Boolean).sort();
      for (const guest of guests) {
        const choice = countParts(count, of, {}, guest);
        if (!choice) continue;
        const value = (ss: readonly { points: { value: number }[] }[]) => ss.reduce((a, s) => a + s.points.reduce((x, p) => x + p.value, 0), 0);
        const all = choice.over === 'region' ? of.filter((s) => s.dims.guest === guest) : choice.parts;
        const total = value(all);
        const counted = value(choice.parts);
        counts.push({
          guest,
          what: choice.what,
          source: [...new Set(all.flatMap((s) => s.sources).map((s) => sourceName(s)))].join(', '),
          total,
          counted,
          totalPerSec: perSec(total),
          countedPerSec: perSec(counted),
        });
      }
    }
    const cpuByRole = new Map<string, number>();
    for (const s of series.filter((x) => x.metric === 'hostCpu')) {
      const role = String(s.dims.role ?? 'all threads');
      cpuByRole.set(role, (cpuByRole.get(role) ?? 0) + s.points.reduce((a, p) => a + p.value, 0));
    }
    const cpu = [...cpuByRole.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([role, seconds]) => ({ role, seconds, cores: perSec(seconds) }));
    out.push({ host, backend, windowSec: sec, windowFrom: from, counts, cpu });
  }
  return out;
}
