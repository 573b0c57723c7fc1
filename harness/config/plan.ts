// From what the user wrote (profile + flags) to the run plan: a read-only object that the runner
// follows. Flags are validated here, by the schemas of the profile fields they override, and their
// errors name the flag.

import { backendIds, isBackendId, type BackendId } from '../backends/registry.ts';
import { UsageError } from '../errors.ts';
import type { LoadedProfile } from './load.ts';
import type { z } from 'zod';
import { FLAME_MIN_REPETITIONS, overridable, type ScenarioSpec } from './schema.ts';
import { variantPlan, type VariantPlan } from './variants.ts';

/** A TCP row's `parallel` is settled in the plan (it defaults to the guest NIC's queue pairs). */
type Settled<S> = S extends { parallel?: number } ? Omit<S, 'parallel'> & { parallel: number } : S;
/** One resolved scenario row: the profile's row with its name settled and flags applied. */
export type ScenarioPlan = Settled<ScenarioSpec> & { name: string };

export interface RunPlan {
  profile: { name: string; path: string; hash: string; description?: string };
  /**
   * Ids of the series to measure, in order: each path (checked against the registry when the plan
   * is resolved), followed by its variants (`<path>~<name>`, described in `variants`).
   */
  backends: string[];
  /** The variants among `backends`, each with what it changes (profile `variants`). */
  variants: VariantPlan[];
  repetitions: number;
  warmup: number;
  accel: 'auto' | 'kvm' | 'tcg';
  /** Whether the exit/device-access/CPU collectors run around the measured repetitions. */
  collectors: boolean;
  /** The flame collector samples call stacks in each path's first measured repetition (profile flame; only with collectors on). */
  flame: boolean;
  /** iopath's switch busy-polls (profile switchBusyPoll). */
  switchBusyPoll: boolean;
  /** Repetitions in alternating rounds over the paths, or in one block per path (profile order). */
  order: 'rounds' | 'blocks';
  /** Traffic seconds of a warm-up repetition's variants (profile warmupSec). */
  warmupSec: number;
  /** CPU placement policy (profile placement, flag --placement). */
  placement: 'auto' | 'none';
  /** vcpus is at least queues: each queue pair of a multi-queue NIC wants a vCPU. */
  guest: { memoryMiB: number; vcpus: number; queues: number };
  scenarios: ScenarioPlan[];
  timeouts: { bootSec: number; probeSec: number; netupSec: number };
}

/** Flags of `iopath bench` that override the profile. */
export interface PlanOverrides {
  backends?: string | string[];
  reps?: number;
  warmup?: number;
  duration?: number;
  accel?: string;
  collectors?: boolean;
  placement?: string;
}

export function resolvePlan(loaded: LoadedProfile, flags: PlanOverrides = {}): Readonly<RunPlan> {
  const p = loaded.profile;
  let backends: BackendId[] = p.backends === 'all' ? [...backendIds] : (p.backends as BackendId[]);
  if (flags.backends !== undefined) backends = parseBackendsFlag(flags.backends);
  const repetitions = flag('reps', flags.reps, overridable.repetitions, 'repetitions') ?? p.repetitions;
  const warmup = flag('warmup', flags.warmup, overridable.warmup, 'warmup') ?? p.warmup;
  const accel = flag('accel', flags.accel, overridable.accel, 'accel') ?? p.accel;
  const duration = flag('duration', flags.duration, overridable.durationSec, 'scenarios[].durationSec');
  const collectors = flag('collectors', flags.collectors, overridable.collectors, 'collectors') ?? p.collectors;
  const placement = flag('placement', flags.placement, overridable.placement, 'placement') ?? p.placement;
  const flame = p.flame && collectors;
  if (flame && repetitions < FLAME_MIN_REPETITIONS) {
    throw new UsageError(`--reps ${repetitions}: the profile has flame: true, which leaves each path's first measured repetition out of statistics; give ${FLAME_MIN_REPETITIONS} repetitions at least`);
  }
  const scenarios = p.scenarios.map((s) => {
    const row = { ...s, name: s.name ?? s.kind, durationSec: duration ?? s.durationSec };
    return 'parallel' in row || s.kind === 'tcp-stream' || s.kind === 'tcp-stream-no-offload' ? { ...row, parallel: (row as { parallel?: number }).parallel ?? p.guest.queues } : row;
  }) as ScenarioPlan[];
  // Each path's variants follow it; a path left out (by --backends) takes its variants with it.
  const variants = backends.flatMap((id) => (p.variants[id] ?? []).map((v) => variantPlan(id, v)));
  const plan: RunPlan = {
    profile: { name: p.name, path: loaded.path, hash: loaded.hash, ...(p.description ? { description: p.description } : {}) },
    backends: backends.flatMap((id) => [id, ...variants.filter((v) => v.of === id).map((v) => v.id)]),
    variants,
    repetitions,
    warmup,
    accel,
    collectors,
    flame,
    switchBusyPoll: p.switchBusyPoll,
    order: p.order,
    warmupSec: p.warmupSec,
    placement,
    guest: { ...p.guest, vcpus: Math.max(p.guest.vcpus, p.guest.queues) },
    scenarios,
    timeouts: { ...p.timeouts },
  };
  return deepFreeze(plan);
}

/** Default guest MTU on the path under test. */
export const DEFAULT_MTU = 1500;

/** The guests of one series: the profile's, with a variant's queues and MTU (vCPUs at least the queue pairs). */
export function guestFor(plan: Readonly<RunPlan>, id: string): { memoryMiB: number; vcpus: number; queues: number; mtu: number } {
  const v = plan.variants.find((x) => x.id === id);
  const queues = v?.queues ?? plan.guest.queues;
  return { memoryMiB: plan.guest.memoryMiB, vcpus: Math.max(plan.guest.vcpus, queues), queues, mtu: v?.mtu ?? DEFAULT_MTU };
}

/** A flag's value checked by the schema of the profile field it overrides; undefined when not given. */
function flag<T>(name: string, value: unknown, schema: z.ZodType<T>, field: string): T | undefined {
  if (value === undefined) return undefined;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const shown = Array.isArray(value) ? value.join(' ') : String(value);
  throw new UsageError(`--${name} ${shown}: ${r.error.issues[0]?.message ?? 'invalid'} (the limits of the profile field ${field})`);
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
