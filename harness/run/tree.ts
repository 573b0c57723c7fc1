// The run as a tree of results: run -> path -> scenario -> repetition, each with a status and, when
// it did not succeed, the reason in words. RunTree is its one owner: every change goes through its
// methods, which settle statuses (a stage that fails marks what it contains as blocked, naming
// why) and hand the record to one sink that saves it. Nothing else writes run.json.

import { describeError, errorDetail, InternalError } from '../errors.ts';
import type { PathPresentation } from '../backends/types.ts';
import {
  RUN_SCHEMA,
  type AccelChoice,
  type BackendOutcome,
  type CollectorRecord,
  type NegotiatedRecord,
  type PhaseTiming,
  type PlacementRecord,
  type Provenance,
  type ReadinessRecord,
  type RefusedProperty,
  type RepOutcome,
  type RunRecord,
  type ScenarioOutcome,
  type ScheduleRecord,
  type StepRecord,
  type VariantRecord,
} from './record.ts';
import { wallTime } from './wall.ts';

/** A read-only view of the record for everyone but its owner. */
export type Frozen<T> = T extends (infer U)[] ? readonly Frozen<U>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

/** Where the tree goes: run.json (replaced whole) and run.log (errors in full, stacks included). */
export interface TreeSink {
  save(record: Frozen<RunRecord>): void;
  log(text: string): void;
}

export interface TreeInit {
  run: string;
  argv: string[];
  profile: RunRecord['profile'];
  paths: readonly { id: string; title: string; presentation: PathPresentation; variant?: VariantRecord }[];
  scenarios: readonly string[];
  repetitions: number;
  warmup: number;
}

export class RunTree {
  readonly #record: RunRecord;
  readonly #plan: { scenarios: readonly string[]; repetitions: number; warmup: number };
  readonly #paths = new Map<string, PathNode>();
  #sink: TreeSink | undefined;

