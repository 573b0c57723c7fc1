// The shape of results/<run-id>/run.json, written as one schema: the types the runner writes are
// inferred from it, and the report validates what it reads with it, so the two cannot drift. It is a
// public contract (README.md, "Results"): add optional fields, never rename. The run is a tree
// (run -> path -> scenario -> repetition), each node with a status and, when it did not succeed, the
// reason in words; repetitions are listed flat per path and name their scenario.

import { z } from 'zod';

export const RUN_SCHEMA = 'iopath.run/1';

const runStatuses = ['running', 'complete', 'partial', 'failed', 'interrupted'] as const;
/** `blocked`: never started because a stage around it failed first (the reason names that stage). */
const pathStatuses = ['pending', 'running', 'ok', 'partial', 'skipped', 'failed', 'blocked'] as const;
const scenarioStatuses = ['pending', 'running', 'ok', 'partial', 'skipped', 'failed', 'blocked'] as const;
const repStatuses = ['ok', 'failed', 'blocked'] as const;

export type RunStatus = (typeof runStatuses)[number];
export type BackendStatus = (typeof pathStatuses)[number];
export type ScenarioStatus = (typeof scenarioStatuses)[number];
export type RepStatus = (typeof repStatuses)[number];

const accelChoiceSchema = z.object({
  /** The accelerator the guests ran under. */
  kind: z.enum(['kvm', 'tcg']),
  /** Why: the outcome of the probe boot or the profile/flag that forced it. */
  reason: z.string(),
});
export type AccelChoice = z.infer<typeof accelChoiceSchema>;

/** Where a run inside the nested KVM lab ran: the real host (L0), the lab VM (L1), what is real. */
const labProvenanceSchema = z.object({
  nested: z.literal(true),
  /** Id of the `iopath lab` session. */
  lab: z.string(),
  startedAt: z.string(),
  /** How L1's KVM works. */
  virtualisation: z.string(),
  /** The real host, which runs L1 under software emulation. */
  l0: z.object({ hostname: z.string(), kernel: z.string(), cpuModel: z.string(), cpuCount: z.number(), memoryMiB: z.number(), qemuVersion: z.string(), accel: z.literal('tcg') }),
  /** The lab VM whose KVM the nested run's guests used. */
  l1: z.object({ kernel: z.string(), cpus: z.number(), memoryMiB: z.number(), image: z.string() }),
  /** The guest image prepared on the host for the runs inside. */
  guestImage: z.object({ imagesDir: z.string(), hash: z.string() }).optional(),
  /** What the lab measures for real. */
  real: z.array(z.string()),
  /** What it measures at emulated speed: never to be quoted as a host's figure. */
  notRepresentative: z.array(z.string()),
});
export type LabProvenance = z.infer<typeof labProvenanceSchema>;

const provenanceSchema = z.object({
  hostname: z.string(),
  hostKernel: z.string(),
  cpuModel: z.string(),
  cpuCount: z.number(),
  memoryMiB: z.number(),
  qemuVersion: z.string(),
  qemuBinary: z.string(),
  guestKernel: z.string(),
  image: z.object({ hash: z.string(), kernel: z.string(), kernelBoot: z.enum(['pvh', 'bzimage']).optional(), initrd: z.string(), packages: z.record(z.string(), z.string()) }),
  accel: accelChoiceSchema,
  gitCommit: z.string(),
  gitDirty: z.boolean(),
  iopathVersion: z.string(),
  nodeVersion: z.string(),
  /**
   * Present when the run ran inside the nested KVM lab (`iopath lab`): the host above is then the
   * lab VM (L1), whose KVM is AMD SVM emulated by QEMU TCG on the real host (`lab.l0`). Exits,
   * exit reasons and host-CPU attribution are real there; throughput, packet rates and latency are not.
   */
  lab: labProvenanceSchema.optional(),
});
export type Provenance = z.infer<typeof provenanceSchema>;

const hostProbeReadingSchema = z.object({ memNs: z.number(), spinNs: z.number(), cpu: z.number().int().optional() });

/** A collector's intrusion into one repetition, with the files it left (relative to the run folder). */
const intrusionSchema = z.object({
  collector: z.string(),
  /** In words: what ran and what it cost. */
  what: z.string(),
  /** The first is the one to open (the flame graph's SVG). */
  files: z.array(z.string()),
  samples: z.number().int().nonnegative().optional(),
  /** CPU seconds the collector's own process spent during the window. */
  cpuSec: z.number().nonnegative().optional(),
  /** Seconds it was sampling, the span cpuSec was spent in. */
  sampledSec: z.number().nonnegative().optional(),
});
export type IntrusionRecord = z.infer<typeof intrusionSchema>;

