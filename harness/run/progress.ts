// Progress on the console, kept apart from the run itself: the runner calls optional lifecycle hooks
// and a reporter decides what to print. On a TTY a status line shows backend, repetition and an
// ETA; otherwise every event is one plain line (CI logs).

import type { RunPlan } from '../config/plan.ts';
import { splitSeriesId } from '../config/variants.ts';
import { metricInfo } from '../metrics.ts';
import type { SampleRecord } from '../samples.ts';
import type { BackendOutcome, RepOutcome, RunRecord } from './record.ts';
import type { Frozen } from './tree.ts';
import { describeWall } from './wall.ts';

export interface RepStart {
  backend: string;
  scenario: string;
  rep: number;
  warmup: boolean;
  budgetMs: number;
}

/** Lifecycle hooks of a run; every one is optional. */
export interface Reporter {
  runStarted?(info: { run: string; dir: string; plan: Readonly<RunPlan> }): void;
  phase?(text: string): void;
  warn?(text: string): void;
  backendSkipped?(b: Frozen<BackendOutcome>): void;
  backendStarted?(b: Frozen<BackendOutcome>): void;
  repStarted?(r: RepStart): void;
  samples?(records: readonly SampleRecord[]): void;
  repFinished?(r: { backend: string; outcome: Frozen<RepOutcome> }): void;
  backendFinished?(b: Frozen<BackendOutcome>): void;
  runFinished?(record: Frozen<RunRecord>, dir: string): void;
}

