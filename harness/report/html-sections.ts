// The tables and lists of the HTML report (summary, ratios, paths, warnings, trend, provenance,
// phases, methods). Each is a pure function returning escaped markup.

import { metricInfo } from '../metrics.ts';
import { isHeadline, type SeriesStats } from '../stats/series.ts';
import type { Warning, WarningSubject } from '../stats/warnings.ts';
import { html, type SafeHtml } from './escape.ts';
import { orderedScenarios } from './figures.ts';
import { compareBackends, compareMetrics, displayScale, formatDims, formatDuration, formatNumber, formatPercent, formatScaled, formatTime, sourceList } from './format.ts';
import type { ReportModel, RunView, TrendSeries } from './model.ts';

function byGroupThenName(a: { metric: string }, b: { metric: string }): number {
  return compareMetrics(a.metric, b.metric);
}

function arrow(metric: string): SafeHtml {
  const d = metricInfo(metric).direction;
  if (d === 'higher-is-better') return html`<span class="dir" title="higher is better">↑ better</span>`;
  if (d === 'lower-is-better') return html`<span class="dir" title="lower is better">↓ better</span>`;
  return html``;
}

export function metricLabel(metric: string, dims: Record<string, string | number>): SafeHtml {
  const d = formatDims(dims);
  return html`${metricInfo(metric).title}${d ? html` <span class="muted">(${d})</span>` : ''} ${arrow(metric)}`;
}

export function subjectText(s: WarningSubject, multiHost: boolean): string {
  const parts = [multiHost ? s.host : undefined, s.backend, s.scenario, s.metric ? metricInfo(s.metric).title : undefined].filter(Boolean);
  const dims = formatDims(s.dims);
  return `${parts.join(' · ')}${dims ? ` (${dims})` : ''}` || (s.run ? `run ${s.run}` : 'report');
}

function flags(s: SeriesStats): string {
  const f: string[] = [];
  if (s.outliers.length) f.push(`outlier: rep ${s.outliers.map((o) => o.rep).join(', ')}`);
  if (s.warnings.some((w) => w.code === 'drift')) f.push('drift');
  if (s.warnings.some((w) => w.code === 'high-cv')) f.push('noisy');
  if (s.excluded.failedRep) f.push(`${s.excluded.failedRep} failed rep excluded`);
  return f.join('; ');
}

/**
 * Median, mean with its interval, CV and range of every headline series: one table per scenario,
 * one group of rows per metric (title, unit, better direction and source in the group's header),
 * one row per path (and host and dimensions). A metric's rows share one display unit.
 */
export function summarySection(model: ReportModel): SafeHtml {
  const scenarios = orderedScenarios(model);
  if (scenarios.length === 0) return html`<p>No measured samples: nothing to summarise.</p>`;
  return html`${scenarios.map((scenario) => {
    const series = model.series.filter((s) => s.scenario === scenario && isHeadline(s));
    const metricNames = [...new Set(series.map((s) => s.metric))].sort((a, b) => byGroupThenName({ metric: a }, { metric: b }));
    return html`<h3>${scenario}</h3>
<table class="summary">
<colgroup><col style="width:21%"><col style="width:5%"><col style="width:12%"><col style="width:29%"><col style="width:8%"><col style="width:16%"><col style="width:9%"></colgroup>
<thead><tr><th>Path</th><th class="num">n</th><th class="num">Median</th><th class="num">Mean [95 % CI]</th><th class="num">CV</th><th class="num">Min – max</th><th>Flags</th></tr></thead>
<tbody>${metricNames.map((metric) => {
      const rows = series
        .filter((s) => s.metric === metric)
        .sort((a, b) => compareBackends(a.backend, b.backend) || a.host.localeCompare(b.host) || formatDims(a.dims).localeCompare(formatDims(b.dims)));
      const scale = displayScale(rows[0]!.unit, Math.max(...rows.map((s) => Math.max(Math.abs(s.summary.max), Math.abs(s.summary.ci?.high ?? 0)))));
      const f = (x: number) => formatScaled(x, scale);
      const header = html`<tr class="group"><th colspan="7">${metricInfo(metric).title} <span class="muted">in ${scale.unit} · ${sourceList(rows.flatMap((s) => s.sources))}</span> ${arrow(metric)}</th></tr>`;
      return html`${header}${rows.map((s) => {
        const where = [model.multiHost ? s.host : '', formatDims(s.dims)].filter(Boolean).join(', ');
        const ci = s.summary.ci ? `${f(s.summary.mean)} [${f(s.summary.ci.low)} – ${f(s.summary.ci.high)}]` : `${f(s.summary.mean)} [n/a]`;
        return html`<tr><td>${s.backend}${where ? html` <span class="muted">(${where})</span>` : ''}</td><td class="num">${s.summary.n}</td><td class="num">${f(s.summary.median)}</td><td class="num">${ci}</td><td class="num">${s.summary.cvPercent === null ? 'n/a' : formatPercent(s.summary.cvPercent)}</td><td class="num">${f(s.summary.min)} – ${f(s.summary.max)}</td><td>${flags(s)}</td></tr>`;
      })}`;
    })}</tbody></table>`;
  })}
<p class="muted">Breakdowns by exit reason and memory region, and volume counters, are in the figures and in stats.csv / stats.json.</p>`;
}