const repSchema = z.object({
  scenario: z.string(),
  rep: z.number().int().nonnegative(),
  warmup: z.boolean(),
  status: z.enum(repStatuses),
  reason: z.string().optional(),
  /** When it started and how long it took; absent for a blocked repetition, which never started. */
  startedAt: z.string().optional(),
  durationMs: z.number().optional(),
  /** Raw outputs kept beside run.json, relative to the run folder. */
  raw: z.array(z.string()).optional(),
  /** Data-quality remarks about this repetition (a collector that failed, a clamped baseline). */
  notes: z.array(z.string()).optional(),
  /** The host's speed just before and just after the repetition's windows (host/speed-probe.ts). */
  hostProbe: z.object({ before: hostProbeReadingSchema, after: hostProbeReadingSchema.optional() }).optional(),
  /**
   * What collectors did to this repetition beyond counting (the flame collector sampled call stacks
   * in it, taking CPU from the guests): such a repetition is left out of every statistic.
   */
  intrusions: z.array(intrusionSchema).optional(),
});
export type RepOutcome = z.infer<typeof repSchema>;

const scenarioSchema = z.object({
  name: z.string(),
  status: z.enum(scenarioStatuses),
  reason: z.string().optional(),
});
export type ScenarioOutcome = z.infer<typeof scenarioSchema>;

/** A collector's availability for one backend, and how it measured (shown beside its figures). */
const collectorSchema = z.object({
  id: z.string(),
  /** Name of the source shown next to every figure, e.g. `perf`, `QMP query-stats`, `TCG trace`. */
  source: z.string(),
  available: z.boolean(),
  /** When unavailable: why, in words a user can act on. */
  reason: z.string().optional(),
  fix: z.string().optional(),
  /** How it measured on this host (runs written before notes were recorded lack them). */
  notes: z.array(z.string()).optional(),
});
export type CollectorRecord = z.infer<typeof collectorSchema>;

