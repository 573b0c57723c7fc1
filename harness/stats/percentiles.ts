// Exact percentiles of one repetition's individual measurements (every round trip of a latency
// run), from the sorted values, with how many values each one rests on. Unlike a histogram's
// estimate, a value printed here is one that was measured.

/** The tail percentiles iopath reports, in percent. */
export const TAIL_PERCENTS = [50, 90, 99, 99.9, 99.99] as const;

/**
 * A percentile is reported only when at least this many values lie beyond it: with fewer, its value
 * is one or two outliers rather than a property of the distribution (p99.99 needs 100,000 values).
 */
export const MIN_BEYOND = 10;

export const PERCENTILE_METHOD = `nearest rank: the value at rank ⌈p·n⌉ of the n sorted values; reported when at least ${MIN_BEYOND} values lie beyond it`;

export interface Percentile {
  /** In percent, e.g. 99.9. */
  percent: number;
  value: number;
  /** 1-based rank of the value among the sorted values. */
  rank: number;
  /** Values above that rank (the slowest n − rank): what the percentile rests on. */
  beyond: number;
}

export interface Percentiles {
  n: number;
  /** The percentiles the count supports, in the order asked. */
  percentiles: Percentile[];
  /** Percentiles left out because fewer than `minBeyond` values lie beyond them. */
  unsupported: number[];
  min: number;
  max: number;
  mean: number;
}

/**
 * Rank of the p-th percentile of n values (nearest rank, ⌈p·n⌉), in integer arithmetic: percents
 * are taken in thousandths so that 90 % of 10 is rank 9, not ⌈9.000000000000002⌉ = 10.
 */
export function nearestRank(percent: number, n: number): number {
  const milli = Math.round(percent * 1000);
  if (milli <= 0 || milli > 100_000 || !Number.isInteger(n) || n < 1) throw new RangeError(`no rank for percentile ${percent} of ${n} values`);
  return Math.max(1, Math.ceil((milli * n) / 100_000));
}

/**
 * The percentiles of `values` (not changed; a sorted copy is made). Empty input has no percentiles.
 * sockperf's own summary picks rank round(p·n) instead of ⌈p·n⌉: the two differ by at most one rank.
 */
export function exactPercentiles(values: ArrayLike<number>, percents: readonly number[] = TAIL_PERCENTS, minBeyond = MIN_BEYOND): Percentiles | null {
  const n = values.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const percentiles: Percentile[] = [];
  const unsupported: number[] = [];
  for (const percent of percents) {
    const rank = nearestRank(percent, n);
    const beyond = n - rank;
    if (beyond < minBeyond) unsupported.push(percent);
    else percentiles.push({ percent, value: sorted[rank - 1]!, rank, beyond });
  }
  return { n, percentiles, unsupported, min: sorted[0]!, max: sorted[n - 1]!, mean: sum / n };
}
