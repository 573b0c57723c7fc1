// The flame graphs of a run in the report: which repetition of each path was sampled, where its SVG
// goes in the report folder, and what sampling cost, both as perf's own figures (samples, CPU
// seconds over the seconds it sampled) and as the path's headline figure in that repetition against
// the same figure in its other repetitions, the ones the statistics keep.

import { basename } from 'node:path';
import { median } from 'simple-statistics';
import { metricInfo, type MetricName } from '../metrics.ts';
import { HEADLINE_METRICS } from '../stats/series.ts';
import { formatPercent, formatValue } from './format.ts';
import type { LoadedRun } from './load.ts';
import type { FlameView } from './model.ts';

type LoadedPath = LoadedRun['record']['backends'][number];

/** The flame graphs a path's repetitions left, each to be copied under the report's flame/ folder. */
export function flameViews(r: LoadedRun, b: LoadedPath): FlameView[] {
  return b.reps.flatMap((rep) =>
    (rep.intrusions ?? [])
      .filter((i) => i.collector === 'flame' && i.files[0]?.endsWith('.svg'))
      .map((i): FlameView => {
        const effect = sampledEffect(r, b, rep.scenario, rep.rep);
        return {
          scenario: rep.scenario,
          rep: rep.rep,
          what: i.what,
          ...(i.samples === undefined ? {} : { samples: i.samples }),
          ...(i.cpuSec === undefined ? {} : { cpuSec: i.cpuSec }),
          ...(i.sampledSec === undefined ? {} : { sampledSec: i.sampledSec }),
          ...(effect ? { effect } : {}),
          file: i.files[0]!,
          href: `flame/${[r.record.run, b.id, basename(i.files[0]!)].join('-').replace(/[^A-Za-z0-9._-]+/g, '_')}`,
        };
      }),
  );
}

/**
 * The scenario's first headline metric without dimensions (throughput, packet rate, latency) in the
 * sampled repetition and its median over the path's other measured repetitions that did not fail:
 * one repetition against a few, so a hint of what sampling cost the guests, not an estimate.
 */
function sampledEffect(r: LoadedRun, b: LoadedPath, scenario: string, sampledRep: number): FlameView['effect'] | undefined {
  const left = new Set(b.reps.filter((x) => x.scenario === scenario && (x.warmup || x.status === 'failed' || x.intrusions?.length)).map((x) => x.rep));
  for (const metric of HEADLINE_METRICS as readonly MetricName[]) {
    const values = r.samples.filter((s) => s.backend === b.id && s.scenario === scenario && s.metric === metric && !s.warmup && Object.keys(s.dims ?? {}).length === 0);
    const sampled = values.find((s) => s.rep === sampledRep);
    const others = values.filter((s) => !left.has(s.rep)).map((s) => s.value);
    if (sampled && others.length) return { metric, unit: metricInfo(metric).unit, sampled: sampled.value, othersMedian: median(others), others: others.length };
  }
  return undefined;
}

/** What sampling cost, in words: perf's samples and CPU, and the headline figure against the other repetitions. */
export function flameCostText(f: FlameView): string {
  const parts: string[] = [];
  if (f.samples !== undefined) parts.push(`${f.samples} samples`);
  if (f.cpuSec !== undefined) {
    const share = f.sampledSec ? ` in ${f.sampledSec.toFixed(1)} s (${formatPercent((100 * f.cpuSec) / f.sampledSec)} of one core)` : '';
    parts.push(`perf used ${f.cpuSec.toFixed(2)} CPU s${share}`);
  }
  if (f.effect) {
    const e = f.effect;
    const change = e.othersMedian !== 0 ? ` (${formatPercent((100 * (e.sampled - e.othersMedian)) / e.othersMedian, true)})` : '';
    parts.push(`${metricInfo(e.metric as MetricName).title.toLowerCase()} ${formatValue(e.sampled, e.unit)} against a median of ${formatValue(e.othersMedian, e.unit)} in the ${e.others} other repetition${e.others === 1 ? '' : 's'}${change}`);
  }
  return parts.join('; ');
}
