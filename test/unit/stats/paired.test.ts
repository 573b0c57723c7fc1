// The paired log-ratio interval and its verdicts, against figures worked out by hand.

import { describe, expect, it } from 'vitest';
import { abbaIsA, abbaPairs, atLeast, pairedLogRatio, pairsFor, within } from '../../../harness/stats/paired.ts';
import { tQuantile } from '../../../harness/stats/tdist.ts';

describe('pairedLogRatio', () => {
  it('geometric mean ratio with a t interval (worked example)', () => {
    // log ratios 0.0953102, 0.1823216, -0.1053605: mean 0.0574238, sd 0.147536, t(0.975, 2) = 4.302653
    const r = pairedLogRatio([
      { a: 1.1, b: 1 },
      { a: 2.4, b: 2 },
      { a: 0.9, b: 1 },
    ]);
    expect(r.n).toBe(3);
    expect(r.ratio).toBeCloseTo(1.059105, 5);
    expect(r.sdLog).toBeCloseTo(0.147536, 5);
    expect(r.ci!.low).toBeCloseTo(0.73410, 4);
    expect(r.ci!.high).toBeCloseTo(1.52799, 4);
    expect(r.halfWidth).toBeCloseTo(Math.expm1(0.366497), 4);
  });

  it('scale does not matter, only the ratio within each pair', () => {
    const a = pairedLogRatio([{ a: 0.97e9, b: 1e9 }, { a: 0.5, b: 0.5 / 0.97 }]);
    expect(a.ratio).toBeCloseTo(0.97, 12);
    expect(a.ci!.low).toBeCloseTo(0.97, 12);
    expect(a.ci!.high).toBeCloseTo(0.97, 12);
  });

  it('one pair has no interval; non-positive values are refused', () => {
    expect(pairedLogRatio([{ a: 2, b: 1 }]).ci).toBeNull();
    expect(() => pairedLogRatio([])).toThrow(/no pairs/);
    expect(() => pairedLogRatio([{ a: 0, b: 1 }])).toThrow(/positive/);
    expect(() => pairedLogRatio([{ a: 1, b: Number.NaN }])).toThrow(/positive/);
  });
});

describe('pairsFor', () => {
  it('the least number of pairs whose t interval is narrower than the half-width asked for', () => {
    const half = (sd: number, n: number) => Math.expm1(tQuantile(0.975, n - 1) * (sd / Math.sqrt(n)));
    for (const sd of [0.01, 0.026, 0.05, 0.08]) {
      const n = pairsFor(sd, 0.03)!;
      expect(half(sd, n)).toBeLessThanOrEqual(0.03);
      if (n > 2) expect(half(sd, n - 1)).toBeGreaterThan(0.03);
    }
    // t(0.975, 30) = 2.0423: 2.0423 * 0.08 / sqrt(31) = 0.02935 <= log(1.03) = 0.02956; with 30 pairs 0.02987 is not.
    expect(pairsFor(0.08, 0.03)).toBe(31);
    expect(pairsFor(0, 0.03)).toBe(2);
    expect(pairsFor(0.5, 0.03, 0.95, 100)).toBeNull();
    expect(() => pairsFor(-1, 0.03)).toThrow(/non-negative/);
  });
});

describe('verdicts', () => {
  const narrow = (low: number, high: number) => ({ n: 5, ratio: Math.sqrt(low * high), ci: { level: 0.95, low, high, method: '' }, halfWidth: 0, sdLog: 0 });
  it('atLeast decides only when the interval is wholly on one side of the goal', () => {
    expect(atLeast(narrow(0.975, 0.99), 0.97)).toBe('yes');
    expect(atLeast(narrow(0.9, 0.96), 0.97)).toBe('no');
    expect(atLeast(narrow(0.95, 1.01), 0.97)).toBe('undecided');
    expect(atLeast(pairedLogRatio([{ a: 1, b: 1 }]), 0.97)).toBe('undecided');
  });
  it('within: inside the band, outside it, or too wide', () => {
    expect(within(narrow(0.96, 1.04), 0.05)).toBe('yes');
    expect(within(narrow(0.8, 0.9), 0.05)).toBe('no');
    expect(within(narrow(1.06, 1.2), 0.05)).toBe('no');
    expect(within(narrow(0.9, 1.0), 0.05)).toBe('undecided');
  });
});

describe('A B B A layout', () => {
  it('alternates which side goes first from pair to pair', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map(abbaIsA)).toEqual([true, false, false, true, true, false, false, true]);
  });
  it('joins repetitions into pairs and leaves out an unpaired tail or a failed repetition', () => {
    const values = new Map([
      [0, 10], [1, 20], // A=10 B=20
      [2, 30], [3, 40], // B=30 A=40
      [4, 50], // pair 2: B missing
      [6, 70], [7, 80], // B=70 A=80
      [8, 90], // tail
    ]);
    expect(abbaPairs(values)).toEqual([
      { a: 10, b: 20 },
      { a: 40, b: 30 },
      { a: 80, b: 70 },
    ]);
  });
});
