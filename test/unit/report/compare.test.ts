import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../harness/errors.ts';
import { compareRuns } from '../../../harness/report/compare.ts';
import { renderCompareHtml, renderCompareMarkdown } from '../../../harness/report/compare-render.ts';
import { copyRun, fixture } from './helpers.ts';

/** tcg-dev-a-2 with one metric of one path scaled by `factor`. */
function lowered(metric: string, factor: number, backend = 'virtio-net'): string {
  return copyRun('tcg-dev-a-2', { sample: (s) => (s.backend === backend && s.scenario === 'tcp-stream' && s.metric === metric ? { ...s, value: s.value * factor } : s) });
}

describe('compareRuns', () => {
  it('finds no significant change anywhere between two identical runs', () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), copyRun('tcg-dev-a-1'));
    expect(r.rows.length).toBeGreaterThan(20);
    for (const row of r.rows) {
      expect(row.verdict).toBe('no significant change');
      expect(row.changePercent).toBe(0);
      expect(row.p).toBe(1);
    }
    expect(r.exitCode).toBe(ExitCode.ok);
    expect(r.verdict).toMatch(/^No significant regression beyond the 5 % noise floor/);
  });

  it('finds no change between two runs of the same paths with fresh noise', () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), fixture('tcg-dev-a-2'));
    expect(r.rows.filter((x) => x.verdict !== 'no significant change')).toEqual([]);
    expect(r.exitCode).toBe(ExitCode.ok);
  });

  it('flags a throughput 20 % lower as worse, for that metric only, with the regression exit code', () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), lowered('throughput', 0.8));
    const flagged = r.rows.filter((x) => x.verdict !== 'no significant change');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]).toMatchObject({ backend: 'virtio-net', scenario: 'tcp-stream', metric: 'throughput', verdict: 'worse', significant: true, beyondFloor: true });
    expect(flagged[0]!.changePercent).toBeCloseTo(-20, 0);
    expect(flagged[0]!.ci!.high).toBeLessThan(-5);
    expect(r.regressions).toHaveLength(1);
    expect(r.exitCode).toBe(ExitCode.regression);
    expect(r.verdict).toMatch(/^REGRESSION: 1 metric significantly worse beyond the 5 % noise floor: virtio-net tcp-stream throughput/);
  });

  it('reads the direction from the catalogue: 20 % fewer device accesses per GB is better', () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), copyRun('tcg-dev-a-2', { sample: (s) => (s.backend === 'e1000' && s.metric === 'deviceAccessesPerGB' && s.dims?.guest === 'a' && !s.dims.region ? { ...s, value: s.value * 0.8 } : s) }));
    expect(r.improvements.map((x) => [x.backend, x.metric, x.dims])).toEqual([['e1000', 'deviceAccessesPerGB', { guest: 'a' }]]);
    expect(r.exitCode).toBe(ExitCode.ok);
  });

  it('does not flag a significant change below the noise floor, and flags it when the floor is lower', () => {
    const dir = lowered('throughput', 0.97);
    const r = compareRuns(fixture('tcg-dev-a-1'), dir);
    const row = r.rows.find((x) => x.backend === 'virtio-net' && x.scenario === 'tcp-stream' && x.metric === 'throughput')!;
    expect(row.significant).toBe(true);
    expect(row.beyondFloor).toBe(false);
    expect(row.verdict).toBe('no significant change');
    expect(r.exitCode).toBe(ExitCode.ok);
    expect(compareRuns(fixture('tcg-dev-a-1'), dir, { noiseFloorPercent: 1 }).exitCode).toBe(ExitCode.regression);
  });

  it("can use Welch's t-test instead of the permutation test", () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), lowered('throughput', 0.8), { test: 'welch', alpha: 0.01 });
    expect(r.options).toEqual({ noiseFloorPercent: 5, alpha: 0.01, test: 'welch' });
    expect(r.regressions.map((x) => x.metric)).toEqual(['throughput']);
    expect(r.regressions[0]!.test).toMatch(/Welch/);
  });

  it('warns when a path measured in the baseline did not run, and when a side is partial', () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), fixture('partial-dev-a'));
    expect(r.pathChanges).toContainEqual({ backend: 'virtio-net', baseline: 'ok', run: 'running' });
    expect(r.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['partial-run', 'backend-failed']));
    expect(r.onlyInBaseline.length).toBeGreaterThan(0);
    expect(r.verdict).toMatch(/Not measured in the run: virtio-net \(running\)/);
  });

  it('renders Markdown and HTML views that name the flagged metric', () => {
    const r = compareRuns(fixture('tcg-dev-a-1'), lowered('throughput', 0.8));
    const md = renderCompareMarkdown(r);
    expect(md).toMatch(/### Flagged\n\n\| Path \|/);
    expect(md).toMatch(/\| virtio-net \| tcp-stream \| Throughput \(receiver\) ↑ \| 4\.\d+ Gbit\/s \| 3\.\d+ Gbit\/s \| -\d+\.\d % \[/);
    expect(md).toContain('<details><summary>All ');
    const page = renderCompareHtml(r);
    expect(page).toContain('<span class="badge worse">worse</span>');
    expect(page).toContain('<svg');
    expect(page).not.toMatch(/src="http|href="http/);
  });
});
