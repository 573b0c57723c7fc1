// Reading the host-speed probe (host/speed-probe.ts) back: how much the host's speed moved during a
// run, and, per path and traffic shape, whether the repetitions' headline figure followed the core's
// speed (the register loop). When it did, the spread of that series is the host's as much as the
// path's, and the reader is told so (with the rank correlation and the probe's range) instead of
// being left to blame the path. The pointer chase is shown but not used for that: in a real sweep it
// read 22 to 200 ns per step within one series, mostly after a window's traffic had evicted its
// chain from the cache and before, when it had not, so it says more about our own cache than the host.

import { metrics, type MetricName } from '../metrics.ts';
import type { RepOutcome } from '../run/record.ts';
import { spearman } from '../stats/rank-correlation.ts';
import type { Warning } from '../stats/warnings.ts';
import { IDLE_SCENARIO } from './idle.ts';
import type { LoadedRun } from './load.ts';

/** A series follows the host when |rho| is at least this over at least MIN_REPS repetitions... */
export const FOLLOWS_RHO = 0.6;
const MIN_REPS = 5;
/** ...and the core loop slowed by at least this factor (max/min) among those repetitions (it stays within a few percent on a steady host). */
export const MOVED_FACTOR = 1.1;

/** The headline figure of a repetition, by the metric its scenario is judged on. */
const HEADLINE: readonly MetricName[] = ['throughput', 'packetRate', 'latencyP50'];

/** One probe figure per repetition: the register loop's mean of the readings before and after its windows. */
export function repProbeNs(rep: RepOutcome): number | undefined {
  const p = rep.hostProbe;
  if (!p) return undefined;
  return p.after ? (p.before.spinNs + p.after.spinNs) / 2 : p.before.spinNs;
}

export interface ProbeRange {
  reps: number;
  memNs: { min: number; median: number; max: number };
  spinNs: { min: number; median: number; max: number };
}

/** The probe's readings over every measured repetition of the run; undefined when it has none. */
export function probeRange(r: LoadedRun): ProbeRange | undefined {
  const readings = r.record.backends.flatMap((b) => b.reps).flatMap((rep) => (rep.hostProbe ? [rep.hostProbe.before, ...(rep.hostProbe.after ? [rep.hostProbe.after] : [])] : []));
  if (!readings.length) return undefined;
  const reps = r.record.backends.flatMap((b) => b.reps).filter((rep) => rep.hostProbe).length;
  return { reps, memNs: spread(readings.map((x) => x.memNs)), spinNs: spread(readings.map((x) => x.spinNs)) };
}

/** One sentence for the report's host section. */
export function probeSentence(p: ProbeRange): string {
  const f = (x: number) => x.toFixed(0);
  const us = (x: number) => (x / 1000).toFixed(2);
  return (
    `Host speed, probed before and after each of ${p.reps} measured repetitions: memory latency ${f(p.memNs.min)}-${f(p.memNs.max)} ns per step (median ${f(p.memNs.median)}), ` +
    `core loop ${us(p.spinNs.min)}-${us(p.spinNs.max)} us per 1,000 iterations (median ${us(p.spinNs.median)}). A wide core-loop range means the host's speed moved during the run; the memory figure also moves with what the windows left in the cache.`
  );
}

/** One warning per path, scenario and headline series whose repetitions followed the host's speed. */
export function hostSpeedWarnings(r: LoadedRun): Warning[] {
  const out: Warning[] = [];
  for (const b of r.record.backends) {
    const probes = new Map<string, number>();
    for (const rep of b.reps) {
      const ns = repProbeNs(rep);
      if (ns !== undefined && rep.status === 'ok' && !rep.warmup) probes.set(`${rep.scenario}\u0000${rep.rep}`, ns);
    }
    if (probes.size < MIN_REPS) continue;
    // Headline samples by scenario, metric and variant (dims), each with its repetition's probe.
    const series = new Map<string, { scenario: string; metric: MetricName; label: string; pairs: [number, number][] }>();
    for (const s of r.samples) {
      if (s.backend !== b.id || s.warmup || s.scenario === IDLE_SCENARIO || !HEADLINE.includes(s.metric)) continue;
      const ns = probes.get(`${s.scenario}\u0000${s.rep}`);
      if (ns === undefined) continue;
      const label = Object.entries(s.dims ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
      const key = [s.scenario, s.metric, label].join('\u0000');
      const entry = series.get(key) ?? { scenario: s.scenario, metric: s.metric, label, pairs: [] };
      entry.pairs.push([ns, s.value]);
      series.set(key, entry);
    }
    for (const e of series.values()) {
      if (e.pairs.length < MIN_REPS) continue;
      const ns = e.pairs.map((p) => p[0]);
      const moved = Math.max(...ns) / Math.min(...ns);
      const rho = spearman(ns, e.pairs.map((p) => p[1]));
      if (rho === undefined || Math.abs(rho) < FOLLOWS_RHO || moved < MOVED_FACTOR) continue;
      const title = metrics[e.metric].title;
      out.push({
        code: 'host-speed',
        severity: 'warning',
        subject: { host: r.host, run: r.record.run, backend: b.id, scenario: e.scenario, metric: e.metric },
        message:
          `${title}${e.label ? ` (${e.label})` : ''} followed the host's speed: rank correlation with the core-speed probe ${rho.toFixed(2)} over ${e.pairs.length} repetitions, ` +
          `while the probe moved by a factor of ${moved.toFixed(2)} (${(Math.min(...ns) / 1000).toFixed(2)}-${(Math.max(...ns) / 1000).toFixed(2)} us per 1,000 iterations); part of this series' spread is the host's, not the path's`,
        advice: 'measure on a host whose cores and caches are not shared with other tenants (bare metal, or dedicated cores), or compare only paths measured in the same rounds; each repetition\'s probe readings are in run.json (hostProbe)',
      });
    }
  }
  return out;
}

function spread(xs: readonly number[]): { min: number; median: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0]!, median: s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, max: s[s.length - 1]! };
}
