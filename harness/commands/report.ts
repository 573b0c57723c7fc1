// `iopath report <run-dir...>`: render every report format from stored results, with no VM.

import { basename, join, resolve } from 'node:path';
import { ExitCode, UsageError, type ExitCodeValue } from '../errors.ts';
import { renderReports } from '../report/index.ts';

export async function report(o: { runs: string[]; out: string | undefined; pdf: boolean; title: string | undefined; reportsRoot: string }): Promise<ExitCodeValue> {
  if (o.runs.length === 0) throw new UsageError('give at least one run folder (results/<run-id>)');
  const out = o.out ?? join(o.reportsRoot, basename(resolve(o.runs[o.runs.length - 1]!)));
  const r = await renderReports(o.runs, out, { pdf: o.pdf, ...(o.title ? { title: o.title } : {}), log: (l) => process.stderr.write(`${l}\n`) });
  for (const f of r.files) process.stdout.write(`${f}\n`);
  for (const s of r.skipped) process.stderr.write(`skipped ${s.file}: ${s.reason}\n`);
  for (const n of r.notes) process.stderr.write(`note: ${n}\n`);
  return ExitCode.ok;
}
