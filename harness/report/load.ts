// Reading one run folder (run.json + samples.ndjson) into memory, tolerating what an interrupted
// run leaves behind: a record still marked running, no end time, a half-written last sample line.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { backends, isBackendId } from '../backends/registry.ts';
import { UsageError } from '../errors.ts';
import { RUN_SCHEMA, runRecordSchema, type CollectorRecord, type RunRecord } from '../run/record.ts';
import { describeIssues, sampleRecordSchema, type SampleRecord } from '../samples.ts';
import type { Warning } from '../stats/warnings.ts';
import type { PathLook } from './format.ts';

/**
 * A collector's availability as run.json records it (`collectors`, run-wide, and
 * `backends[].collectors`, per path); runs written before notes were recorded may lack them.
 */
export type CollectorAvailability = CollectorRecord;

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
  /** How the report shows each path of the run: as run.json records it, else as its descriptor says today. */
  paths: PathLook[];
}


/**
 * Read a run folder. Throws a UsageError (exit 2) when the folder or its run.json is missing or
 * run.json is not an iopath run record; everything else (bad or truncated sample lines, an
 * unfinished run) is tolerated and reported in `problems` and `partialReasons`.
 */
export function loadRun(dir: string): LoadedRun {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new UsageError(`${dir} is not a run folder`, 'pass a folder under results/, e.g. `iopath report results/<run-id>`');
  }
  const runPath = join(abs, 'run.json');
  if (!existsSync(runPath)) throw new UsageError(`${dir} has no run.json: it is not an iopath run folder`, 'pass a folder under results/ that a bench run wrote');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(runPath, 'utf8'));
  } catch (err) {
    throw new UsageError(`${runPath} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = runRecordSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${runPath} is not an ${RUN_SCHEMA} record: ${describeIssues(parsed.error)}`);
  const record = parsed.data;

  const problems: Warning[] = [];
  const partialReasons: string[] = [];
  const samples = readSamples(join(abs, 'samples.ndjson'), record.run, problems, partialReasons);

  if (record.status !== 'complete') partialReasons.push(`run status is "${record.status}"${record.error ? `: ${record.error}` : ''}`);
  if (!record.endedAt) partialReasons.push('run.json has no end time: the run never finished writing its record');
  for (const b of record.backends) {
    if (b.status === 'pending' || b.status === 'running') partialReasons.push(`backend ${b.id} is still "${b.status}"`);
  }
  const host = record.provenance?.hostname ?? samples.find((s) => s.host)?.host ?? 'unknown host';
  const collectors = record.collectors ?? [];
  return { dir: abs, record, samples, host, partial: partialReasons.length > 0, partialReasons, problems, collectors, paths: record.backends.map(pathLook) };
}

/**
 * The presentation of a path. Runs written before run.json carried it get it from the path's
 * descriptor, when the path still exists; an unknown path has none (listed last, in a spare colour).
 */
function pathLook(b: RunRecord['backends'][number]): PathLook {
  const presentation = b.presentation ?? (isBackendId(b.id) ? backends[b.id].presentation : undefined);
  return { id: b.id, ...presentation };
}

function readSamples(path: string, run: string, problems: Warning[], partialReasons: string[]): SampleRecord[] {
  if (!existsSync(path)) {
    problems.push({ code: 'no-samples', severity: 'error', subject: { run }, message: 'samples.ndjson is missing: nothing of this run was measured' });
    return [];
  }
  const text = readFileSync(path, 'utf8');
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
    const s = sampleRecordSchema.safeParse(value);
    if (!s.success) {
      bad++;
      if (bad <= 3) problems.push({ code: 'malformed-data', severity: 'error', subject: { run }, message: `samples.ndjson line ${i + 1} is not a sample (${describeIssues(s.error)}); it was ignored` });
      return;
    }
    out.push(s.data);
  });
  if (bad > 3) problems.push({ code: 'malformed-data', severity: 'error', subject: { run }, message: `${bad - 3} more malformed lines in samples.ndjson were ignored` });
  return out;
}