export function ratiosSection(model: ReportModel): SafeHtml {
  if (model.ratios.length === 0) return html`<p>Fewer than two paths were measured on the same host and scenario: no ratios.</p>`;
  return html`<table class="keep"><thead><tr>${model.multiHost ? html`<th>Host</th>` : ''}<th>Scenario</th><th>Metric</th><th>Path ÷ slowest path</th><th class="num">Ratio of medians</th><th class="num">95 % CI</th></tr></thead><tbody>${model.ratios.map(
    (r) =>
      html`<tr>${model.multiHost ? html`<td>${r.host}</td>` : ''}<td>${r.scenario}</td><td>${metricInfo(r.metric).title} ${arrow(r.metric)}</td><td>${r.numerator} ÷ ${r.denominator}</td><td class="num">${formatNumber(r.estimate.value)}×</td><td class="num">${r.estimate.ci ? `${formatNumber(r.estimate.ci.low)} – ${formatNumber(r.estimate.ci.high)}×` : 'n/a (too few repetitions)'}</td></tr>`,
  )}</tbody></table><p class="muted">${model.methods.ratio}.</p>`;
}

/** Every path with its outcome; skipped and failed ones with the reason and the fix. */
export function pathsSection(model: ReportModel): SafeHtml {
  if (model.backends.length === 0) return html`<p>run.json lists no paths.</p>`;
  return html`<table><thead><tr>${model.multiHost ? html`<th>Host</th>` : ''}<th>Path</th><th>Status</th><th class="num">Repetitions</th><th>Reason and fix</th><th>Notes</th></tr></thead><tbody>${model.backends.map(
    (b) =>
      html`<tr>${model.multiHost ? html`<td>${b.host}</td>` : ''}<td><strong>${b.id}</strong><br><span class="muted">${b.title}</span></td><td><span class="badge ${b.status}">${b.status}</span></td><td class="num">${b.reps.measuredOk} ok${b.reps.failed ? `, ${b.reps.failed} failed` : ''}${b.reps.warmup ? `, ${b.reps.warmup} warm-up` : ''}</td><td>${b.reason ?? ''}${b.fix ? html`<br>Fix: <code>${b.fix}</code>` : ''}${b.failedReps.map((f) => html`<br>${f.warmup ? 'warm-up ' : ''}repetition ${f.rep} of ${f.scenario} failed${f.reason ? `: ${f.reason}` : ''}`)}</td><td>${b.notes.map((n, i) => html`${i ? html`<br>` : ''}${n}`)}</td></tr>`,
  )}</tbody></table>`;
}