export function formatValue(value: number, unit: string): string {
  if (unit === 'bit/s') return `${(value / 1e9).toFixed(value >= 1e10 ? 1 : 2)} Gbit/s`;
  if (unit === 'pkt/s') return `${(value / 1e6).toFixed(3)} Mpps`;
  if (unit === 'us') return `${value.toFixed(1)} us`;
  if (unit === '%') return `${value.toFixed(2)} %`;
  return `${Number.isInteger(value) ? value : value.toPrecision(4)} ${unit}`;
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Console reporter: plain lines always; a live status line with ETA when stderr is a TTY. */
export class ConsoleReporter implements Reporter {
  #out: NodeJS.WriteStream;
  #tty: boolean;
  #plan: Readonly<RunPlan> | undefined;
  #repsDone = 0;
  #repsTotal = 0;
  #repMsTotal = 0;
  #current: RepStart | undefined;
  #repStartedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #statusShown = false;
  /** The last path skipped, with the variants skipped after it for the same reason. */
  #skippedLike: { path: string; reason?: string; fix?: string; variants: string[] } | undefined;
  #lastHeadline = new Map<string, string>();

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = Boolean(out.isTTY) && process.env.CI === undefined;
  }

  runStarted(info: { run: string; dir: string; plan: Readonly<RunPlan> }): void {
    this.#plan = info.plan;
    const p = info.plan;
    this.#repsTotal = p.backends.length * p.scenarios.length * (p.warmup + p.repetitions);
    this.#line(`iopath run ${info.run}: profile ${p.profile.name}, backends ${p.backends.join(', ')}, ${p.repetitions} repetitions (+${p.warmup} warm-up) of ${p.scenarios.map((s) => s.name).join(', ')}`);
    this.#line(`  results: ${info.dir}`);
  }

  phase(text: string): void {
    this.#line(`  ${text}`);
  }

  warn(text: string): void {
    this.#line(`  warning: ${text}`);
  }

  backendSkipped(b: Frozen<BackendOutcome>): void {
    const p = this.#plan;
    if (p) this.#repsTotal -= p.scenarios.length * (p.warmup + p.repetitions);
    const { path, variant } = splitSeriesId(b.id);
    const like = this.#skippedLike;
    if (variant && like && like.path === path && like.reason === b.reason && like.fix === b.fix) {
      like.variants.push(variant);
      return;
    }
    this.#line(`- ${b.id}: skipped: ${b.reason}${b.fix ? `\n    fix: ${b.fix}` : ''}`);
    if (!variant) this.#skippedLike = { path: b.id, ...(b.reason ? { reason: b.reason } : {}), ...(b.fix ? { fix: b.fix } : {}), variants: [] };
  }

  backendStarted(b: Frozen<BackendOutcome>): void {
    this.#line(`- ${b.id} (${b.title})`);
  }

  repStarted(r: RepStart): void {
    this.#current = r;
    this.#repStartedAt = Date.now();
    if (this.#tty) {
      this.#timer ??= setInterval(() => this.#drawStatus(), 1000);
      this.#timer.unref();
      this.#drawStatus();
    }
  }

  samples(records: readonly SampleRecord[]): void {
    const headline = records.find((r) => metricInfo(r.metric).group !== 'volume' && r.metric !== 'throughputSender');
    if (headline) this.#lastHeadline.set(`${headline.backend}/${headline.scenario}`, `${metricInfo(headline.metric).title}: ${formatValue(headline.value, headline.unit)}`);
  }

  repFinished(r: { backend: string; outcome: Frozen<RepOutcome> }): void {
    this.#repsDone++;
    this.#repMsTotal += r.outcome.durationMs ?? 0;
    const o = r.outcome;
    const what = `${o.scenario} ${o.warmup ? 'warm-up' : 'rep'} ${o.rep + 1}/${o.warmup ? this.#plan?.warmup : this.#plan?.repetitions}`;
    const result = o.status === 'ok' ? (this.#lastHeadline.get(`${r.backend}/${o.scenario}`) ?? 'ok') : `FAILED: ${o.reason}`;
    this.#line(`    ${what}: ${result} (${formatDuration(o.durationMs ?? 0)})${this.#eta()}`);
    this.#current = undefined;
  }

  backendFinished(b: Frozen<BackendOutcome>): void {
    this.#line(`  ${b.id}: ${b.status}${b.reason ? ` (${b.reason})` : ''}`);
  }

  runFinished(record: Frozen<RunRecord>, dir: string): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#line(`run ${record.run} ${record.status}${record.error ? `: ${record.error}` : ''}`);
    if (record.schedule) this.#line(`  order: ${record.schedule.mode}${record.schedule.mode !== record.schedule.requested ? ` (${record.schedule.reason})` : ''}`);
    if (record.wall) this.#line(`  ${describeWall(record.wall)}`);
    this.#line(`  results: ${dir}`);
  }

  #eta(): string {
    if (this.#repsDone === 0 || this.#repsTotal <= this.#repsDone) return '';
    const avg = this.#repMsTotal / this.#repsDone;
    return `, about ${formatDuration(avg * (this.#repsTotal - this.#repsDone))} of measuring left`;
  }

  #drawStatus(): void {
    const c = this.#current;
    if (!c) return;
    const elapsed = Date.now() - this.#repStartedAt;
    const text = `  [${this.#repsDone + 1}/${this.#repsTotal}] ${c.backend} ${c.scenario} ${c.warmup ? 'warm-up' : 'rep'} ${c.rep + 1}: ${formatDuration(elapsed)}${this.#eta()}`;
    this.#out.write(`\r\x1b[K${text.slice(0, (this.#out.columns ?? 120) - 1)}`);
    this.#statusShown = true;
  }

  /** The variants skipped like their path, named on one line instead of a paragraph each. */
  #flushSkipped(): void {
    const like = this.#skippedLike;
    this.#skippedLike = undefined;
    if (!like?.variants.length) return;
    const n = like.variants.length;
    this.#line(`- ${like.path}'s ${n === 1 ? 'variant' : `${n} variants`} (${like.variants.join(', ')}): skipped, for the same reason`);
  }

  #line(text: string): void {
    this.#flushSkipped();
    if (this.#statusShown) {
      this.#out.write('\r\x1b[K');
      this.#statusShown = false;
    }
    this.#out.write(text + '\n');
  }
}
