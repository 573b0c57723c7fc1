// From what the user wrote (profile + flags) to the run plan: a read-only object that the runner
// follows. Flags are validated here and their errors name the flag.

import { backendIds, isBackendId, type BackendId } from '../backends/registry.ts';
import { UsageError } from '../errors.ts';
import type { LoadedProfile } from './load.ts';
import type { ScenarioSpec } from './schema.ts';

/** A TCP row's `parallel` is settled in the plan (it defaults to the guest NIC's queue pairs). */
type Settled<S> = S extends { parallel?: number } ? Omit<S, 'parallel'> & { parallel: number } : S;
/** One resolved scenario row: the profile's row with its name settled and flags applied. */
export type ScenarioPlan = Settled<ScenarioSpec> & { name: string };

export interface RunPlan {
  profile: { name: string; path: string; hash: string; description?: string };
  /** Ids of the paths to measure, in order (checked against the registry when the plan is resolved). */
  backends: string[];
  repetitions: number;
  warmup: number;
  accel: 'auto' | 'kvm' | 'tcg';
  /** Whether the exit/device-access/CPU collectors run around the measured repetitions. */
  collectors: boolean;
  /** iopath's switch busy-polls (profile switchBusyPoll). */
  switchBusyPoll: boolean;
  /** vcpus is at least queues: each queue pair of a multi-queue NIC wants a vCPU. */
  guest: { memoryMiB: number; vcpus: number; queues: number };
  scenarios: ScenarioPlan[];
  timeouts: { bootSec: number; probeSec: number };
}

/** Flags of `iopath bench` that override the profile. */
export interface PlanOverrides {
  backends?: string | string[];
  reps?: number;
  warmup?: number;
  duration?: number;
  accel?: string;
  collectors?: boolean;
}

export function resolvePlan(loaded: LoadedProfile, flags: PlanOverrides = {}): Readonly<RunPlan> {
  const p = loaded.profile;
  let backends: BackendId[] = p.backends === 'all' ? [...backendIds] : (p.backends as BackendId[]);
  if (flags.backends !== undefined) backends = parseBackendsFlag(flags.backends);
  const repetitions = flags.reps ?? p.repetitions;
  if (!Number.isInteger(repetitions) || repetitions < 1) throw new UsageError(`--reps ${flags.reps}: must be a whole number of at least 1`);
  const warmup = flags.warmup ?? p.warmup;
  if (!Number.isInteger(warmup) || warmup < 0) throw new UsageError(`--warmup ${flags.warmup}: must be a whole number, 0 or more`);
  const accel = flags.accel ?? p.accel;
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel ${accel}: must be auto, kvm or tcg`);
  if (flags.duration !== undefined && (!Number.isInteger(flags.duration) || flags.duration < 1 || flags.duration > 3600)) {
    throw new UsageError(`--duration ${flags.duration}: must be a whole number of seconds from 1 to 3600`);
  }
  const scenarios = p.scenarios.map((s) => {
    const row = { ...s, name: s.name ?? s.kind, durationSec: flags.duration ?? s.durationSec };
    return 'parallel' in row || s.kind === 'tcp-stream' || s.kind === 'tcp-stream-no-offload' ? { ...row, parallel: (row as { parallel?: number }).parallel ?? p.guest.queues } : row;
  }) as ScenarioPlan[];
  const plan: RunPlan = {
    profile: { name: p.name, path: loaded.path, hash: loaded.hash, ...(p.description ? { description: p.description } : {}) },
    backends,
    repetitions,
    warmup,
    accel,
    collectors: flags.collectors ?? p.collectors,
    switchBusyPoll: p.switchBusyPoll,
    guest: { ...p.guest, vcpus: Math.max(p.guest.vcpus, p.guest.queues) },
    scenarios,
    timeouts: { ...p.timeouts },
  };
  return deepFreeze(plan);
}

export function parseBackendsFlag(value: string | string[]): BackendId[] {
  const ids = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  if (ids.length === 0) throw new UsageError(`--backends: give at least one of ${backendIds.join(', ')}`);
  if (ids.length === 1 && ids[0] === 'all') return [...backendIds];
  const unknown = ids.filter((id) => !isBackendId(id));
  if (unknown.length) throw new UsageError(`--backends: unknown backend ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${backendIds.join(', ')}`);
  return [...new Set(ids)] as BackendId[];
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
