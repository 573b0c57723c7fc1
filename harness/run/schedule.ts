// The order of a run's repetitions, decided before anything starts: in rounds (each round one
// repetition of every scenario on every path, the paths' order reversed every other round, so that
// a slow drift of the host falls on every path alike) or in blocks (all of one path, then the
// next). Rounds keep every path's guests booted; when the host's memory cannot hold them all, the
// run falls back to blocks and says why. Pure functions: the runner follows what they return.

/** One scenario's repetitions within a visit, in the order they run (warm-ups first). */
export interface VisitItem {
  scenario: string;
  reps: readonly { rep: number; warmup: boolean }[];
}

/** A stretch of the run spent on one path: one round of it, or its whole block. */
export interface Visit {
  /** The round (its measured repetition index); absent in blocks. */
  round?: number;
  backend: string;
  items: readonly VisitItem[];
  /** No later visit goes to this path: its scenarios are settled after it. */
  last: boolean;
}

export interface ScheduleInput {
  paths: readonly string[];
  scenarios: readonly string[];
  repetitions: number;
  warmup: number;
  mode: 'rounds' | 'blocks';
}

/**
 * The visits of a run. In rounds, round r visits the paths forward when r is even and backward when
 * it is odd (A B C, C B A, A B C, ...): every path is as often early as late in a round, and the two
 * paths at a turn are measured back to back. Warm-ups run in round 0, right before each scenario's
 * first measured repetition on that path.
 */
export function planVisits(o: ScheduleInput): Visit[] {
  const warmups = Array.from({ length: o.warmup }, (_, i) => ({ rep: i, warmup: true }));
  if (o.mode === 'blocks') {
    return o.paths.map((backend) => ({
      backend,
      items: o.scenarios.map((scenario) => ({ scenario, reps: [...warmups, ...Array.from({ length: o.repetitions }, (_, i) => ({ rep: i, warmup: false }))] })),
      last: true,
    }));
  }
  const visits: Visit[] = [];
  for (let round = 0; round < o.repetitions; round++) {
    const order = round % 2 === 0 ? o.paths : [...o.paths].reverse();
    for (const backend of order) {
      const reps = [...(round === 0 ? warmups : []), { rep: round, warmup: false }];
      visits.push({ round, backend, items: o.scenarios.map((scenario) => ({ scenario, reps })), last: round === o.repetitions - 1 });
    }
  }
  return visits;
}

/** What one path needs in host memory while its guests are up. */
export interface PathFootprint {
  id: string;
  /** MiB for the path's guests and QEMU processes, plus its helper processes. */
  memoryMiB: number;
}

/** QEMU's own memory beside a guest's RAM under TCG (translation buffer, device state, libraries). */
export const QEMU_OVERHEAD_MIB = 160;
/** Share of the host's available memory the guests of all paths may take together; the rest stays free. */
export const MEMORY_HEADROOM = 0.75;

export function pathFootprint(id: string, o: { guests: number; guestMemoryMiB: number; helperMemoryMiB?: number }): PathFootprint {
  return { id, memoryMiB: o.guests * (o.guestMemoryMiB + QEMU_OVERHEAD_MIB) + (o.helperMemoryMiB ?? 0) };
}

export interface OrderChoice {
  mode: 'rounds' | 'blocks';
  reason: string;
}

/**
 * Rounds when asked for and every path's guests and helpers fit in the host's available memory at
 * once (within {@link MEMORY_HEADROOM}); otherwise blocks, with the figures that decided it.
 */
export function chooseOrder(requested: 'rounds' | 'blocks', paths: readonly PathFootprint[], availableMiB: number): OrderChoice {
  if (requested === 'blocks') return { mode: 'blocks', reason: 'the profile asks for blocks (order: blocks)' };
  const need = paths.reduce((a, p) => a + p.memoryMiB, 0);
  const budget = Math.floor(availableMiB * MEMORY_HEADROOM);
  const figures = `${paths.length} path(s) need about ${need} MiB with every guest up; ${Math.round(MEMORY_HEADROOM * 100)} % of the ${availableMiB} MiB available is ${budget} MiB`;
  if (need <= budget) return { mode: 'rounds', reason: `every path's guests stay booted across rounds: ${figures}` };
  return { mode: 'blocks', reason: `fell back to blocks (one path after the other): ${figures}, so the paths' guests cannot all stay up` };
}
