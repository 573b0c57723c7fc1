// Where a run's wall time went, from the phases run.json records: the measured traffic windows
// against everything around them (image, boot, baseline, warm-ups, collector start and stop,
// teardown). The bench prints it at the end and the report's Methods repeats it.

import type { RunRecord, WallRecord } from './record.ts';

/** Phases that only contain others (older runs): left out of the sums so nothing counts twice. */
const CONTAINERS = new Set(['measure']);

/** The wall-time account of a finished run; undefined when it has no end time. */
export function wallTime(record: Pick<RunRecord, 'startedAt' | 'endedAt' | 'phases'>): WallRecord | undefined {
  if (!record.endedAt) return undefined;
  const totalMs = Math.max(0, Date.parse(record.endedAt) - Date.parse(record.startedAt));
  // Phases of several paths can overlap (their idle baselines measured together): each phase counts
  // the wall time it covered, not the sum of its parts.
  const spans: Record<string, [number, number][]> = {};
  const byPhase: Record<string, number> = {};
  for (const p of record.phases) {
    if (CONTAINERS.has(p.phase)) continue;
    const start = p.startedAt === undefined ? NaN : Date.parse(p.startedAt);
    if (Number.isNaN(start)) byPhase[p.phase] = (byPhase[p.phase] ?? 0) + p.ms;
    else (spans[p.phase] ??= []).push([start, start + p.ms]);
  }
  for (const [phase, list] of Object.entries(spans)) byPhase[phase] = (byPhase[phase] ?? 0) + coveredMs(list);
  const accounted = Object.values(byPhase).reduce((a, b) => a + b, 0);
  byPhase.other = Math.max(0, totalMs - accounted);
  const measuredMs = byPhase.window ?? 0;
  return { totalMs, measuredMs, outsideFraction: totalMs > 0 ? 1 - measuredMs / totalMs : 0, byPhase };
}

/** Length of the union of [start, end) intervals. */
function coveredMs(spans: [number, number][]): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of sorted) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total;
}

const LABELS: Record<string, string> = {
  preflight: 'preflight',
  image: 'image',
  'accel-probe': 'accelerator probe',
  setup: 'path set-up',
  boot: 'boot',
  network: 'guest network',
  'collectors-prepare': 'collector checks',
  'idle-baseline': 'idle baseline',
  'scenario-prepare': 'scenario set-up',
  warmup: 'warm-up',
  'collectors-start': 'collector start',
  'collectors-stop': 'collector stop and results',
  pause: 'pausing pollers',
  teardown: 'teardown',
  other: 'other',
};

/** One line: the fraction outside measured windows and the largest parts of it. */
export function describeWall(w: WallRecord): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const parts = Object.entries(w.byPhase)
    .filter(([k, ms]) => k !== 'window' && ms >= 50)
    .sort((a, b) => b[1] - a[1])
    .map(([k, ms]) => `${LABELS[k] ?? k} ${s(ms)}`);
  return `wall time ${s(w.totalMs)}, of which ${s(w.measuredMs)} in measured windows: ${(w.outsideFraction * 100).toFixed(1)} % outside them (${parts.join(', ')})`;
}