export function featuresSection(model: ReportModel): SafeHtml {
  const withFeatures = model.backends.filter((b) => b.features && Object.keys(b.features).length);
  if (withFeatures.length === 0) return html`<p>No path reported the virtio features its guests negotiated.</p>`;
  return html`<table class="features"><thead><tr>${model.multiHost ? html`<th>Host</th>` : ''}<th>Path</th><th>Guest</th><th>Negotiated features</th></tr></thead><tbody>${withFeatures.flatMap((b) =>
    Object.entries(b.features!).map(
      ([guest, fs]) => html`<tr>${model.multiHost ? html`<td>${b.host}</td>` : ''}<td>${b.id}</td><td>${guest}</td><td>${fs.map((f) => html`<code>${f}</code>`)}</td></tr>`,
    ),
  )}</tbody></table>`;
}

export function warningsSection(model: ReportModel): SafeHtml {
  const t = model.thresholds;
  const thresholds = html`<p class="muted">Thresholds: coefficient of variation above ${t.cvPercent} %; fewer than ${t.minReps} measured repetitions; drift at p &lt; ${t.driftAlpha}; outliers as in Methods.</p>`;
  if (model.warnings.length === 0) return html`<p>No warnings: every series has enough repetitions, low noise, no outliers and no drift.</p>${thresholds}`;
  return html`<ul class="warnings">${model.warnings.map((w: Warning) => html`<li><span class="badge ${w.severity}">${w.severity}</span> <strong>${subjectText(w.subject, model.multiHost)}</strong>: ${w.message}.${w.advice ? html` <span class="advice">What to do: ${w.advice}.</span>` : ''}</li>`)}</ul>${thresholds}`;
}

/** Medians of every headline metric across the runs of each profile and host. */
export function trendTable(model: ReportModel): SafeHtml {
  const groups = new Map<string, TrendSeries[]>();
  for (const t of model.trend) groups.set(`${t.host}\u0000${t.profile}`, [...(groups.get(`${t.host}\u0000${t.profile}`) ?? []), t]);
  return html`${[...groups.values()].map((ts) => {
    const runs = [...new Map(ts.flatMap((t) => t.points).map((p) => [p.run, p])).values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const rows = [...ts].sort((a, b) => a.scenario.localeCompare(b.scenario) || byGroupThenName(a, b) || compareBackends(a.backend, b.backend));
    return html`<h3>Profile ${ts[0]!.profile} on ${ts[0]!.host}: medians per run</h3>
<table><thead><tr><th>Scenario</th><th>Path</th><th>Metric</th>${runs.map((r) => html`<th class="num">${formatTime(r.startedAt)}<br><span class="muted">${r.run}</span></th>`)}<th class="num">Last vs first</th></tr></thead><tbody>${rows.map((t) => {
      const scale = displayScale(t.unit, Math.max(...t.points.map((p) => Math.abs(p.summary.median))));
      const first = t.points[0]!.summary.median;
      const last = t.points.at(-1)!.summary.median;
      return html`<tr><td>${t.scenario}</td><td>${t.backend}</td><td>${metricLabel(t.metric, t.dims)}</td>${runs.map((r) => {
        const p = t.points.find((x) => x.run === r.run);
        return html`<td class="num">${p ? `${formatScaled(p.summary.median, scale)} ${scale.unit}` : '–'}</td>`;
      })}<td class="num">${first === 0 ? 'n/a' : formatPercent(((last - first) / Math.abs(first)) * 100, true)}</td></tr>`;
    })}</tbody></table>`;
  })}${hashChanges(model)}`;
}

function hashChanges(model: ReportModel): SafeHtml {
  const byProfile = new Map<string, Set<string>>();
  for (const r of model.runs) byProfile.set(`${r.host} / ${r.profile.name}`, (byProfile.get(`${r.host} / ${r.profile.name}`) ?? new Set()).add(r.profile.hash));
  const changed = [...byProfile.entries()].filter(([, h]) => h.size > 1).map(([k]) => k);
  return changed.length ? html`<p class="banner">The profile file changed between these runs (${changed.join(', ')}): a step in the trend may be the profile, not the path.</p>` : html``;
}

function provRow(label: string, value: unknown): SafeHtml {
  return html`<dt>${label}</dt><dd>${value as string}</dd>`;
}

