// The profile schema: what a user may write in profiles/*.yaml. Strict everywhere (an unknown key
// is an error, with the allowed keys listed), validated once at the edge, before anything starts.

import { z } from 'zod';
import { backendIds, isBackendId } from '../backends/registry.ts';
import { scenarioKinds } from '../workloads/kinds.ts';

/** A strict object whose unknown-key error lists the keys that are allowed. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}; allowed: ${allowed}` : undefined,
  });
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** With `flame`, one measured repetition per path is left out of statistics: at least one must remain. */
export const FLAME_MIN_REPETITIONS = 2;

/**
 * Fields that `iopath bench` flags can override: the flags are checked by these same schemas, so a
 * flag accepts exactly what the profile field accepts.
 */
export const overridable = {
  /** --reps */
  repetitions: int(1, 1000),
  /** --warmup */
  warmup: int(0, 100),
  /** --duration, applied to every scenario */
  durationSec: int(1, 3600),
  /** --accel */
  accel: z.enum(['auto', 'kvm', 'tcg']),
  /** --collectors / --no-collectors */
  collectors: z.boolean(),
  /** --placement */
  placement: z.enum(['auto', 'none']),
} as const;

export const backendIdSchema = z.string().superRefine((id, ctx) => {
  if (!isBackendId(id)) ctx.addIssue({ code: 'custom', message: `unknown backend "${id}"; known: ${backendIds.join(', ')}` });
});

const topology = z.enum(['guest-to-guest', 'guest-to-host']);

/** Fields every scenario row has. */
const common = {
  /** Name in results and reports; defaults to the kind. Must be unique in the profile. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'use lower-case letters, digits, ".", "_" and "-" (at most 64)').optional(),
  /** Who talks to whom: two guests through the path (default), or guest B and the host end of a tap path. */
  topology: topology.default('guest-to-guest'),
  /** Measured seconds of traffic per repetition. */
  durationSec: overridable.durationSec.default(10),
};
/** Seconds of traffic before the measured ones, left out of the result (iperf3 -O: TCP slow start). */
const omitSec = int(0, 600).default(1);

/** One row of the scenario table, by kind; each kind accepts only its own parameters. */
export const scenarioSchema = z.discriminatedUnion(
  'kind',
  [
    // iperf3 streams; by default as many as the guest NIC has queue pairs (guest.queues).
    strict({ kind: z.literal('tcp-stream'), ...common, omitSec, parallel: int(1, 128).optional() }),
    strict({ kind: z.literal('tcp-stream-no-offload'), ...common, omitSec, parallel: int(1, 128).optional() }),
    strict({
      kind: z.literal('udp-small'),
      ...common,
      omitSec,
      /** UDP payload sizes in bytes, each measured in every repetition (1472 fills a 1500-byte MTU). */
      payloads: z.array(int(16, 1472)).min(1).max(8).default([64, 1400]),
    }),
    strict({ kind: z.literal('latency'), ...common }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator'
        ? `unknown scenario kind ${JSON.stringify((issue.input as { kind?: unknown })?.kind)}; known: ${scenarioKinds.join(', ')}`
        : undefined,
  },
);

/** Variant names: they become part of the series id (`<path>~<name>`) and of host resource names. */
export const VARIANT_NAME = /^[a-z0-9][a-z0-9-]{0,23}$/;

/**
 * One variant of a path: the path measured again as its own series with these changes. `device`
 * holds properties of the guest NIC's QEMU device (checked against what the host's QEMU lists for
 * it before the run starts); `mtu` is the guests' MTU (and the tap's or the switch's where the path
 * has one); `queues` the NIC's queue pairs (guest.queues for this series).
 */
export const variantSchema = strict({
  name: z.string().regex(VARIANT_NAME, 'use lower-case letters, digits and "-" (at most 24), starting with a letter or digit'),
  description: z.string().max(500).optional(),
  device: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'not a QEMU property name'), z.union([z.boolean(), z.number(), z.string().max(200)])).default({}),
  /** Guest MTU, from IPv4's minimum to a jumbo frame. */
  mtu: int(576, 9000).optional(),
  queues: int(1, 8).optional(),
});

