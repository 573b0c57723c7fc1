import { describe, expect, it } from 'vitest';
import { probeHostSpeed } from '../../../harness/host/speed-probe.ts';

describe('host speed probe', () => {
  it('reads memory latency and core speed as CPU time per step, and says which CPU it ran on', () => {
    const r = probeHostSpeed();
    // A cache miss costs tens to hundreds of ns on any host; a register loop a few ns per iteration.
    expect(r.memNs).toBeGreaterThan(1);
    expect(r.memNs).toBeLessThan(5000);
    expect(r.spinNs).toBeGreaterThan(100);
    expect(r.spinNs).toBeLessThan(100_000);
    expect(Number.isInteger(r.cpu)).toBe(true);
  });
});
