// Parsers for QEMU's `query-stats` and `query-stats-schemas` replies (QEMU 7.1 and later), and the
// before/after arithmetic on them. Quirks of real replies: statistics come in reverse descriptor
// order, vCPU entries are identified by qom-path (not index-aligned: the first vCPU may be
// `device[2]`), and a value is an integer, a boolean or a list of histogram buckets.

import { ParseError } from '../../errors.ts';
import { QmpError } from '../../vm/qmp.ts';

export type StatValue = number | boolean | number[];

/** One `StatsResult`: a provider's statistics for the VM, or for one vCPU. */
export interface StatsEntry {
  provider: string;
  /** The vCPU's QOM path; absent for target `vm`. */
  qomPath?: string;
  stats: Map<string, StatValue>;
}

/** One `StatsSchemaValue`. */
export interface StatSchema {
  type: 'cumulative' | 'instant' | 'peak' | 'linear-histogram' | 'log2-histogram' | string;
  unit?: string;
  base?: number;
  exponent: number;
}

/** Schemas by target (`vm`, `vcpu`) then statistic name. */
export type StatsSchemas = Map<string, Map<string, StatSchema>>;

/** The `return` of a raw QMP response object, or the QmpError its `error` describes. */
export function unwrapQmpResponse(command: string, response: unknown): unknown {
  if (typeof response === 'object' && response !== null) {
    const r = response as Record<string, unknown>;
    if ('return' in r) return r.return;
    if (typeof r.error === 'object' && r.error !== null) {
      const e = r.error as Record<string, unknown>;
      throw new QmpError(command, String(e.class ?? 'Error'), String(e.desc ?? ''));
    }
  }
  throw new ParseError(`QMP ${command} response`, 'neither return nor error', JSON.stringify(response));
}

/** Parse the `return` of `query-stats`. An empty list is valid (unknown names, no provider). */
export function parseQueryStats(ret: unknown): StatsEntry[] {
  const fail = (detail: string): never => {
    throw new ParseError('QMP query-stats reply', detail, JSON.stringify(ret));
  };
  if (!Array.isArray(ret)) fail('not a list');
  return (ret as unknown[]).map((item, i) => {
    if (typeof item !== 'object' || item === null) fail(`entry ${i} is not an object`);
    const o = item as Record<string, unknown>;
    if (typeof o.provider !== 'string') fail(`entry ${i} has no provider`);
    if (!Array.isArray(o.stats)) fail(`entry ${i} has no stats list`);
    const stats = new Map<string, StatValue>();
    for (const s of o.stats as unknown[]) {
      const stat = s as Record<string, unknown> | null;
      if (typeof stat?.name !== 'string') fail(`entry ${i} has a statistic without a name`);
      const value = stat!.value;
      const ok =
        typeof value === 'boolean' ||
        (typeof value === 'number' && Number.isFinite(value)) ||
        (Array.isArray(value) && value.every((v) => typeof v === 'number'));
      if (!ok) fail(`statistic ${String(stat!.name)} has an unexpected value ${JSON.stringify(value)}`);
      stats.set(stat!.name as string, value as StatValue);
    }
    const entry: StatsEntry = { provider: o.provider as string, stats };
    if (typeof o['qom-path'] === 'string') entry.qomPath = o['qom-path'];
    return entry;
  });
}

/** Parse the `return` of `query-stats-schemas`. */
export function parseStatsSchemas(ret: unknown): StatsSchemas {
  const fail = (detail: string): never => {
    throw new ParseError('QMP query-stats-schemas reply', detail, JSON.stringify(ret));
  };
  if (!Array.isArray(ret)) fail('not a list');
  const schemas: StatsSchemas = new Map();
  for (const item of ret as unknown[]) {
    const o = item as Record<string, unknown> | null;
    if (typeof o?.target !== 'string' || !Array.isArray(o.stats)) fail('entry without target or stats');
    const byName = schemas.get(o!.target as string) ?? new Map<string, StatSchema>();
    for (const s of o!.stats as unknown[]) {
      const d = s as Record<string, unknown> | null;
      if (typeof d?.name !== 'string' || typeof d.type !== 'string') fail('schema without name or type');
      const schema: StatSchema = { type: d!.type as string, exponent: typeof d!.exponent === 'number' ? d!.exponent : 0 };
      if (typeof d!.unit === 'string') schema.unit = d!.unit;
      if (typeof d!.base === 'number') schema.base = d!.base;
      byName.set(d!.name as string, schema);
    }
    schemas.set(o!.target as string, byName);
  }
  return schemas;
}

/** A cumulative statistic's change over a window. */
export interface StatDelta {
  /** vCPU qom-path, or undefined for VM-wide statistics. */
  qomPath?: string;
  name: string;
  /** after - before, in the statistic's unit scaled by its exponent (nanoseconds become seconds). */
  delta: number;
  /** Whether the value is time (unit `seconds`) rather than a count. */
  seconds: boolean;
}

/**
 * Deltas of the cumulative statistics between two replies of the same target and provider.
 * Entries are matched by qom-path (never by position); statistics that are not cumulative
 * according to `schema`, or not numbers, are left out.
 */
export function cumulativeDeltas(before: StatsEntry[], after: StatsEntry[], schema: Map<string, StatSchema>): StatDelta[] {
  const key = (e: StatsEntry) => `${e.provider}|${e.qomPath ?? ''}`;
  const earlier = new Map(before.map((e) => [key(e), e]));
  const deltas: StatDelta[] = [];
  for (const entry of after) {
    const prior = earlier.get(key(entry));
    if (!prior) continue;
    for (const [name, value] of entry.stats) {
      const s = schema.get(name);
      const old = prior.stats.get(name);
      if (s?.type !== 'cumulative' || typeof value !== 'number' || typeof old !== 'number') continue;
      const scale = (s.base ?? 10) ** s.exponent;
      const d: StatDelta = { name, delta: (value - old) * scale, seconds: s.unit === 'seconds' };
      if (entry.qomPath !== undefined) d.qomPath = entry.qomPath;
      deltas.push(d);
    }
  }
  return deltas;
}
