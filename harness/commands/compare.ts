// `iopath compare <baseline> <run>`: a verdict per metric, Markdown on stdout, exit 6 only on a
// significant regression beyond the noise floor.

import type { ExitCodeValue } from '../errors.ts';
import { compareRuns, renderCompareMarkdown, writeComparison } from '../report/index.ts';

export async function compare(o: { baseline: string; run: string; noiseFloorPercent: number; alpha: number; test: 'permutation' | 'welch'; out: string | undefined }): Promise<ExitCodeValue> {
  const result = compareRuns(o.baseline, o.run, { noiseFloorPercent: o.noiseFloorPercent, alpha: o.alpha, test: o.test });
  process.stdout.write(renderCompareMarkdown(result));
  if (o.out) {
    const { files } = await writeComparison(result, o.out);
    for (const f of files) process.stderr.write(`wrote ${f}\n`);
  }
  return result.exitCode;
}
