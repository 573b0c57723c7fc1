// A bench inside the lab measures; its report is rendered on the host afterwards. Rendering is a
// pure function of the stored results (what `iopath report` does), and on the host it takes
// seconds, where charts and Chromium's PDF under software emulation take minutes of the lab's time.

import { join, resolve } from 'node:path';
import { ExitCode, describeError, type ExitCodeValue } from '../errors.ts';

export interface HostReportPlan {
  /** The arguments run inside (with `--no-report` added when the host renders). */
  args: string[];
  /** Where to look for the runs the command inside writes, and where their reports go. */
  render?: { resultsRoot: string; reportsRoot: string };
}

function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i]!.startsWith(`${flag}=`)) return args[i]!.slice(flag.length + 1);
  }
  return undefined;
}

/** For `bench` (unless it was told not to report): render on the host, not inside. */
export function planHostReport(args: readonly string[], cwd: string, defaults: { resultsRoot: string; reportsRoot: string }): HostReportPlan {
  const noReport = args.some((a) => a === '--no-report' || a === '--report=false');
  if (args[0] !== 'bench' || noReport || args.includes('--help') || args.includes('-h')) return { args: [...args] };
  const results = flagValue(args, '--results-dir');
  const reports = flagValue(args, '--reports-dir');
  return {
    args: [...args, '--no-report'],
    render: {
      resultsRoot: results === undefined ? defaults.resultsRoot : resolve(cwd, results),
      reportsRoot: reports === undefined ? defaults.reportsRoot : resolve(cwd, reports),
    },
  };
}

/**
 * Render the report of each run the command inside wrote. Returns the exit status to report: a
 * failed rendering turns success into `partial`, as it does for a bench on the host.
 */
export async function renderOnHost(runs: readonly string[], reportsRoot: string, status: ExitCodeValue, log: (line: string) => void): Promise<ExitCodeValue> {
  let out = status;
  const { renderReports } = await import('../report/index.ts');
  for (const runDir of runs) {
    const outDir = join(reportsRoot, runDir.split('/').pop()!);
    try {
      const r = await renderReports([runDir], outDir, {});
      log(`report (rendered on the host): ${join(outDir, 'index.html')}`);
      for (const note of r.notes ?? []) log(note);
    } catch (err) {
      log(`the report of ${runDir} could not be rendered (results are intact; retry with \`iopath report ${runDir}\`): ${describeError(err)}`);
      if (out === ExitCode.ok) out = ExitCode.partial;
    }
  }
  return out;
}
