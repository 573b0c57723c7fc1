// The `flame` collector: where the path's host threads spend their CPU, as a flame graph. During the
// first measured window of a path only, `perf record -g` samples the call stacks of every thread that
// works for the path (each QEMU's vCPU and I/O threads, its vhost workers, the path's helpers:
// testpmd, iopath's switch, whose JavaScript frames are named through V8's /tmp/perf-<pid>.map).
// After the window `perf script` is folded (parse/perf-script.ts) and drawn (report/flame-svg.ts);
// the run folder keeps the folded stacks and the SVG, the report links them.
//
// Off unless a profile asks for it (`flame: true`): sampling stacks costs CPU (perf's own, and the
// kernel's stack walks in the sampled threads), on a small host CPU the guests would have used. So
// the collector reports its window as an intrusion, and that repetition is left out of statistics:
// marking it only would still let a slower repetition pull every mean and interval of the path, and
// the run keeps its other repetitions, measured as always. One window per path bounds the cost.
//
// The event is the software clock `cpu-clock`, never hardware `cycles`: a sample then stands for a
// fixed slice of CPU time on every host, and hosts without hardware counters (docs/host-notes.md:
// the development VMs) record the same way as bare metal.

import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, TimeoutError } from '../errors.ts';
import { vhostWorkersOf } from '../host/affinity.ts';
import { runCommand, runStreaming } from '../host/proc.ts';
import { Scope } from '../host/scope.ts';
import { renderFlameSvg } from '../report/flame-svg.ts';
import type { Sample } from '../samples.ts';
import { requireAvailable, unavailable, unavailableFrom } from './availability.ts';
import { clockTicksPerSecond, PERF_FIX } from './host-probe.ts';
import { foldStacks, formatFolded, parsePerfScript, recordedSampleCount, type StackSample } from './parse/perf-script.ts';
import { parseProcStat } from './parse/proc-stat.ts';
import { PerfControlSession } from './perf-session.ts';
import { windowTag, type Availability, type Collector, type HostProcess, type Intrusion, type Window } from './types.ts';

/** Samples per second and thread: a prime below perf's default 4000, so the cost stays small and sampling does not beat with periodic work. */
export const FLAME_FREQUENCY_HZ = 499;
export const FLAME_EVENT = 'cpu-clock';
/** The fields `perf script` prints: `pid/tid` in the header attributes each sample to its process. */
export const PERF_SCRIPT_FIELDS = 'comm,pid,tid,time,period,event,ip,sym,symoff,dso';

export interface FlameCollectorOptions {
  /** The path's host processes, as host-cpu accounts them (QEMU with its vhost workers, the helpers). */
  processes: readonly HostProcess[];
  /** Folder for perf's data, log, the folded stacks and the SVG. */
  dir: string;
  /** Private folder for perf's control FIFOs (default: dir). */
  fifoDir?: string;
  scope?: Scope;
  perf?: string;
  frequencyHz?: number;
  /** Where procfs is (default /proc). */
  procRoot?: string;
  /** Keep perf.data after folding (default: removed; the folded stacks hold what the graph shows). */
  keepData?: boolean;
  /** How long perf script may take. */
  scriptTimeoutMs?: number;
}

/** The threads perf follows: whole processes (`-p`, new threads included), or listed threads (`-t`) when a process is counted by some of its threads only. */
export type PerfTargets = { pids: number[] } | { tids: number[] };

/**
 * perf record argv: started disabled, driven over the control FIFOs, stacks by frame pointers. No
 * build-id cache: perf would otherwise copy every sampled binary under ~/.debug, where it stays
 * after the run; perf script reads the binaries where they are.
 */
export function perfRecordArgv(perf: string, frequencyHz: number, targets: PerfTargets, ctl: string, ack: string, out: string): string[] {
  const argv = [perf, 'record', '-e', FLAME_EVENT, '-F', String(frequencyHz), '-g', '--no-buildid-cache', '-D', '-1', '--control', `fifo:${ctl},${ack}`, '-o', out];
  if ('pids' in targets) argv.push('-p', targets.pids.join(','));
  else argv.push('-t', targets.tids.join(','));
  return argv;
}

export class FlameCollector implements Collector {
  readonly id = 'flame';
  readonly source = 'perf record';
  #o: FlameCollectorOptions;
  #perf: string;
  #proc: string;
  #hz: number;
  /** USER_HZ, the unit of /proc CPU times (set by the probe). */
  #ticks = 100;
  #scope: Scope;
  #availability: Promise<Availability> | undefined;
  /** Set once the one window was chosen: no later window is sampled, whatever happened in it. */
  #chosen = false;
  #session: { window: Window; perf: PerfControlSession; data: string; tag: string; roles: Map<number, string>; enabledAt: number } | undefined;
  #intrusion: { window: Window; intrusion: Intrusion } | undefined;

