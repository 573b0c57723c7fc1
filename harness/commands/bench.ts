// `iopath bench`: get the host ready for the plan (the Debian packages its paths, collectors and
// report need), run it, then render the report from what was stored. The report is rendered even
// for a partial or interrupted run, so nothing measured is ever only in memory.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RunPlan } from '../config/plan.ts';
import { ExitCode, describeError, type ExitCodeValue } from '../errors.ts';
import { provide } from '../host/install.ts';
import { benchNeeds } from '../host/needs.ts';
import type { Reporter } from '../run/progress.ts';
import { runBench } from '../run/runner.ts';

export interface BenchCommand {
  plan: Readonly<RunPlan>;
  argv: string[];
  resultsRoot: string;
  reportsRoot: string;
  imagesDir?: string;
  report: boolean;
  /** Install the Debian packages the plan needs when they are missing (false: --no-install). */
  install: boolean;
  signal: AbortSignal;
  reporter: Reporter;
}

export async function bench(o: BenchCommand): Promise<ExitCodeValue> {
  const needs = benchNeeds(o.plan, { report: o.report, kvmPossible: existsSync('/dev/kvm') });
  await provide(needs, { install: o.install, signal: o.signal, log: (l) => process.stderr.write(`iopath: ${l}\n`) });
  const outcome = await runBench({ plan: o.plan, argv: o.argv, resultsRoot: o.resultsRoot, ...(o.imagesDir ? { imagesDir: o.imagesDir } : {}), signal: o.signal, reporter: o.reporter });
  if (o.report) {
    const outDir = join(o.reportsRoot, outcome.record.run);
    try {
      const { renderReports } = await import('../report/index.ts');
      const r = await renderReports([outcome.runDir], outDir, {});
      o.reporter.phase?.(`report: ${join(outDir, 'index.html')}`);
      for (const note of r.notes ?? []) o.reporter.warn?.(note);
    } catch (err) {
      o.reporter.warn?.(`the report could not be rendered (results are intact; retry with \`iopath report ${outcome.runDir}\`): ${describeError(err)}`);
      if (outcome.exitCode === ExitCode.ok) return ExitCode.partial;
    }
  }
  return outcome.exitCode;
}