/** How reports show the path, copied from its descriptor when the run started. */
const presentationSchema = z.object({
  order: z.number(),
  color: z.string().regex(/^#[0-9A-Fa-f]{6}$/),
  reference: z.boolean().optional(),
  sources: z.record(z.string(), z.string()).optional(),
  /** For a variant: the path it varies (an ablation view sets each variant beside it). */
  variantOf: z.string().optional(),
  /** For a variant: its name. */
  variant: z.string().optional(),
});

/** Where CPU placement put one thread, and where the kernel then allowed it to run. */
const placedThreadSchema = z.object({
  /** Whose thread: `qemu <guest>`, a helper's role, or `iopath`. */
  role: z.string(),
  /** `vcpu`, `io`, `vhost`, `helper`, `helper-light` or `host` (the units of docs/placement.md). */
  kind: z.string(),
  tid: z.number().int(),
  comm: z.string(),
  /** The CPU list it was pinned to; absent when iopath did not pin it (placement none, or a helper that pins itself). */
  pinned: z.string().optional(),
  /** Its Cpus_allowed_list, read back from /proc/<pid>/task/<tid>/status after placement. */
  allowed: z.string(),
});

/** CPU time of processes outside the run while a path was measured (from its placement to its teardown). */
const otherLoadSchema = z.object({
  seconds: z.number(),
  /** Mean number of CPUs kept busy by processes that are not the run's, over those seconds. */
  busyCpus: z.number(),
  /** The busiest of them: command name and CPU seconds. */
  top: z.array(z.object({ pid: z.number().int(), comm: z.string(), cpuSec: z.number() })),
  status: z.enum(['ok', 'not-ready', 'unknown']),
  detail: z.string(),
});

/** A path's CPU placement: the policy, the plan (auto), and what each thread got. */
const placementSchema = z.object({
  policy: z.enum(['auto', 'none']),
  /** CPUs the run could use (its own affinity when the run started). */
  cpus: z.string(),
  housekeeping: z.number().int().optional(),
  /** What auto placed where, in words; a unit may hold several threads. */
  units: z.array(z.object({ id: z.string(), kind: z.string(), what: z.string(), cpu: z.number().int(), alone: z.boolean() })).optional(),
  /** Cores that hold more than one unit, and what shares them. */
  shared: z.array(z.object({ cpu: z.number().int(), units: z.array(z.string()) })).optional(),
  threads: z.array(placedThreadSchema),
  /** What could not be pinned, and why. */
  notes: z.array(z.string()).default([]),
  /**
   * Other paths whose guests were up, placed as if each were alone (so on the same cores), while
   * this placement was in force (rounds keep every path up); they carried no traffic meanwhile.
   */
  alongside: z.array(z.string()).optional(),
  otherLoad: otherLoadSchema.optional(),
});
export type PlacementRecord = z.infer<typeof placementSchema>;
export type OtherLoad = z.infer<typeof otherLoadSchema>;

/** What one guest's NIC negotiated, read in the guest once its interface was up. */
const negotiatedSchema = z.object({
  /** /sys/class/net/<if>/device/features: one '0'/'1' per virtio feature bit, bit 0 first (virtio NICs). */
  virtioBits: z.string().optional(),
  /** The driver ethtool names (NICs that are not virtio). */
  driver: z.string().optional(),
  /** Every offload `ethtool -k` lists, on or off (absent when ethtool failed). */
  offloads: z.record(z.string(), z.boolean()).optional(),
  /** The interface's MTU in the guest. */
  mtu: z.number().int().positive().optional(),
});
export type NegotiatedRecord = z.infer<typeof negotiatedSchema>;

/** A device property a variant set that the guest's NIC did not end up with. */
const refusedSchema = z.object({
  guest: z.string(),
  property: z.string(),
  /** The virtio feature bit the property switches (its spec name). */
  feature: z.string(),
  /** Whether the variant asked for the feature (property on) and whether it was negotiated. */
  asked: z.boolean(),
  negotiated: z.boolean(),
});
export type RefusedProperty = z.infer<typeof refusedSchema>;

/** A variant of a path (profile `variants`): what it changes, and what of it the guests did not get. */
const variantRecordSchema = z.object({
  /** The path it varies. */
  of: z.string(),
  name: z.string(),
  description: z.string().optional(),
  /** Properties appended to the NIC's -device, as checked against the host's QEMU. */
  device: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  mtu: z.number().int().optional(),
  queues: z.number().int().optional(),
  /** Properties the back-end or the guest's driver did not follow (each also a note and a report warning). */
  refused: z.array(refusedSchema).optional(),
});
export type VariantRecord = z.infer<typeof variantRecordSchema>;

const backendSchema = z.object({
  id: z.string(),
  title: z.string(),
  status: z.enum(pathStatuses),
  /** For skipped, failed, partial and blocked: why, in words a user can act on. */
  reason: z.string().optional(),
  /** The exact command that would make a skipped backend runnable, when there is one. */
  fix: z.string().optional(),
  /** Runs written before presentation was recorded lack it; the reader takes it from the path's descriptor. */
  presentation: presentationSchema.optional(),
  /** Facts about how this path was set up (workarounds applied, modes chosen). */
  notes: z.array(z.string()).default([]),
  /** Virtio features each guest negotiated, keyed by guest name, when the guest exposes them. */
  features: z.record(z.string(), z.array(z.string())).optional(),
  /** Each guest's NIC as negotiated: virtio feature bits and ethtool offloads, keyed by guest name. */
  negotiated: z.record(z.string(), negotiatedSchema).optional(),
  /** Present when this series is a variant of a path (its id is `<path>~<name>`). */
  variant: variantRecordSchema.optional(),
  /** NIC queue pairs: asked for (profile guest.queues), and running in each guest (sysfs tx queues). */
  queues: z.object({ requested: z.number().int().positive(), guests: z.record(z.string(), z.number().int().nonnegative()) }).optional(),
  /** Every scenario of the plan on this path, with its status (runs before the tree was recorded lack it). */
  scenarios: z.array(scenarioSchema).optional(),
  reps: z.array(repSchema).default([]),
  /** Length of the idle baseline window measured before the repetitions, in seconds. */
  idleWindowSec: z.number().optional(),
  /** Every collector considered for this backend, available or with the reason it was not. */
  collectors: z.array(collectorSchema).optional(),
  /** Serial logs and other files of this backend, relative to the run folder. */
  files: z.array(z.string()).default([]),
  /** CPU placement of the path's threads (runs before placement was recorded lack it). */
  placement: placementSchema.optional(),
});
export type BackendOutcome = z.infer<typeof backendSchema>;

/**
 * Phases of the run with their wall times. Runs written since the run loop measured in rounds
 * record leaf phases only (they do not overlap, except the teardowns of paths that run together),
 * each with its start: `window` is a measured traffic window (collectors running), `warmup` a warm-up
 * repetition, `collectors-start`/`collectors-stop` the collectors' start and stop around a window
 * (the stop includes the tool's output coming back from the guest), `scenario-prepare` starting
 * servers and applying a scenario's settings, `pause` quieting or waking a busy-polling helper.
 * Older runs have one `measure` phase per path around all of its repetitions.
 */
const phaseSchema = z.object({
  phase: z.enum([
    'preflight', 'image', 'accel-probe', 'setup', 'boot', 'network', 'collectors-prepare', 'idle-baseline', 'measure',
    'scenario-prepare', 'warmup', 'collectors-start', 'window', 'collectors-stop', 'pause', 'teardown', 'report',
  ]),
  backend: z.string().optional(),
  ms: z.number(),
  /** When it started (runs before the round order was recorded lack it). */
  startedAt: z.string().optional(),
});
export type PhaseTiming = z.infer<typeof phaseSchema>;

/** One repetition as it was run, in the order the run ran them. */
const stepSchema = z.object({
  /** The round it belonged to (its measured repetition index in `rounds`; absent in `blocks`). */
  round: z.number().int().nonnegative().optional(),
  backend: z.string(),
  scenario: z.string(),
  rep: z.number().int().nonnegative(),
  warmup: z.boolean(),
  startedAt: z.string(),
  endedAt: z.string(),
  status: z.enum(repStatuses),
});
export type StepRecord = z.infer<typeof stepSchema>;

/** How the repetitions were ordered, and the order they actually ran in. */
const scheduleSchema = z.object({
  /** What the profile asked for. */
  requested: z.enum(['rounds', 'blocks']),
  /** What ran: rounds fall back to blocks when the host cannot keep every path's guests up. */
  mode: z.enum(['rounds', 'blocks']),
  /** Why the mode differs from the request, or how the choice was made, in words. */
  reason: z.string().optional(),
  /**
   * When not every path fits in memory at once: each path with its variants, one group after the
   * other, in rounds among themselves when the group fits, else in blocks.
   */
  groups: z.array(z.object({ paths: z.array(z.string()), mode: z.enum(['rounds', 'blocks']) })).optional(),
  steps: z.array(stepSchema).default([]),
});
export type ScheduleRecord = z.infer<typeof scheduleSchema>;

/** Whether a path's repetitions ran in rounds beside the other paths of its group (or of the run). */
export function ranInRounds(s: Pick<ScheduleRecord, 'mode' | 'groups'> | undefined, backend: string): boolean {
  if (s?.mode !== 'rounds') return false;
  return !s.groups || s.groups.some((g) => g.mode === 'rounds' && g.paths.includes(backend));
}

/** Where the wall time went, from `phases`: what was inside measured windows and what was not. */
const wallSchema = z.object({
  totalMs: z.number(),
  /** Sum of the `window` phases: measured traffic with the collectors running. */
  measuredMs: z.number(),
  /** 1 − measuredMs / totalMs. */
  outsideFraction: z.number(),
  /** Milliseconds per phase; `other` is wall time no phase accounts for. */
  byPhase: z.record(z.string(), z.number()),
});
export type WallRecord = z.infer<typeof wallSchema>;

/** One item of the host readiness check (docs/placement.md): its state and the command that fixes it. */
const readinessItemSchema = z.object({
  id: z.string(),
  title: z.string(),
  /** `unknown`: the host does not expose it (no cpufreq in a VM, say). */
  status: z.enum(['ok', 'not-ready', 'unknown']),
  detail: z.string(),
  fix: z.string().optional(),
});

/** Whether the host was set up for repeatable numbers, as a benchmark recipe expects of it. */
const readinessSchema = z.object({
  checkedAt: z.string(),
  /** No item is `not-ready`. */
  ready: z.boolean(),
  items: z.array(readinessItemSchema),
});
export type ReadinessRecord = z.infer<typeof readinessSchema>;
export type ReadinessItem = z.infer<typeof readinessItemSchema>;

export const runRecordSchema = z.object({
  schema: z.literal(RUN_SCHEMA),
  run: z.string().min(1),
  status: z.enum(runStatuses),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  /** The command line that started the run. */
  argv: z.array(z.string()).default([]),
  profile: z.object({
    name: z.string(),
    /** Where it was read from. */
    path: z.string(),
    /** sha256 of the profile file's bytes. */
    hash: z.string(),
    /** The resolved, validated plan after CLI overrides. */
    plan: z.unknown(),
  }),
  provenance: provenanceSchema.optional(),
  backends: z.array(backendSchema).default([]),
  phases: z.array(phaseSchema).default([]),
  /** The order of the repetitions: asked for, chosen, and as run. */
  schedule: scheduleSchema.optional(),
  /** Wall time inside and outside measured windows, settled when the run ends. */
  wall: wallSchema.optional(),
  /** Run-wide remarks a reader of the report must see. */
  notes: z.array(z.string()).default([]),
  /**
   * Collector availability over the whole run (one entry per collector id; available when it was
   * available for any backend). Per-backend detail is in `backends[].collectors`.
   */
  collectors: z.array(collectorSchema).optional(),
  /** When the run did not complete: the error that stopped it, in words (its stack is in run.log). */
  error: z.string().optional(),
  /** Host readiness, checked when the first path started (runs before it was recorded lack it). */
  readiness: readinessSchema.optional(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;