  constructor(options: FlameCollectorOptions) {
    this.#o = options;
    this.#perf = options.perf ?? 'perf';
    this.#proc = options.procRoot ?? '/proc';
    this.#hz = options.frequencyHz ?? FLAME_FREQUENCY_HZ;
    this.#scope = options.scope ? options.scope.child(this.id) : new Scope(this.id);
  }

  notes(): string[] {
    return [
      `call stacks sampled with perf record -e ${FLAME_EVENT} -F ${this.#hz} -g (frame pointers) in the first measured repetition of the path only; that repetition is left out of every statistic, since sampling takes CPU from the guests`,
    ];
  }

  availability(): Promise<Availability> {
    this.#availability ??= this.#probe();
    return this.#availability;
  }

  async #probe(): Promise<Availability> {
    const first = this.#o.processes[0];
    if (!first) return unavailable('no host processes to sample');
    mkdirSync(this.#o.dir, { recursive: true });
    // A short real recording of one process proves perf is there and may sample it (root, or a
    // perf_event_paranoid that allows it).
    const probe = join(this.#o.dir, 'probe.perf.data');
    try {
      await runCommand([this.#perf, 'record', '-q', '-e', FLAME_EVENT, '-F', '99', '-g', '--no-buildid-cache', '-o', probe, '-p', String(first.pid), '--', 'sleep', '0.05'], { timeoutMs: 15_000, fix: PERF_FIX });
      this.#hz = Math.min(this.#hz, maxSampleRate(this.#proc) ?? this.#hz);
      this.#ticks = await clockTicksPerSecond();
    } catch (err) {
      return unavailableFrom(err, 'run iopath as root, or: sysctl kernel.perf_event_paranoid=-1');
    } finally {
      rmSync(probe, { force: true });
    }
    return { available: true };
  }

  async start(window: Window): Promise<void> {
    await requireAvailable(this.id, this.availability());
    if (this.#chosen || window.kind !== 'measure' || window.warmup) return;
    this.#chosen = true;
    const tag = windowTag(window);
    const data = join(this.#o.dir, `${tag}.perf.data`);
    const { targets, roles } = this.#targets();
    const perf = await PerfControlSession.start({
      argv: (ctl, ack) => perfRecordArgv(this.#perf, this.#hz, targets, ctl, ack, data),
      dir: this.#o.dir,
      ...(this.#o.fifoDir === undefined ? {} : { fifoDir: this.#o.fifoDir }),
      label: `flame-${tag}`,
      scope: this.#scope,
      outputs: [data],
    });
    this.#session = { window, perf, data, tag, roles, enabledAt: Date.now() };
  }

  async stop(window: Window): Promise<Sample[]> {
    const s = this.#session;
    if (!s) return [];
    this.#session = undefined;
    // perf's own CPU time, read before it stops: what recording cost during the window (its start-up
    // included, its writing of perf.data after the window not), over how long it sampled.
    const cpuSec = this.#cpuSeconds(s.perf.pid);
    const sampledSec = (Date.now() - s.enabledAt) / 1000;
    await s.perf.finish();
    const recorded = recordedSampleCount(s.perf.log());
    const svg = join(this.#o.dir, `${s.tag}.svg`);
    const foldedFile = join(this.#o.dir, `${s.tag}.folded`);
    const perfCost = cpuSec === undefined ? '' : `perf itself used ${cpuSec.toFixed(2)} CPU s in ${sampledSec.toFixed(1)} s (${((100 * cpuSec) / sampledSec).toFixed(1)} % of one core)`;
    const cost = (n: number | undefined) => `call stacks sampled by perf record at ${this.#hz} Hz (${FLAME_EVENT}) during this repetition${n === undefined ? '' : `: ${n} samples`}${perfCost ? `, ${perfCost}` : ''}`;
    // Marked before perf script runs: had it failed, the window was still sampled.
    const intrusion: Intrusion = { collector: this.id, what: cost(recorded), files: [], sampledSec, ...(recorded === undefined ? {} : { samples: recorded }), ...(cpuSec === undefined ? {} : { cpuSec }) };
    this.#intrusion = { window, intrusion };
    const folded = await foldPerfScript([this.#perf, 'script', '-i', s.data, '-F', PERF_SCRIPT_FIELDS], (x) => [s.roles.get(x.pid ?? x.tid) ?? 'other'], this.#o.scriptTimeoutMs ?? 300_000);
    const total = [...folded.values()].reduce((a, n) => a + n, 0);
    writeFileSync(foldedFile, formatFolded(folded));
    writeFileSync(
      svg,
      renderFlameSvg(folded, {
        // The subtitle shares its line with the viewer's buttons: what does not fit beside them goes in the title.
        title: `${window.backend}: host threads during ${window.scenario} repetition ${window.rep} (left out of the statistics)`,
        subtitle: `perf record -e ${FLAME_EVENT} -F ${this.#hz} -g, ${total} samples${perfCost ? `; ${perfCost}` : ''}`,
      }),
    );
    if (!this.#o.keepData) rmSync(s.data, { force: true });
    intrusion.files = [svg, foldedFile];
    intrusion.samples = total;
    intrusion.what = cost(total);
    return [];
  }

  intrusion(window: Window): Intrusion | undefined {
    const i = this.#intrusion;
    if (!i || windowTag(i.window) !== windowTag(window)) return undefined;
    this.#intrusion = undefined;
    return i.intrusion;
  }

  async close(): Promise<void> {
    this.#session = undefined;
    await this.#scope.close();
  }

  /** Whom perf follows, and the role each followed pid is drawn under (QEMU's vhost kernel threads under their QEMU's). */
  #targets(): { targets: PerfTargets; roles: Map<number, string> } {
    const roles = new Map<number, string>();
    const pids: number[] = [];
    for (const p of this.#o.processes) {
      roles.set(p.pid, p.role);
      pids.push(p.pid);
      if (p.qemu) {
        // Kernel vhost threads of their own (before 6.4); later kernels make them QEMU's threads, which perf already follows.
        for (const worker of vhostWorkersOf(p.pid, this.#proc).filter((t) => t.pid !== p.pid).map((t) => t.pid)) {
          roles.set(worker, p.role);
          pids.push(worker);
        }
      }
    }
    if (this.#o.processes.every((p) => p.tids === undefined)) return { targets: { pids }, roles };
    const tids = this.#o.processes.flatMap((p) => p.tids ?? tasksOf(this.#proc, p.pid));
    for (const pid of pids) if (!this.#o.processes.some((p) => p.pid === pid)) tids.push(pid);
    return { targets: { tids }, roles };
  }

  /** CPU seconds of every thread of perf so far, or undefined when /proc does not say. */
  #cpuSeconds(pid: number): number | undefined {
    let ticks = 0;
    try {
      for (const tid of readdirSync(join(this.#proc, String(pid), 'task'))) {
        const st = parseProcStat(readFileSync(join(this.#proc, String(pid), 'task', tid, 'stat'), 'utf8'));
        ticks += st.utimeTicks + st.stimeTicks;
      }
    } catch {
      return undefined;
    }
    return ticks / this.#ticks;
  }
}

/** The kernel's cap on sampling rates (it lowers it itself when sampling takes too long). */
function maxSampleRate(proc: string): number | undefined {
  try {
    const n = Number(readFileSync(join(proc, 'sys', 'kernel', 'perf_event_max_sample_rate'), 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function tasksOf(proc: string, pid: number): number[] {
  try {
    return readdirSync(join(proc, String(pid), 'task')).map(Number);
  } catch {
    return [];
  }
}

/**
 * Run perf script and fold its output record by record as it streams: a long window at many
 * threads prints more than is worth holding as one string.
 */
export async function foldPerfScript(argv: readonly string[], roots: (s: StackSample) => readonly string[], timeoutMs: number): Promise<Map<string, number>> {
  const folded = new Map<string, number>();
  let record: string[] = [];
  const flush = () => {
    if (record.length === 0) return;
    for (const [stack, n] of foldStacks(parsePerfScript(record.join('\n')).samples, { roots })) folded.set(stack, (folded.get(stack) ?? 0) + n);
    record = [];
  };
  const signal = AbortSignal.timeout(timeoutMs);
  let result: Awaited<ReturnType<typeof runStreaming>>;
  try {
    result = await runStreaming(argv, {
      env: { LC_ALL: 'C' },
      signal,
      onLine: (stream, line) => {
        if (stream !== 'stdout') return;
        if (line.trim() === '') flush();
        else record.push(line);
      },
    });
  } catch (err) {
    if (signal.aborted) throw new TimeoutError(argv.join(' '), timeoutMs, err);
    throw err;
  }
  flush();
  if (result.status !== 0) throw new CommandError(argv, result.status < 0 ? null : result.status, result.signal, result.stderr);
  return folded;
}
