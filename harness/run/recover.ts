// Recovery of the results of a run that died without finishing: its run.json is marked
// interrupted (atomically), so reports say it is partial; its samples are left exactly as written.
// What had not started is marked blocked, what was running is settled from what it measured.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRecordSchema } from './record.ts';
import { writeFileAtomic } from './store.ts';

/** Mark a run that was still `running` as interrupted. Returns whether run.json changed. */
export function markRunInterrupted(resultsDir: string, note: string): boolean {
  const path = join(resultsDir, 'run.json');
  if (!existsSync(path)) return false;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return false;
  }
  const parsed = runRecordSchema.safeParse(raw);
  if (!parsed.success || parsed.data.status !== 'running') return false;
  // Change only what recovery knows about; fields a newer writer added are kept as they are.
  const record = { ...raw, ...parsed.data, status: 'interrupted' as const, error: note, endedAt: parsed.data.endedAt ?? new Date().toISOString() };
  for (const b of record.backends) {
    if (b.status === 'running') {
      b.status = b.reps.some((r) => r.status === 'ok' && !r.warmup) ? 'partial' : 'failed';
      b.reason ??= 'the run was killed before this path finished';
    } else if (b.status === 'pending') {
      b.status = 'blocked';
      b.reason = 'not run: the run was killed first';
    }
    for (const s of b.scenarios ?? []) {
      const ok = b.reps.some((r) => r.scenario === s.name && r.status === 'ok' && !r.warmup);
      if (s.status === 'running') Object.assign(s, { status: ok ? 'partial' : 'failed', reason: 'the run was killed before this scenario finished' });
      else if (s.status === 'pending') Object.assign(s, { status: 'blocked', reason: 'not run: the run was killed first' });
    }
  }
  writeFileAtomic(path, JSON.stringify(record, null, 2) + '\n');
  return true;
}
