// Reading a profile: find the file, refuse anything but a regular file of sane size before reading
// it, parse YAML or JSON, validate against the schema, and turn every problem into one UsageError
// whose lines name the file, the path in it and what to do.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { UsageError } from '../errors.ts';
import { profilesDir } from '../paths.ts';
import { profileSchema, type Profile } from './schema.ts';
import { MAX_BYTES, readUserFile } from './user-file.ts';

export interface LoadedProfile {
  profile: Profile & { name: string };
  path: string;
  /** sha256 of the file's bytes. */
  hash: string;
}

/** `quick` -> profiles/quick.yaml; anything with a slash or an extension is taken as a path. */
export function resolveProfilePath(nameOrPath: string, dir = profilesDir): string {
  if (nameOrPath.includes('/') || /\.(ya?ml|json)$/.test(nameOrPath)) return resolve(nameOrPath);
  for (const ext of ['.yaml', '.yml', '.json']) {
    const candidate = join(dir, nameOrPath + ext);
    if (existsSync(candidate)) return candidate;
  }
  throw new UsageError(`no profile named "${nameOrPath}" in ${dir}; available: ${listProfiles(dir).join(', ') || 'none'}`, 'pass --profile with one of those names, or a path to a .yaml/.json file');
}

export function listProfiles(dir = profilesDir): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => basename(f, extname(f)))
      .sort();
  } catch {
    return [];
  }
}

export function loadProfile(nameOrPath: string, dir = profilesDir): LoadedProfile {
  const path = resolveProfilePath(nameOrPath, dir);
  const bytes = readUserFile(path, { what: 'profile', maxBytes: MAX_BYTES.profile, fix: 'pass --profile a profile name, or the path of a .yaml/.json file' });
  const text = bytes.toString('utf8');
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line}, column ${err.linePos[0].col})` : '';
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new UsageError(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}${where}: ${what}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UsageError(`${path}: a profile must be a mapping of keys (name, backends, scenarios, ...)`);
  }
  const parsed = profileSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(formatIssues(path, parsed.error.issues));
  const profile = { ...parsed.data, name: parsed.data.name ?? basename(path, extname(path)) };
  return { profile, path, hash: createHash('sha256').update(bytes).digest('hex') };
}

/** `scenarios[0].durationSec` from ['scenarios', 0, 'durationSec']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

export function formatIssues(file: string, issues: readonly z.core.$ZodIssue[], what = 'profile'): string {
  const lines = issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
  return `${file}: invalid ${what} (${issues.length} problem${issues.length > 1 ? 's' : ''}):\n${lines.join('\n')}`;
}
