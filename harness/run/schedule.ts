// The order of a run's repetitions, decided before anything starts: in rounds (each round one
// repetition of every scenario on every path, the paths' order reversed every other round, so that
// a slow drift of the host falls on every path alike) or in blocks (all of one path, then the
// next). Rounds keep every path's guests booted; when the host's memory cannot hold them all but
// can hold each path together with its variants, the groups run one after the other, each in
// rounds (a variant is compared with its own path, so that is the pairing that matters); when not
// even that fits, the run falls back to blocks. Either way it says why. Pure functions: the runner
// follows what they return.

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

/** Paths measured one group after the other: in rounds among themselves, or one after the other. */
export interface ScheduleGroup {
  paths: string[];
  mode: 'rounds' | 'blocks';
}

export interface ScheduleInput {
  paths: readonly string[];
  scenarios: readonly string[];
  repetitions: number;
  warmup: number;
  mode: 'rounds' | 'blocks';
  /** In rounds: groups of paths one after the other, each in rounds among itself or in blocks; absent: all together. */
  groups?: readonly ScheduleGroup[];
}

/**
 * The visits of a run. In rounds, round r visits the paths forward when r is even and backward when
 * it is odd (A B C, C B A, A B C, ...): every path is as often early as late in a round, and the two
 * paths at a turn are measured back to back. Warm-ups run in round 0, right before each scenario's
 * first measured repetition on that path. With groups, each group's rounds run to the end before
 * the next group's first.
 */
export function planVisits(o: ScheduleInput): Visit[] {
  const warmups = Array.from({ length: o.warmup }, (_, i) => ({ rep: i, warmup: true }));
  const groups = o.groups ?? [{ paths: [...o.paths], mode: o.mode }];
  return groups.flatMap((g) => (g.mode === 'rounds' ? roundsOf(g.paths, o.scenarios, o.repetitions, warmups) : blocksOf(g.paths, o.scenarios, o.repetitions, warmups)));
}

function blocksOf(paths: readonly string[], scenarios: readonly string[], repetitions: number, warmups: readonly { rep: number; warmup: boolean }[]): Visit[] {
  return paths.map((backend) => ({
    backend,
    items: scenarios.map((scenario) => ({ scenario, reps: [...warmups, ...Array.from({ length: repetitions }, (_, i) => ({ rep: i, warmup: false }))] })),
    last: true,
  }));
}

function roundsOf(paths: readonly string[], scenarios: readonly string[], repetitions: number, warmups: readonly { rep: number; warmup: boolean }[]): Visit[] {
  const visits: Visit[] = [];
  for (let round = 0; round < repetitions; round++) {
    const order = round % 2 === 0 ? paths : [...paths].reverse();
    for (const backend of order) {
      const reps = [...(round === 0 ? warmups : []), { rep: round, warmup: false }];
      visits.push({ round, backend, items: scenarios.map((scenario) => ({ scenario, reps })), last: round === repetitions - 1 });
    }
  }
  return visits;
}

/** What one path needs in host memory while its guests are up. */
export interface PathFootprint {
  id: string;
  /** The path a variant varies (its group); absent for a path measured with QEMU's defaults. */
  variantOf?: string;
  /** MiB for the path's guests and QEMU processes, plus its helper processes. */
  memoryMiB: number;
}

/** QEMU's own memory beside a guest's RAM under TCG (translation buffer, device state, libraries). */
export const QEMU_OVERHEAD_MIB = 160;
/** Share of the host's available memory the guests of all paths may take together; the rest stays free. */
export const MEMORY_HEADROOM = 0.75;

export function pathFootprint(id: string, o: { guests: number; guestMemoryMiB: number; helperMemoryMiB?: number; variantOf?: string }): PathFootprint {
  return { id, memoryMiB: o.guests * (o.guestMemoryMiB + QEMU_OVERHEAD_MIB) + (o.helperMemoryMiB ?? 0), ...(o.variantOf ? { variantOf: o.variantOf } : {}) };
}

export interface OrderChoice {
  mode: 'rounds' | 'blocks';
  reason: string;
  /** The groups one after the other (a path with its variants), each in rounds when it fits on its own. */
  groups?: ScheduleGroup[];
}

/** Each path with its variants, in the order the paths came (a variant whose path is absent is its own group). */
export function variantGroups(paths: readonly PathFootprint[]): PathFootprint[][] {
  const groups = new Map<string, PathFootprint[]>();
  for (const p of paths) {
    const key = p.variantOf ?? p.id;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  return [...groups.values()];
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
  const groups = variantGroups(paths).map((g) => ({ paths: g.map((p) => p.id), need: g.reduce((a, p) => a + p.memoryMiB, 0) }));
  const fitting = groups.filter((g) => g.need <= budget);
  if (groups.length < paths.length && fitting.some((g) => g.paths.length > 1)) {
    const apart = groups.filter((g) => g.need > budget);
    const blocks = apart.length ? `; in blocks, as the group does not fit: ${apart.map((g) => `${g.paths[0]} with its variants (about ${g.need} MiB)`).join(', ')}` : '';
    return {
      mode: 'rounds',
      reason: `each path with its variants in rounds, one path after the other (${figures})${blocks}`,
      groups: groups.map((g) => ({ paths: g.paths, mode: g.need <= budget ? 'rounds' : 'blocks' })),
    };
  }
  return { mode: 'blocks', reason: `fell back to blocks (one path after the other): ${figures}, so the paths' guests cannot all stay up` };
}
