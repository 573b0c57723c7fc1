// A seeded pseudo-random generator and the percentile bootstrap, so resampling statistics give the
// same numbers on every render of the same results.

/** mulberry32: a small, fast 32-bit generator (Tommy Ettinger's public-domain design). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draw xs.length values from xs with replacement. */
export function resampleWithReplacement(xs: readonly number[], random: () => number): number[] {
  const out = new Array<number>(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[Math.floor(random() * xs.length)]!;
  return out;
}

/** The q-quantile of already sorted values by linear interpolation (type 7, as R's default). */
export function sortedQuantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