export const profileSchema = strict({
  /** Defaults to the file name. */
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use letters, digits, ".", "_" and "-" (at most 64)').optional(),
  description: z.string().max(2000).optional(),
  /** Paths to measure, in this order; `all` means every path this host can run. */
  backends: z.union([z.literal('all'), z.array(backendIdSchema).min(1)]).default('all'),
  /** Measured repetitions per backend and scenario. */
  repetitions: overridable.repetitions.default(5),
  /** Repetitions run first and thrown away (recorded with warmup: true). */
  warmup: overridable.warmup.default(1),
  /** Accelerator: `auto` boots a probe guest under KVM and falls back to TCG when it does not come up. */
  accel: overridable.accel.default('auto'),
  /** Count exits, device accesses and host CPU around every measured repetition (off only to measure their overhead). */
  collectors: overridable.collectors.default(true),
  /**
   * Sample the call stacks of each path's host threads (QEMU, vhost workers, the switches) with
   * perf during the path's first measured repetition, and draw them as a flame graph linked from
   * the report. That repetition is left out of statistics (sampling costs the guests CPU), so a
   * profile with it needs two repetitions at least. Off by default.
   */
  flame: z.boolean().default(false),
  /**
   * iopath's own vhost-user switch polls its rings without ever sleeping, on a core of its own, as
   * testpmd does. Off by default: beside TCG guests on a small host it takes a core from them.
   */
  switchBusyPoll: z.boolean().default(false),
  /**
   * How the repetitions are ordered. `rounds`: every round runs one repetition of every path, the
   * paths' order reversed each round (A B C, C B A, ...), with every path's guests kept booted, so
   * that a slow drift of the host falls on every path alike. `blocks`: all repetitions of one path,
   * then the next. Rounds fall back to blocks when the host cannot keep every path's guests up.
   */
  order: z.enum(['rounds', 'blocks']).default('rounds'),
  /**
   * Seconds of traffic of each variant of a warm-up repetition (at most the scenario's durationSec;
   * nothing omitted). A warm-up only brings the guests and the host to a steady state; its numbers
   * are thrown away.
   */
  warmupSec: int(1, 3600).default(2),
  /**
   * CPU placement: `auto` pins each guest's vCPU threads, QEMU's I/O threads, vhost workers, the
   * path's helpers and iopath with its host-side tools to cores chosen for this host's core count
   * (docs/placement.md); `none` leaves every thread where the scheduler puts it.
   */
  placement: overridable.placement.default('auto'),
  guest: strict({
    memoryMiB: int(128, 65536).default(512),
    vcpus: int(1, 64).default(1),
    /**
     * Queue pairs of each guest's NIC (a multi-queue virtio PCI NIC, on the paths whose descriptor allows it;
     * an emulated NIC without it has one). The guests get at least as many vCPUs, enable as many
     * combined channels, and TCP scenarios run as many iperf3 streams unless `parallel` says otherwise.
     */
    queues: int(1, 8).default(1),
  }).default({ memoryMiB: 512, vcpus: 1, queues: 1 }),
  scenarios: z.array(scenarioSchema).min(1),
  /**
   * Variants per path: each one is measured as its own series (`<path>~<name>`) beside the path
   * itself, which keeps the defaults. See README.md, "Variants".
   */
  variants: z.record(z.string(), z.array(variantSchema).min(1).max(32)).default({}),
  timeouts: strict({
    /** Longest a guest may take to boot to its agent. */
    bootSec: int(5, 3600).default(120),
    /** How long the KVM probe guest gets to come up before TCG is chosen. */
    probeSec: int(2, 600).default(20),
    /** Longest a booted guest may take to bring up its interface on the path (driver, address, link). */
    netupSec: int(2, 600).default(30),
  }).default({ bootSec: 120, probeSec: 20, netupSec: 30 }),
}).superRefine((p, ctx) => {
  if (p.flame && p.repetitions < FLAME_MIN_REPETITIONS) {
    ctx.addIssue({ code: 'custom', path: ['repetitions'], message: `flame: true leaves each path's first measured repetition out of statistics; give repetitions ${FLAME_MIN_REPETITIONS} at least` });
  }
  if (Array.isArray(p.backends)) {
    p.backends.forEach((b, i) => {
      if (p.backends.indexOf(b) !== i) ctx.addIssue({ code: 'custom', path: ['backends', i], message: `"${b}" is listed twice` });
    });
  }
  for (const [path, list] of Object.entries(p.variants)) {
    if (!isBackendId(path)) {
      ctx.addIssue({ code: 'custom', path: ['variants', path], message: `unknown backend "${path}"; known: ${backendIds.join(', ')}` });
      continue;
    }
    if (Array.isArray(p.backends) && !p.backends.includes(path)) {
      ctx.addIssue({ code: 'custom', path: ['variants', path], message: `"${path}" is not in backends (${p.backends.join(', ')}); a variant is measured beside its path` });
    }
    const seen = new Set<string>();
    list.forEach((v, i) => {
      if (seen.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variants', path, i, 'name'], message: `variant name "${v.name}" is used twice for ${path}` });
      seen.add(v.name);
      if (Object.keys(v.device).length === 0 && v.mtu === undefined && v.queues === undefined) {
        ctx.addIssue({ code: 'custom', path: ['variants', path, i], message: `variant "${v.name}" changes nothing; give it device properties, mtu or queues` });
      }
    });
  }
  const names = new Set<string>();
  p.scenarios.forEach((s, i) => {
    const name = s.name ?? s.kind;
    if (names.has(name)) ctx.addIssue({ code: 'custom', path: ['scenarios', i, 'name'], message: `scenario name "${name}" is used twice; give each a distinct name` });
    names.add(name);
  });
});

export type ProfileInput = z.input<typeof profileSchema>;
export type Profile = z.output<typeof profileSchema>;
export type ScenarioSpec = z.output<typeof scenarioSchema>;
export type VariantSpec = z.output<typeof variantSchema>;
