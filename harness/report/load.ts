// Reading one run folder (run.json + samples.ndjson) into memory, tolerating what an interrupted
// run leaves behind: a record still marked running, no end time, a half-written last sample line.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { MAX_BYTES, readUserFile, requireDirectory } from '../config/user-file.ts';
import { UsageError } from '../errors.ts';
import type { CollectorRecord, RunRecord } from '../run/record.ts';
import { RUN_SCHEMA } from '../run/record.ts';
import type { SampleRecord } from '../samples.ts';
import type { Warning } from '../stats/warnings.ts';

/**
 * A collector's availability as run.json records it (`collectors`, run-wide, and
 * `backends[].collectors`, per path); runs written before notes were recorded may lack them.
 */
export type CollectorAvailability = Omit<CollectorRecord, 'notes'> & { notes?: string[] };

/** One run folder as read from disk. */
export interface LoadedRun {
  /** Absolute path of the run folder. */
  dir: string;
  record: RunRecord;
  /** Valid sample lines, in file order. */
  samples: SampleRecord[];
  /** The host that measured the run: provenance hostname, else the samples' host, else `unknown host`. */
  host: string;
  /** True when the run did not finish cleanly; `partialReasons` says why in words. */
  partial: boolean;
  partialReasons: string[];
  /** Problems met while reading (malformed lines, missing files). */
  problems: Warning[];
  /** Collector availability, when run.json records it. */
  collectors: CollectorAvailability[];
}

const dims = z.record(z.string(), z.union([z.string(), z.number()]));

const sampleSchema = z.looseObject({
  run: z.string(),
  backend: z.string().min(1),
  scenario: z.string().min(1),
  rep: z.number().int().nonnegative(),
  warmup: z.boolean(),
  metric: z.string().min(1),
  unit: z.string().min(1),
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
  time: z.string(),
  source: z.string().optional(),
  dims: dims.optional(),
  host: z.string().optional(),
});

const repSchema = z.looseObject({
  scenario: z.string(),
  rep: z.number(),
  warmup: z.boolean(),
  status: z.enum(['ok', 'failed']),
  reason: z.string().optional(),
  startedAt: z.string(),
  durationMs: z.number(),
  raw: z.array(z.string()).optional(),
  notes: z.array(z.string()).optional(),
});

const collectorSchema = z.looseObject({
  id: z.string(),
  source: z.string(),
  available: z.boolean(),
  reason: z.string().optional(),
  fix: z.string().optional(),
  notes: z.array(z.string()).optional(),
});

const backendSchema = z.looseObject({
  id: z.string(),
  title: z.string(),
  status: z.enum(['pending', 'running', 'ok', 'partial', 'skipped', 'failed']),
  reason: z.string().optional(),
  fix: z.string().optional(),
  notes: z.array(z.string()).default([]),
  features: z.record(z.string(), z.array(z.string())).optional(),
  reps: z.array(repSchema).default([]),
  collectors: z.array(collectorSchema).optional(),
  files: z.array(z.string()).default([]),
});

const runSchema = z.looseObject({
  schema: z.literal(RUN_SCHEMA),
  run: z.string().min(1),
  status: z.enum(['running', 'complete', 'partial', 'failed', 'interrupted']),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  argv: z.array(z.string()).default([]),
  profile: z.looseObject({ name: z.string(), path: z.string(), hash: z.string(), plan: z.unknown() }),
  provenance: z.looseObject({ hostname: z.string() }).optional(),
  backends: z.array(backendSchema).default([]),
  phases: z.array(z.looseObject({ phase: z.string(), backend: z.string().optional(), ms: z.number() })).default([]),
  notes: z.array(z.string()).default([]),
  error: z.string().optional(),
  collectors: z.array(collectorSchema).optional(),
});

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`)
    .join('; ');
}

/**
 * Read a run folder. Throws a UsageError (exit 2) when the folder or its run.json is missing or
 * run.json is not an iopath run record; everything else (bad or truncated sample lines, an
 * unfinished run) is tolerated and reported in `problems` and `partialReasons`.
 */
export function loadRun(dir: string): LoadedRun {
  const abs = resolve(dir);
  requireDirectory(abs, 'run folder', 'pass a folder under results/, e.g. `iopath report results/<run-id>`');
  const runPath = join(abs, 'run.json');
  if (!existsSync(runPath)) throw new UsageError(`${dir} has no run.json: it is not an iopath run folder`, 'pass a folder under results/ that a bench run wrote');
  const runBytes = readUserFile(runPath, { what: 'run record', maxBytes: MAX_BYTES.runRecord, fix: 'pass a folder under results/ that a bench run wrote' });
  let raw: unknown;
  try {
    raw = JSON.parse(runBytes.toString('utf8'));
  } catch (err) {
    throw new UsageError(`${runPath} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = runSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${runPath} is not an ${RUN_SCHEMA} record: ${describeIssues(parsed.error)}`);
  const record = parsed.data as unknown as RunRecord;

  const problems: Warning[] = [];
  const partialReasons: string[] = [];
  const samples = readSamples(join(abs, 'samples.ndjson'), record.run, problems, partialReasons);

  if (record.status !== 'complete') partialReasons.push(`run status is "${record.status}"${record.error ? `: ${record.error}` : ''}`);
  if (!record.endedAt) partialReasons.push('run.json has no end time: the run never finished writing its record');
  for (const b of record.backends) {
    if (b.status === 'pending' || b.status === 'running') partialReasons.push(`backend ${b.id} is still "${b.status}"`);
  }
  const host = record.provenance?.hostname ?? samples.find((s) => s.host)?.host ?? 'unknown host';
  const collectors = (parsed.data.collectors ?? []) as CollectorAvailability[];
  return { dir: abs, record, samples, host, partial: partialReasons.length > 0, partialReasons, problems, collectors };
}

function readSamples(path: string, run: string, problems: Warning[], partialReasons: string[]): SampleRecord[] {
  if (!existsSync(path)) {
    problems.push({ code: 'no-samples', severity: 'error', subject: { run }, message: 'samples.ndjson is missing: nothing of this run was measured' });
    return [];
  }
  const text = readUserFile(path, { what: 'samples file', maxBytes: MAX_BYTES.samples }).toString('utf8');
  const lines = text.split('\n');
  const endsClean = text.length === 0 || text.endsWith('\n');
  const out: SampleRecord[] = [];
  let bad = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const isLast = i === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (isLast && !endsClean) {
        partialReasons.push(`the last line of samples.ndjson (line ${i + 1}) is cut off; it was ignored`);
      } else {
        bad++;
        if (bad <= 3) problems.push({ code: 'malformed-data', severity: 'error', subject: { run }, message: `samples.ndjson line ${i + 1} is not JSON; it was ignored` });
      }
      return;
    }
    const s = sampleSchema.safeParse(value);
    if (!s.success) {
      bad++;
      if (bad <= 3) problems.push({ code: 'malformed-data', severity: 'error', subject: { run }, message: `samples.ndjson line ${i + 1} is not a sample (${describeIssues(s.error)}); it was ignored` });
      return;
    }
    out.push(s.data as unknown as SampleRecord);
  });
  if (bad > 3) problems.push({ code: 'malformed-data', severity: 'error', subject: { run }, message: `${bad - 3} more malformed lines in samples.ndjson were ignored` });
  return out;
}
