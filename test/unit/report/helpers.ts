// Shared helpers for report tests: fixture paths and throw-away copies of fixture runs.

import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunRecord } from '../../../harness/run/record.ts';
import type { SampleRecord } from '../../../harness/samples.ts';

export const FIXTURES = resolve(import.meta.dirname, '../../fixtures/runs');
export const fixture = (name: string) => join(FIXTURES, name);

/** Copy a fixture run into a fresh temp folder, optionally rewriting its record and samples. */
export function copyRun(
  name: string,
  edit: { record?: (r: RunRecord) => RunRecord; sample?: (s: SampleRecord) => SampleRecord } = {},
): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'iopath-run-')), name);
  cpSync(fixture(name), dir, { recursive: true });
  if (edit.record) {
    const rec = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
    writeFileSync(join(dir, 'run.json'), JSON.stringify(edit.record(rec), null, 2));
  }
  if (edit.sample) {
    const lines = readFileSync(join(dir, 'samples.ndjson'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(dir, 'samples.ndjson'), lines.map((l) => JSON.stringify(edit.sample!(JSON.parse(l) as SampleRecord))).join('\n') + '\n');
  }
  return dir;
}

/** Markup in every string a user controls (profile name, reasons, notes), for escaping tests. */
export const HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&amp;';

export function hostileRun(): string {
  return copyRun('tcg-dev-a-1', {
    record: (r) => ({
      ...r,
      profile: { ...r.profile, name: `nightly ${HOSTILE}` },
      notes: [...r.notes, `note ${HOSTILE}`],
      backends: r.backends.map((b) => (b.status === 'skipped' ? { ...b, reason: `reason ${HOSTILE}`, fix: `fix ${HOSTILE}` } : b)),
    }),
  });
}
