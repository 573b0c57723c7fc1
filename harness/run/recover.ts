// Recovery of the results of a run that died without finishing: its run.json is marked
// interrupted (atomically), so reports say it is partial; its samples are left exactly as written.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunRecord } from './record.ts';
import { writeFileAtomic } from './store.ts';

/** Mark a run that was still `running` as interrupted. Returns whether run.json changed. */
export function markRunInterrupted(resultsDir: string, note: string): boolean {
  const path = join(resultsDir, 'run.json');
  if (!existsSync(path)) return false;
  let record: RunRecord;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
  } catch {
    return false;
  }
  if (record.status !== 'running') return false;
  record.status = 'interrupted';
  record.error = note;
  record.endedAt ??= new Date().toISOString();
  for (const b of record.backends) {
    if (b.status === 'running' || b.status === 'pending') {
      b.status = b.reps.some((r) => r.status === 'ok' && !r.warmup) ? 'partial' : 'failed';
      b.reason ??= 'the run was killed before this path finished';
    }
  }
  writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n');
  return true;
}