/** Where the numbers came from: host, CPU, QEMU, guest kernel, accelerator and why, commit, profile. */
export function provenanceSection(model: ReportModel): SafeHtml {
  return html`${model.runs.map((r: RunView) => {
    const p = r.provenance;
    const duration = r.endedAt ? formatDuration(Date.parse(r.endedAt) - Date.parse(r.startedAt)) : 'unfinished';
    return html`<h3>Run ${r.id}${r.current ? '' : html` <span class="muted">(earlier run, trend only)</span>`}</h3>
<dl class="prov">
${provRow('Status', html`<span class="badge ${r.partial ? 'partial' : 'ok'}">${r.status}</span>${r.partial ? html` ${r.partialReasons.join('; ')}` : ''}`)}
${provRow('Started / ended', `${formatTime(r.startedAt)} / ${r.endedAt ? formatTime(r.endedAt) : 'not recorded'} (${duration})`)}
${provRow('Profile', html`${r.profile.name} <span class="muted">(${r.profile.path})</span>`)}
${provRow('Profile hash', html`<code>${r.profile.hash}</code>`)}
${provRow('Command', html`<code>${r.argv.join(' ')}</code>`)}
${
  p
    ? html`${provRow('Host', p.hostname)}
${provRow('Host kernel', p.hostKernel)}
${provRow('CPU', `${p.cpuModel} (${p.cpuCount} CPUs), ${formatNumber(p.memoryMiB)} MiB memory`)}
${provRow('QEMU', html`${p.qemuVersion} <span class="muted">(${p.qemuBinary})</span>`)}
${provRow('Guest kernel', p.guestKernel)}
${provRow('Guest image', html`<code>${p.image.hash}</code> ${Object.entries(p.image.packages ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`)}
${provRow('Accelerator', html`<strong>${p.accel.kind.toUpperCase()}</strong>: ${p.accel.reason}`)}
${provRow('Git commit', html`<code>${p.gitCommit}</code>${p.gitDirty ? ' (with uncommitted changes)' : ''}`)}
${provRow('iopath / Node', `${p.iopathVersion} / ${p.nodeVersion}`)}`
    : provRow('Provenance', 'not recorded: the run stopped before writing it')
}
${r.error ? provRow('Error', r.error) : ''}
${r.notes.length ? provRow('Notes', html`${r.notes.map((n, i) => html`${i ? html`<br>` : ''}${n}`)}`) : ''}
</dl>`;
  })}`;
}

/** How long each phase took, so the harness's own overhead is visible. */
export function phasesSection(model: ReportModel): SafeHtml {
  return html`${model.runs
    .filter((r) => r.current)
    .map((r) => {
      const total = r.phases.reduce((a, p) => a + p.ms, 0);
      const measure = r.phases.filter((p) => p.phase === 'measure').reduce((a, p) => a + p.ms, 0);
      return html`<h3>Run ${r.id}</h3><table class="keep"><thead><tr><th>Phase</th><th>Path</th><th class="num">Time</th></tr></thead><tbody>${r.phases.map((p) => html`<tr><td>${p.phase}</td><td>${p.backend ?? '–'}</td><td class="num">${formatDuration(p.ms)}</td></tr>`)}</tbody>
<tfoot><tr><th colspan="2">Total (measuring ${total ? formatPercent((measure / total) * 100) : 'n/a'} of it)</th><th class="num">${formatDuration(total)}</th></tr></tfoot></table>`;
    })}`;
}

export function methodsSection(model: ReportModel): SafeHtml {
  const m = model.methods;
  return html`<ul>
<li><strong>Confidence interval:</strong> ${m.ci}.</li>
<li><strong>Ratios between paths:</strong> ${m.ratio}.</li>
<li><strong>Outliers:</strong> ${m.outliers}.</li>
<li><strong>Drift:</strong> ${m.drift}.</li>
<li><strong>Excluded data:</strong> ${m.warmup}.</li>
<li><strong>Exits and device accesses:</strong> counted per guest for that guest's own QEMU process over the measured window, with an idle window's counts subtracted; under software emulation (TCG) there are no VM exits, so QEMU's emulated device accesses are shown instead and labelled as such.</li>
</ul>`;
}
