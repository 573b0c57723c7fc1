// The incremental results store of one run: samples.ndjson appended and flushed to disk as each
// sample arrives, run.json replaced atomically (write, fsync, rename) whenever the run's tree saves
// it, raw tool output saved beside them, and run.log, where errors are kept in full (stacks
// included) while run.json says them in words. What is on disk is always a valid, readable partial run.

import { appendFileSync, closeSync, existsSync, fdatasyncSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { StorageError } from '../errors.ts';
import { describeIssues, sampleRecordSchema, type Sample, type SampleRecord } from '../samples.ts';
import type { RunRecord } from './record.ts';
import type { Frozen } from './tree.ts';

export interface SampleCoordinates {
  backend: string;
  scenario: string;
  rep: number;
  warmup: boolean;
}

export class RunStore {
  readonly dir: string;
  readonly run: string;
  readonly host: string;
  #samplesFd: number;

  constructor(dir: string, run: string, host: string) {
    this.dir = dir;
    this.run = run;
    this.host = host;
    try {
      makeDirs(dir);
      this.#samplesFd = openSync(join(dir, 'samples.ndjson'), 'a', 0o644);
    } catch (err) {
      throw new StorageError(`cannot write results to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, `choose a writable folder with --results-dir, or fix the permissions of ${dirname(dir)}`, err);
    }
  }

  /**
   * Append samples of one repetition and flush them to disk before returning. Each is checked with
   * the schema the report reads with; one that fails it (a value that is not finite, a unit that
   * is not its metric's) is not written, and is named in `rejected` for the repetition's notes.
   */
  append(at: SampleCoordinates, samples: readonly Sample[]): { records: SampleRecord[]; rejected: string[] } {
    const time = new Date().toISOString();
    const records: SampleRecord[] = [];
    const rejected: string[] = [];
    for (const s of samples) {
      const r = { run: this.run, host: this.host, ...at, time, ...s } satisfies SampleRecord;
      const check = sampleRecordSchema.safeParse(r);
      if (check.success) records.push(r);
      else rejected.push(`sample ${s.metric} from ${s.source ?? 'an unnamed source'} not recorded: ${describeIssues(check.error)}`);
    }
    if (records.length === 0) return { records, rejected };
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    writeAll(this.#samplesFd, text, join(this.dir, 'samples.ndjson'));
    fdatasyncSync(this.#samplesFd);
    return { records, rejected };
  }

  /** Replace run.json atomically with the record. */
  save(record: Frozen<RunRecord>): void {
    writeFileAtomic(join(this.dir, 'run.json'), JSON.stringify(record, null, 2) + '\n');
  }

  /** Append to run.log (best effort: a log that cannot be written must not stop the run). */
  log(text: string): void {
    try {
      appendFileSync(join(this.dir, 'run.log'), text.endsWith('\n') ? text : `${text}\n`, { mode: 0o644 });
    } catch {
      // the disk is full or gone; run.json says what matters
    }
  }

  /** Save a raw tool output (text, or bytes such as a gzip file) beside the results; returns its path relative to the run folder. */
  saveRaw(relPath: string, content: string | Buffer): string {
    const path = join(this.dir, relPath);
    makeDirs(dirname(path));
    writeFileAtomic(path, content);
    return relative(this.dir, path);
  }

  /** Folder for one backend's files (serial logs, raw outputs). */
  backendDir(backend: string): string {
    const d = join(this.dir, backend);
    makeDirs(d);
    return d;
  }

  close(): void {
    closeSync(this.#samplesFd);
  }
}

function writeAll(fd: number, content: string | Buffer, path: string): void {
  const buf = typeof content === 'string' ? Buffer.from(content) : content;
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(fd, buf, off);
  } catch (err) {
    throw storageError(`cannot write ${path}`, err);
  }
}

/** Write to a temporary file in the same folder, fsync it, then rename over the target. */
export function writeFileAtomic(path: string, content: string | Buffer): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeAll(fd, content, tmp);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof StorageError) throw err;
    throw storageError(`cannot write ${path}`, err);
  }
}

function storageError(what: string, err: unknown): StorageError {
  const code = (err as NodeJS.ErrnoException).code;
  const fix = code === 'ENOSPC' ? 'free disk space (the results written so far are intact), then run again' : code === 'EROFS' || code === 'EACCES' ? 'choose a writable folder with --results-dir' : undefined;
  return new StorageError(`${what}: ${code === 'ENOSPC' ? 'the disk is full (ENOSPC)' : (code ?? (err as Error).message)}`, fix, err);
}

/**
 * mkdir -p, one level at a time. Node 20's recursive mkdirSync spins forever on some file systems
 * that answer ENOENT for a parent that exists (procfs, for one); this one fails with that error.
 */
export function makeDirs(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) makeDirs(parent);
  try {
    mkdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
