// The first lines a reader sees: how much faster the fastest path is than the reference path and
// what it costs in device accesses or exits, the packet-rate and latency leaders, what was not
// measured, how sure the numbers are, and how many warnings follow.

import { metricInfo, type MetricName } from '../metrics.ts';
import { isHeadline } from '../stats/series.ts';
import { variantLabel } from './costs.ts';
import { formatNumber, formatValue, notRunGroups, withVariants } from './format.ts';
import type { RatioView, ReportModel } from './model.ts';

type VerdictInput = Pick<ReportModel, 'runs' | 'series' | 'ratios' | 'backends' | 'warnings' | 'hosts' | 'multiHost' | 'thresholds'> & Partial<Pick<ReportModel, 'references'>>;

const x = (v: number) => `${formatNumber(v)}×`;

/** `(95 % CI 3.65–5.02×)`, or why there is none. */
function ciText(r: RatioView, invert = false): string {
  const ci = r.estimate.ci;
  if (!ci) return ' (no interval: too few repetitions)';
  const [lo, hi] = invert ? [1 / ci.high, 1 / ci.low] : [ci.low, ci.high];
  return ` (95 % CI ${formatNumber(lo)}–${formatNumber(hi)}×)`;
}

/** `6.8× fewer device accesses (software emulation) per GB` or `1.2× more …`, from a cost ratio. */
function costClause(r: RatioView): string {
  const v = r.estimate.value;
  const what = r.label.replace(/, both guests$/, '');
  if (v === 0) return `no ${what} above idle`;
  return v <= 1 ? `${x(1 / v)} fewer ${what}${ciText(r, true)}` : `${x(v)} more ${what}${ciText(r)}`;
}

function medianOf(model: VerdictInput, host: string, backend: string, scenario: string, metric: MetricName, variant: string): number | undefined {
  return model.series.find((s) => s.host === host && s.backend === backend && s.scenario === scenario && s.metric === metric && isHeadline(s) && variantLabel(s.dims) === variant)?.summary.median;
}

