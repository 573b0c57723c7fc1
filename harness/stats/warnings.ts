// Data-quality findings in words: what is wrong with a series or a run, and what to do about it.

import type { MetricName } from '../metrics.ts';
import type { Dims } from '../samples.ts';

export type WarningCode =
  | 'no-ci'
  | 'few-reps'
  | 'high-cv'
  | 'outlier'
  | 'drift'
  | 'failed-rep'
  | 'backend-failed'
  | 'partial-run'
  | 'malformed-data'
  | 'no-samples'
  | 'no-power'
  | 'host-differs'
  | 'collector-unavailable'
  | 'rep-note'
  | 'cpu-starved'
  | 'host-speed'
  | 'variant-refused';

/** Where a finding applies; absent fields mean "all of them". */
export interface WarningSubject {
  host?: string;
  run?: string;
  backend?: string;
  scenario?: string;
  metric?: MetricName;
  dims?: Dims;
}

export interface Warning {
  code: WarningCode;
  /** `error`: numbers are missing or wrong; `warning`: numbers are shaky; `note`: worth knowing. */
  severity: 'note' | 'warning' | 'error';
  subject: WarningSubject;
  /** What was found, in a sentence. */
  message: string;
  /** What the user can do about it. */
  advice?: string;
  /** For an entry that groups the findings of one path and scenario: each of them, most consequential first. */
  findings?: Warning[];
}

/** Thresholds behind the warnings; the report prints them next to the warnings they cause. */
export interface QualityThresholds {
  /** A coefficient of variation above this (percent) is called noisy. */
  cvPercent: number;
  /** Fewer repetitions than this get a "few repetitions" warning. */
  minReps: number;
  /** Drift is reported when the Mann–Kendall p-value is below this. */
  driftAlpha: number;
}

export const DEFAULT_THRESHOLDS: QualityThresholds = { cvPercent: 10, minReps: 5, driftAlpha: 0.05 };

const severityRank = { error: 0, warning: 1, note: 2 } as const;

/** Errors first, then warnings, then notes; stable otherwise. */
export function sortWarnings(ws: readonly Warning[]): Warning[] {
  return [...ws].sort((a, b) => severityRank[a.severity] - severityRank[b.severity]);
}

/**
 * How much a finding changes what the numbers mean, most first: numbers missing or wrong; a failed
 * repetition, a path starved of CPU or a variant whose property was refused (a result that is not
 * what the series says it is); noise, drift or a single repetition (results that are shaky); an
 * outlier (one repetition off, the median robust to it); notes.
 */
const CONSEQUENCE: Record<WarningCode, number> = {
  'partial-run': 0,
  'backend-failed': 0,
  'no-samples': 0,
  'malformed-data': 0,
  'host-differs': 0,
  'failed-rep': 1,
  'cpu-starved': 1,
  'variant-refused': 1,
  'host-speed': 2,
  'no-ci': 2,
  'no-power': 2,
  'high-cv': 2,
  drift: 2,
  outlier: 3,
  'few-reps': 4,
  'collector-unavailable': 4,
  'rep-note': 4,
};

export function consequence(w: Warning): number {
  // A note never outranks a warning, whatever its code.
  return Math.max(CONSEQUENCE[w.code], w.severity === 'note' ? 4 : 0);
}

export interface GroupOptions {
  /** Order of paths (backends) and of scenarios within a class; default: first seen. */
  pathOrder?: (a: string, b: string) => number;
  scenarioOrder?: (a: string, b: string) => number;
}

/**
 * The warnings as a reader gets them: at most one entry per path and scenario (and one per path for
 * what concerns a whole path), listing its findings most consequential first; run-wide findings stay
 * as they are. Entries are ordered by their most consequential finding (see {@link consequence}),
 * then by severity, then run-wide before per path, then by path and scenario order.
 */
export function groupWarnings(ws: readonly Warning[], options: GroupOptions = {}): Warning[] {
  const groups = new Map<string, Warning[]>();
  const loose: Warning[] = [];
  for (const w of ws) {
    if (!w.subject.backend) {
      loose.push(w);
      continue;
    }
    const k = [w.subject.host ?? '', w.subject.backend, w.subject.scenario ?? ''].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), w]);
  }
  const byConsequence = (a: Warning, b: Warning) => consequence(a) - consequence(b) || severityRank[a.severity] - severityRank[b.severity];
  const entries = [...loose, ...[...groups.values()].map((g) => mergeEntry([...g].sort(byConsequence)))];
  const first = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => x !== undefined))];
  const paths = first(entries.map((w) => w.subject.backend));
  const scenarios = first(entries.map((w) => w.subject.scenario));
  const pathCmp = options.pathOrder ?? ((a: string, b: string) => paths.indexOf(a) - paths.indexOf(b));
  const scenarioCmp = options.scenarioOrder ?? ((a: string, b: string) => scenarios.indexOf(a) - scenarios.indexOf(b));
  const place = (a: Warning, b: Warning) => {
    const [pa, pb] = [a.subject.backend, b.subject.backend];
    if (!pa || !pb) return (pa ? 1 : 0) - (pb ? 1 : 0);
    const [sa, sb] = [a.subject.scenario, b.subject.scenario];
    return (a.subject.host ?? '').localeCompare(b.subject.host ?? '') || pathCmp(pa, pb) || (sa && sb ? scenarioCmp(sa, sb) : (sa ? 1 : 0) - (sb ? 1 : 0));
  };
  return entries.sort((a, b) => byConsequence(a, b) || place(a, b));
}

/** One entry for the findings of one path and scenario, already in order. */
function mergeEntry(findings: Warning[]): Warning {
  if (findings.length === 1) return findings[0]!;
  const top = findings[0]!;
  const severity = findings.reduce((s, w) => (severityRank[w.severity] < severityRank[s] ? w.severity : s), top.severity);
  const { host, run, backend, scenario } = Object.assign({}, ...findings.map((w) => w.subject)) as WarningSubject;
  const subject: WarningSubject = { ...(host !== undefined ? { host } : {}), ...(run !== undefined ? { run } : {}), backend, ...(scenario !== undefined ? { scenario } : {}) };
  const advice = [...new Set(findings.flatMap((w) => (w.advice ? [w.advice] : [])))];
  return {
    code: top.code,
    severity,
    subject,
    message: findings.map((w) => w.message).join('; '),
    ...(advice.length ? { advice: advice.join('; ') } : {}),
    findings,
  };
}
