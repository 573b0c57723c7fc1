import { describe, expect, it } from 'vitest';
import { planHostReport } from '../../../harness/lab/host-report.ts';

const defaults = { resultsRoot: '/srv/iopath/results', reportsRoot: '/srv/iopath/reports' };

describe("a bench's report from the lab", () => {
  it('is rendered on the host: the bench inside runs with --no-report', () => {
    expect(planHostReport(['bench', '--profile', 'lab'], '/srv/iopath', defaults)).toEqual({ args: ['bench', '--profile', 'lab', '--no-report'], render: defaults });
  });

  it('goes where the bench was told to write, relative to its working directory', () => {
    const plan = planHostReport(['bench', '--results-dir', 'out/r', '--reports-dir=/tmp/rep'], '/srv/iopath', defaults);
    expect(plan.render).toEqual({ resultsRoot: '/srv/iopath/out/r', reportsRoot: '/tmp/rep' });
  });

  it('is not rendered when the bench was told not to, nor for other commands', () => {
    expect(planHostReport(['bench', '--no-report'], '/w', defaults)).toEqual({ args: ['bench', '--no-report'] });
    expect(planHostReport(['bench', '--help'], '/w', defaults)).toEqual({ args: ['bench', '--help'] });
    expect(planHostReport(['doctor', '--json'], '/w', defaults)).toEqual({ args: ['doctor', '--json'] });
  });
});