/** The verdict: one sentence per traffic shape and host, then what is missing and how sure it is. */
export function verdictLine(model: VerdictInput): string {
  const parts: string[] = [];
  const partial = model.runs.filter((r) => r.current && r.partial);
  if (partial.length) parts.push(`PARTIAL RUN (${partial.map((r) => `${r.id}: ${r.status}`).join(', ')}).`);
  for (const host of model.hosts) {
    const on = (scenario: string) => (model.multiHost ? `On ${host}, ${scenario}:` : `On ${scenario}:`);
    // The leaders are paths; a variant's place is its own section (its change against its path).
    const isVariant = (id: string) => model.backends.some((b) => b.host === host && b.id === id && b.variant);
    const ratios = model.ratios.filter((r) => r.host === host && !isVariant(r.numerator));
    const ref = model.references?.find((r) => r.host === host)?.backend;

    // Bulk throughput, with what the fastest path saves in device accesses or exits per GB.
    const tput = ratios.filter((r) => r.metric === 'throughput');
    const scenario = tput.find((r) => r.scenario === 'tcp-stream')?.scenario ?? tput[0]?.scenario;
    const best = tput.filter((r) => r.scenario === scenario).sort((a, b) => b.estimate.value - a.estimate.value)[0];
    if (best) {
      const a = medianOf(model, host, best.numerator, best.scenario, 'throughput', '')!;
      const b = medianOf(model, host, best.denominator, best.scenario, 'throughput', '')!;
      const cost = ratios.find((r) => r.scenario === best.scenario && r.numerator === best.numerator && (r.metric === 'exitsPerGB' || r.metric === 'deviceAccessesPerGB'));
      parts.push(
        `${on(best.scenario)} ${best.numerator} reaches ${x(best.estimate.value)} the median ${metricInfo('throughput').title.toLowerCase()} of ${best.denominator}${ciText(best)}, ${formatValue(a, 'bit/s')} against ${formatValue(b, 'bit/s')}${cost ? `, with ${costClause(cost)}` : ''}.`,
      );
    } else {
      const only = model.series.filter((s) => s.host === host && s.metric === 'throughput' && isHeadline(s));
      if (only.length === 1) parts.push(`${on(only[0]!.scenario)} only ${only[0]!.backend} was measured, ${formatValue(only[0]!.summary.median, 'bit/s')} median throughput.`);
      else if (only.length === 0 && !ratios.some((r) => r.metric === 'packetRate' || r.metric === 'latencyP50')) parts.push(`No throughput was measured${model.multiHost ? ` on ${host}` : ''}.`);
    }

    // Packet rate at the smallest payload: the leader against the reference.
    const pps = ratios.filter((r) => r.metric === 'packetRate');
    if (pps.length && ref) {
      const variants = [...new Set(pps.map((r) => `${r.scenario}\u0000${variantLabel(r.variant)}`))];
      const [sc, v] = variants.sort((p, q) => (parseFloat(p.split('\u0000')[1]!) || 0) - (parseFloat(q.split('\u0000')[1]!) || 0))[0]!.split('\u0000') as [string, string];
      const here = pps.filter((r) => r.scenario === sc && variantLabel(r.variant) === v);
      const top = [...here].sort((a, b) => b.estimate.value - a.estimate.value)[0]!;
      const label = `${sc}${v ? ` (${v})` : ''}`;
      const refRate = medianOf(model, host, ref, sc, 'packetRate', v);
      if (top.estimate.value > 1) {
        const cost = ratios.find((r) => r.scenario === sc && variantLabel(r.variant) === v && r.numerator === top.numerator && (r.metric === 'exitsPerPacket' || r.metric === 'deviceAccessesPerPacket'));
        const rate = medianOf(model, host, top.numerator, sc, 'packetRate', v);
        parts.push(
          `${on(label).replace(/:$/, ',')} ${top.numerator} delivers the most packets, ${x(top.estimate.value)} ${ref}'s${ciText(top)}${rate !== undefined && refRate !== undefined ? `, ${formatValue(rate, 'pkt/s')} against ${formatValue(refRate, 'pkt/s')}` : ''}${cost ? `, with ${costClause(cost)}` : ''}.`,
        );
      } else {
        parts.push(`${on(label).replace(/:$/, ',')} ${ref} delivers the most packets${refRate !== undefined ? ` (${formatValue(refRate, 'pkt/s')})` : ''}; the next, ${top.numerator}, ${x(top.estimate.value)} of it${ciText(top)}.`);
      }
    }

    // Latency: the path with the lowest median p50 against the reference.
    const lat = ratios.filter((r) => r.metric === 'latencyP50');
    if (lat.length && ref) {
      const low = [...lat].sort((a, b) => a.estimate.value - b.estimate.value)[0]!;
      const a = medianOf(model, host, low.numerator, low.scenario, 'latencyP50', '');
      const b = medianOf(model, host, ref, low.scenario, 'latencyP50', '');
      const vals = a !== undefined && b !== undefined ? `, ${formatValue(a, 'us')} against ${formatValue(b, 'us')}` : '';
      if (low.estimate.value < 1) parts.push(`${on(low.scenario)} ${low.numerator} has the lowest median round trip (p50), ${x(low.estimate.value)} ${ref}'s${ciText(low)}${vals}.`);
      else parts.push(`${on(low.scenario)} ${ref} has the lowest median round trip (p50)${b !== undefined ? `, ${formatValue(b, 'us')}` : ''}.`);
    }

    const variants = model.backends.filter((b) => b.host === host && b.variant && b.status === 'ok');
    if (variants.length) {
      const of = new Set(variants.map((b) => b.variant!.of));
      parts.push(`${variants.length} variant${variants.length === 1 ? '' : 's'} of ${[...of].join(', ')} measured: their changes against their paths are in the Variants section.`);
    }

    const notRun = model.backends.filter((b) => b.host === host && (b.status === 'skipped' || b.status === 'failed' || b.status === 'blocked'));
    if (notRun.length) parts.push(`Not measured${model.multiHost ? ` on ${host}` : ''}: ${notRunGroups(notRun).map((g) => `${withVariants(g.b.id, g.alike)} (${g.b.status})`).join(', ')}.`);
  }
  const headline = model.series.filter(isHeadline);
  const maxN = headline.length ? Math.max(...headline.map((s) => s.summary.n)) : 0;
  if (maxN > 0 && maxN < model.thresholds.minReps) parts.push(`Only ${maxN} repetition${maxN > 1 ? 's' : ''} per path: the intervals are wide, and bootstrap intervals of ratios from so few repetitions understate the uncertainty.`);
  const errors = model.warnings.filter((w) => w.severity === 'error').length;
  const warns = model.warnings.filter((w) => w.severity === 'warning').length;
  const counts = [errors ? `${errors} error${errors > 1 ? 's' : ''}` : '', warns ? `${warns} warning${warns > 1 ? 's' : ''}` : ''].filter(Boolean);
  if (counts.length) parts.push(`See ${counts.join(' and ')} below.`);
  return parts.join(' ');
}