  constructor(init: TreeInit, sink?: TreeSink) {
    this.#plan = { scenarios: init.scenarios, repetitions: init.repetitions, warmup: init.warmup };
    this.#record = {
      schema: RUN_SCHEMA,
      run: init.run,
      status: 'running',
      startedAt: new Date().toISOString(),
      argv: init.argv,
      profile: init.profile,
      backends: init.paths.map((p) => ({
        id: p.id,
        title: p.title,
        status: 'pending',
        presentation: { ...p.presentation },
        ...(p.variant ? { variant: { ...p.variant, device: { ...p.variant.device } } } : {}),
        notes: [],
        scenarios: init.scenarios.map((name) => ({ name, status: 'pending' })),
        reps: [],
        files: [],
      })),
      phases: [],
      notes: [],
    };
    this.#sink = sink;
  }

  get record(): Frozen<RunRecord> {
    return this.#record;
  }

  /** Start saving (the results folder exists from now on) and save at once. */
  attach(sink: TreeSink): void {
    this.#sink = sink;
    this.save();
  }

  /** The one place the record is written. */
  save(): void {
    this.#sink?.save(this.#record);
  }

  /** Describe an error for the record and put its full detail (stack, causes) in the log. */
  describe(err: unknown, context: string): string {
    this.#sink?.log(`${new Date().toISOString()} ${context}:\n${errorDetail(err)}\n`);
    return describeError(err);
  }

  path(id: string): PathNode {
    let node = this.#paths.get(id);
    if (!node) {
      const outcome = this.#record.backends.find((b) => b.id === id);
      if (!outcome) throw new InternalError(`path ${id} is not part of run ${this.#record.run}`);
      node = new PathNode(this, outcome, this.#plan);
      this.#paths.set(id, node);
    }
    return node;
  }

  /** The host cannot run this path: skipped with the reason and the fix, all its scenarios too. */
  skip(id: string, reason: string, fix?: string): void {
    this.path(id).skip(reason, fix);
  }

  /** A phase that took `ms`, started at `startedAt` (epoch ms; default: `ms` ago). */
  phase(phase: PhaseTiming['phase'], backend: string | undefined, ms: number, startedAt = Date.now() - ms): void {
    this.#record.phases.push({ phase, ...(backend ? { backend } : {}), ms: Math.round(ms), startedAt: new Date(startedAt).toISOString() });
    this.save();
  }

  /** Time a phase into run.json, whether it succeeds or not. */
  async timed<T>(phase: PhaseTiming['phase'], backend: string | undefined, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      this.phase(phase, backend, Date.now() - started, started);
    }
  }

  /** The order chosen for the run's repetitions (before the first one runs). */
  schedule(s: Omit<ScheduleRecord, 'steps'>): void {
    this.#record.schedule = { ...s, steps: [] };
    this.save();
  }

  /** A repetition that ran (or failed), in the order it ran. */
  step(step: StepRecord): void {
    (this.#record.schedule ??= { requested: step.round === undefined ? 'blocks' : 'rounds', mode: step.round === undefined ? 'blocks' : 'rounds', steps: [] }).steps.push(step);
    this.save();
  }

  provenance(p: Provenance): void {
    this.#record.provenance = p;
    this.save();
  }

  get accel(): AccelChoice | undefined {
    return this.#record.provenance?.accel;
  }

  note(text: string): void {
    this.#record.notes.push(text);
    this.save();
  }

  /** Host readiness, as checked once per run. */
  readiness(r: ReadinessRecord): void {
    this.#record.readiness = r;
    this.save();
  }

  /** Keep one run-wide entry per collector: available if it was available for any path. */
  mergeCollectors(records: readonly CollectorRecord[]): void {
    const all = (this.#record.collectors ??= []);
    for (const r of records) {
      const i = all.findIndex((c) => c.id === r.id);
      if (i < 0) all.push({ ...r });
      else if (!all[i]!.available && r.available) all[i] = { ...r };
    }
    this.save();
  }

  /**
   * End the run: paths that never started are blocked by what stopped the run, a path caught in the
   * middle is settled from what it measured, and the run gets its status and end time.
   */
  finish(end: { interrupted?: unknown; error?: unknown } = {}): Frozen<RunRecord> {
    const stop = end.interrupted ?? end.error;
    const why = stop === undefined ? undefined : this.describe(stop, end.interrupted !== undefined ? 'run interrupted' : 'run failed');
    for (const b of this.#record.backends) {
      if (b.status === 'pending') this.path(b.id).block(why ? `not run: the run stopped first (${firstLine(why)})` : 'not run');
      else if (b.status === 'running') this.path(b.id).stop(why ?? 'the run ended before this path finished');
    }
    if (end.interrupted !== undefined) this.#record.status = 'interrupted';
    else if (end.error !== undefined) this.#record.status = 'failed';
    else this.#record.status = overallStatus(this.#record);
    if (why) this.#record.error = why;
    this.#record.endedAt = new Date().toISOString();
    this.#record.wall = wallTime(this.#record);
    this.save();
    return this.#record;
  }
}

export class PathNode {
  readonly tree: RunTree;
  readonly #outcome: BackendOutcome;
  readonly #plan: { scenarios: readonly string[]; repetitions: number; warmup: number };
  readonly #scenarios = new Map<string, ScenarioNode>();

  constructor(tree: RunTree, outcome: BackendOutcome, plan: { scenarios: readonly string[]; repetitions: number; warmup: number }) {
    this.tree = tree;
    this.#outcome = outcome;
    this.#plan = plan;
  }

  get id(): string {
    return this.#outcome.id;
  }

  get record(): Frozen<BackendOutcome> {
    return this.#outcome;
  }

  start(): void {
    this.#outcome.status = 'running';
    this.tree.save();
  }

  notes(texts: readonly string[]): void {
    this.#outcome.notes.push(...texts);
    this.tree.save();
  }

  files(paths: readonly string[]): void {
    this.#outcome.files.push(...paths);
    this.tree.save();
  }

  features(f: Record<string, string[]>): void {
    this.#outcome.features = f;
    this.tree.save();
  }

  /** Each guest's NIC as negotiated (virtio feature bits, offloads). */
  negotiated(n: Record<string, NegotiatedRecord>): void {
    this.#outcome.negotiated = n;
    this.tree.save();
  }

  /** Device properties of this variant that the guests did not get: recorded, and each one a note. */
  refused(list: readonly RefusedProperty[]): void {
    if (!this.#outcome.variant || list.length === 0) return;
    this.#outcome.variant.refused = [...list];
    this.notes(list.map(refusedNote));
  }

  /** NIC queue pairs asked for, and running in each guest. */
  queues(q: { requested: number; guests: Record<string, number> }): void {
    this.#outcome.queues = q;
    this.tree.save();
  }

  /** The path's CPU placement (replaced whole: the other-load figure is added at teardown). */
  placement(p: PlacementRecord): void {
    this.#outcome.placement = p;
    this.tree.save();
  }

  idleWindow(sec: number): void {
    this.#outcome.idleWindowSec = sec;
    this.tree.save();
  }

  collectors(records: readonly CollectorRecord[]): void {
    this.#outcome.collectors = [...records];
    this.tree.mergeCollectors(records);
  }

  scenario(name: string): ScenarioNode {
    let node = this.#scenarios.get(name);
    if (!node) {
      const outcome = this.#outcome.scenarios?.find((s) => s.name === name);
      if (!outcome) throw new InternalError(`scenario ${name} is not planned for ${this.id}`);
      node = new ScenarioNode(this, outcome, this.#outcome.reps, this.#plan);
      this.#scenarios.set(name, node);
    }
    return node;
  }

  /** The host cannot run it: skipped with the reason and the fix, and so are its scenarios. */
  skip(reason: string, fix?: string): void {
    this.#outcome.status = 'skipped';
    this.#outcome.reason = reason;
    if (fix) this.#outcome.fix = fix;
    for (const s of this.#outcome.scenarios ?? []) Object.assign(s, { status: 'skipped', reason: 'the path was skipped' });
    this.tree.save();
  }

  /** Never started: the path and everything in it are blocked for `reason`. */
  block(reason: string): void {
    this.#outcome.status = 'blocked';
    this.#outcome.reason = reason;
    for (const s of this.#outcome.scenarios ?? []) this.scenario(s.name).block(reason);
    this.tree.save();
  }

  /**
   * A stage of the path failed (`why`, already in words): scenarios not finished are settled or
   * blocked by it, then the path is settled with that reason.
   */
  stop(why: string): void {
    for (const s of this.#outcome.scenarios ?? []) {
      const node = this.scenario(s.name);
      if (s.status === 'running') node.cut(`not run: ${firstLine(why)}`);
      else if (s.status === 'pending') node.block(`not run: ${firstLine(why)}`);
    }
    this.settle(why);
  }

  /** The path's status from its repetitions: ok when every planned measured repetition succeeded. */
  settle(fatal?: string): void {
    const planned = (this.#outcome.scenarios ?? []).filter((s) => s.status !== 'skipped').length * this.#plan.repetitions;
    const measured = this.#outcome.reps.filter((r) => !r.warmup);
    const ok = measured.filter((r) => r.status === 'ok').length;
    const blocked = measured.filter((r) => r.status === 'blocked').length;
    this.#outcome.status = ok === 0 ? 'failed' : ok < planned || fatal ? 'partial' : 'ok';
    if (fatal) this.#outcome.reason = fatal;
    else if (ok < planned) this.#outcome.reason = `${planned - ok} of ${planned} measured repetitions ${blocked ? `did not succeed (${blocked} blocked)` : 'failed'}`;
    this.tree.save();
  }
}

export class ScenarioNode {
  readonly path: PathNode;
  readonly #outcome: ScenarioOutcome;
  /** The path's repetitions (every scenario's; each names its scenario). */
  readonly #reps: RepOutcome[];
  readonly #plan: { repetitions: number; warmup: number };

  constructor(path: PathNode, outcome: ScenarioOutcome, reps: RepOutcome[], plan: { repetitions: number; warmup: number }) {
    this.path = path;
    this.#outcome = outcome;
    this.#reps = reps;
    this.#plan = plan;
  }

  get record(): Frozen<ScenarioOutcome> {
    return this.#outcome;
  }

  get name(): string {
    return this.#outcome.name;
  }

  start(): void {
    this.#outcome.status = 'running';
    this.path.tree.save();
  }

  /** A note about how the scenario ran on this path, kept with the path's notes. */
  notes(texts: readonly string[]): void {
    this.path.notes(texts.map((t) => `${this.name}: ${t}`));
  }

  /** Not applicable to this path (e.g. a topology it has no end for); does not count against it. */
  skip(reason: string): void {
    this.#outcome.status = 'skipped';
    this.#outcome.reason = reason;
    this.path.notes([`scenario ${this.name} not run: ${reason}`]);
  }

  rep(outcome: RepOutcome): void {
    this.#reps.push(outcome);
    this.path.tree.save();
  }

  /** Could not even start (its preparation failed): failed, every repetition blocked by that. */
  fail(reason: string): void {
    this.#blockRemaining(reason);
    this.#outcome.status = 'failed';
    this.#outcome.reason = reason;
    this.path.tree.save();
  }

  /** Never started because something around it failed. */
  block(reason: string): void {
    this.#blockRemaining(reason);
    this.#outcome.status = 'blocked';
    this.#outcome.reason = reason;
    this.path.tree.save();
  }

  /** Stopped in the middle: what is left is blocked, and the scenario is settled from what ran. */
  cut(reason: string): void {
    this.#blockRemaining(reason);
    this.finish(reason);
  }

  /** The scenario's status from its measured repetitions. */
  finish(reason?: string): void {
    const measured = this.#reps.filter((r) => r.scenario === this.name && !r.warmup);
    const ok = measured.filter((r) => r.status === 'ok').length;
    this.#outcome.status = ok === 0 ? 'failed' : ok < this.#plan.repetitions ? 'partial' : 'ok';
    const failed = measured.find((r) => r.status !== 'ok');
    if (this.#outcome.status !== 'ok') this.#outcome.reason = reason ?? (failed?.reason ? `${measured.length - ok} of ${measured.length} failed; first: ${firstLine(failed.reason)}` : undefined);
    else delete this.#outcome.reason;
    this.path.tree.save();
  }

  #blockRemaining(reason: string): void {
    const reps = this.#reps;
    for (const warmup of [true, false]) {
      const count = warmup ? this.#plan.warmup : this.#plan.repetitions;
      for (let rep = 0; rep < count; rep++) {
        if (reps.some((r) => r.scenario === this.name && r.warmup === warmup && r.rep === rep)) continue;
        reps.push({ scenario: this.name, rep, warmup, status: 'blocked', reason });
      }
    }
  }
}

/** A refused property in words, e.g. `event_idx=off was not followed in guest a: VIRTIO_RING_F_EVENT_IDX was negotiated`. */
export function refusedNote(r: RefusedProperty): string {
  return `${r.property}=${r.asked ? 'on' : 'off'} was not followed in guest ${r.guest}: ${r.feature} was ${r.negotiated ? '' : 'not '}negotiated`;
}

function overallStatus(record: RunRecord): RunRecord['status'] {
  const ran = record.backends.filter((b) => b.status !== 'skipped');
  if (ran.length === 0 || ran.every((b) => b.status === 'failed' || b.status === 'blocked')) return 'failed';
  if (ran.every((b) => b.status === 'ok') && record.notes.length === 0) return 'complete';
  return 'partial';
}

function firstLine(text: string): string {
  return text.split('\n')[0]!;
}
