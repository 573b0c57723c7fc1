// The tables and lists of the HTML report (summary, ratios, paths, warnings, trend, provenance,
// phases, methods). Each is a pure function returning escaped markup.

import { metricInfo, type MetricName } from '../metrics.ts';
import type { Warning, WarningSubject } from '../stats/warnings.ts';
import { html, type SafeHtml } from './escape.ts';
import { compareMetrics, pathOrder, displayScale, formatDims, formatDuration, formatNumber, formatPercent, formatScaled, formatTime } from './format.ts';
import type { BackendView, ReportModel, RunView, TrendSeries } from './model.ts';
import { flameCostText } from './flames.ts';
import { coresTable, notReadyLine, placedPaths, placementLines, readinessTable, threadsTable } from './placement.ts';
import { costMethodNotes, idleTable, ratioMatrix, scenarioBlocks, type Cell, type Column, type Table } from './summary.ts';
import { describeWall } from '../run/wall.ts';

function byGroupThenName(a: { metric: MetricName }, b: { metric: MetricName }): number {
  return compareMetrics(a.metric, b.metric);
}

function arrow(metric: MetricName): SafeHtml {
  const d = metricInfo(metric).direction;
  if (d === 'higher-is-better') return html`<span class="dir" title="higher is better">↑ better</span>`;
  if (d === 'lower-is-better') return html`<span class="dir" title="lower is better">↓ better</span>`;
  return html``;
}

export function metricLabel(metric: MetricName, dims: Record<string, string | number>): SafeHtml {
  const d = formatDims(dims);
  return html`${metricInfo(metric).title}${d ? html` <span class="muted">(${d})</span>` : ''} ${arrow(metric)}`;
}

export function subjectText(s: WarningSubject, multiHost: boolean): string {
  const parts = [multiHost ? s.host : undefined, s.backend, s.scenario, s.metric ? metricInfo(s.metric).title : undefined].filter(Boolean);
  const dims = formatDims(s.dims);
  return `${parts.join(' · ')}${dims ? ` (${dims})` : ''}` || (s.run ? `run ${s.run}` : 'report');
}

/** A renderer-neutral table (summary.ts) as HTML: muted second lines, tooltips, noisy cells marked. */
export function tableHtml(t: Table, cls = 'summary'): SafeHtml {
  const lines = (text: string) => text.split('\n').map((l, i) => html`${i ? html`<br>` : ''}${l}`);
  const cell = (c: Cell, num: boolean) =>
    html`<td class="${num ? 'num' : ''}${c.noisy ? ' noisy' : ''}"${c.title ? html` title="${c.title}"` : ''}>${c.text}${c.noisy ? html`<sup>*</sup>` : ''}${c.note ? html`<br><span class="muted">${lines(c.note)}</span>` : ''}</td>`;
  const th = (c: Column, extra: SafeHtml = html``) => html`<th class="${c.num ? 'num' : ''}"${extra}>${c.text}${c.sub ? html`<br><span class="muted">${c.sub}</span>` : ''}</th>`;
  // Columns that share a group heading get it in a first header row; the others span both rows.
  const grouped = t.columns.some((c) => c.group);
  let head: SafeHtml;
  if (grouped) {
    const top: SafeHtml[] = [];
    for (let i = 0; i < t.columns.length; ) {
      const c = t.columns[i]!;
      if (!c.group) {
        top.push(th(c, html` rowspan="2"`));
        i++;
        continue;
      }
      let n = 1;
      while (t.columns[i + n]?.group === c.group) n++;
      top.push(html`<th class="group" colspan="${n}">${c.group}</th>`);
      i += n;
    }
    head = html`<tr>${top}</tr><tr>${t.columns.filter((c) => c.group).map((c) => th(c))}</tr>`;
  } else head = html`<tr>${t.columns.map((c) => th(c))}</tr>`;
  return html`<table class="${cls} keep"><caption>${t.caption}</caption><thead>${head}</thead><tbody>${t.rows.map(
    (r) => html`<tr>${r.map((c, i) => cell(c, t.columns[i]?.num ?? false))}</tr>`,
  )}</tbody></table>`;
}

/**
 * Per scenario: what each path achieved (median, mean with its interval, CV, the ratio to the
 * reference path) and what it cost (device accesses or exits per GB and per packet, host CPU),
 * every figure naming its source. Breakdowns are in the figures and in stats.csv / stats.json.
 */
export function summarySection(model: ReportModel): SafeHtml {
  const { blocks, clipped } = scenarioBlocks(model);
  if (blocks.length === 0) return html`<p>No measured samples: nothing to summarise.</p>`;
  const t = model.thresholds;
  return html`${blocks.map(
    (b) => html`<div class="scenario"><h3>${b.scenario}${model.multiHost ? ` on ${b.host}` : ''}${b.title ? html` <span class="muted">${b.title}</span>` : ''}</h3>${b.tables.map((x) => tableHtml(x))}${b.notes.map((n) => html`<p class="note">${n}</p>`)}</div>`,
  )}
<p class="muted"><sup>*</sup> noisy: coefficient of variation above ${t.cvPercent} %. Hover a number for n, mean, interval and range.${clipped ? ' Intervals are cut at 0: none of these quantities can be negative.' : ''} Every series, breakdowns included: stats.csv, stats.json.</p>`;
}

/** The ratio matrix (every path against the reference path), one per host. */
export function ratiosSection(model: ReportModel): SafeHtml {
  const tables = model.hosts.map((h) => ({ h, t: ratioMatrix(model, h) })).filter((x) => x.t !== null);
  if (tables.length === 0) return html`<p>Fewer than two paths were measured on the same host and scenario: no ratios.</p>`;
  const small = model.ratios.some((r) => Math.min(r.n.numerator, r.n.denominator) < model.thresholds.minReps);
  return html`${tables.map(({ h, t }) => html`${model.multiHost ? html`<h4>${h}</h4>` : ''}${tableHtml(t!, 'ratios')}`)}<p class="muted">${model.methods.ratio}.${small ? ` With fewer than ${model.thresholds.minReps} repetitions per path these bootstrap intervals understate the uncertainty.` : ''}</p>`;
}

/** How the cost figures were counted, and the idle baseline they are measured above. */
export function costNotesSection(model: ReportModel): SafeHtml {
  const notes = costMethodNotes(model);
  const idle = idleTable(model);
  return html`${notes.length ? html`<ul class="notes">${notes.map((n) => html`<li>${n}</li>`)}</ul>` : ''}${
    idle
      ? html`<h3 id="idle">Idle baseline</h3><p>Each path's guests were measured at rest once, before its repetitions. These counts, scaled to each window's length, were subtracted from every measured window; the idle window is not a scenario.</p>${tableHtml(idle)}`
      : ''
  }`;
}

/** Every path with its outcome; skipped and failed ones with the reason and the fix. */
export function pathsSection(model: ReportModel): SafeHtml {
  if (model.backends.length === 0) return html`<p>run.json lists no paths.</p>`;
  return html`<table><thead><tr>${model.multiHost ? html`<th>Host</th>` : ''}<th>Path</th><th>Status</th><th class="num">Repetitions</th><th>Reason and fix</th><th>Notes</th></tr></thead><tbody>${model.backends.map(
    (b) =>
      html`<tr>${model.multiHost ? html`<td>${b.host}</td>` : ''}<td><strong>${b.id}</strong><br><span class="muted">${b.title}</span></td><td><span class="badge ${b.status}">${b.status}</span></td><td class="num">${b.reps.measuredOk} ok${b.reps.failed ? `, ${b.reps.failed} failed` : ''}${b.reps.warmup ? `, ${b.reps.warmup} warm-up` : ''}${b.reps.blocked ? `, ${b.reps.blocked} blocked` : ''}</td><td>${b.reason ?? ''}${b.fix ? html`<br>Fix: <code>${b.fix}</code>` : ''}${b.failedReps.map((f) => html`<br>${f.warmup ? 'warm-up ' : ''}repetition ${f.rep} of ${f.scenario} failed${f.reason ? `: ${f.reason}` : ''}`)}</td><td>${b.notes.map((n, i) => html`${i ? html`<br>` : ''}${n}`)}</td></tr>`,
  )}</tbody></table>`;
}

/**
 * Flame graphs (profile flame): per path, a link to each SVG the report folder holds (its file name
 * as the link text, so a reader of the PDF knows which file to open), the repetition it was sampled
 * in, what sampling cost, and that this repetition is left out of the statistics.
 */
export function flamesSection(model: ReportModel): SafeHtml {
  const rows = model.backends.flatMap((b) => (b.flames ?? []).map((f) => ({ b, f })));
  if (rows.length === 0) return html``;
  return html`<h3 id="flames">Flame graphs</h3><p>Call stacks of each path's host threads (QEMU's vCPU and I/O threads, vhost workers, the switches), sampled with perf during one repetition per path. Sampling takes CPU from the guests, so <strong>that repetition is excluded from every statistic</strong>; its cost is perf's own CPU time and the path's figure in that repetition against its other repetitions. Each graph is an SVG in this report's folder that opens on its own in a browser: click a frame to zoom, search with Ctrl-F.</p><table><thead><tr>${model.multiHost ? html`<th>Host</th>` : ''}<th>Path</th><th>Flame graph</th><th>Repetition (excluded from statistics)</th><th>Cost of sampling</th></tr></thead><tbody>${rows.map(
    ({ b, f }) =>
      html`<tr>${model.multiHost ? html`<td>${b.host}</td>` : ''}<td><strong>${b.id}</strong></td><td><a href="${f.href}">${f.href}</a></td><td>${f.scenario} repetition ${f.rep}</td><td>${flameCostText(f)}</td></tr>`,
  )}</tbody></table>`;
}

/**
 * Collectors per path: a matrix of available / not (a column per path), then each distinct reason
 * with its fix and the paths it applies to, and each collector's notes on how it counted.
 */
export function collectorsSection(model: ReportModel): SafeHtml {
  const paths = model.backends.filter((b) => b.collectors.length);
  if (paths.length === 0) return html`<p>run.json does not record which collectors could count.</p>`;
  const ids: { id: string; source: string }[] = [];
  for (const b of paths) for (const c of b.collectors) if (!ids.some((x) => x.id === c.id)) ids.push({ id: c.id, source: c.source });
  const label = (b: BackendView) => (model.multiHost ? `${b.id} @ ${b.host}` : b.id);
  const reasons = new Map<string, { text: string; fix?: string; where: Set<string>; ids: Set<string> }>();
  const notes = new Map<string, { id: string; text: string; where: Set<string> }>();
  for (const b of paths) {
    for (const c of b.collectors) {
      if (!c.available) {
        const k = `${c.reason ?? ''}\u0000${c.fix ?? ''}`;
        const r = reasons.get(k) ?? { text: c.reason ?? 'no reason recorded', ...(c.fix ? { fix: c.fix } : {}), where: new Set<string>(), ids: new Set<string>() };
        r.where.add(label(b));
        r.ids.add(c.id);
        reasons.set(k, r);
      }
      for (const n of c.notes ?? []) {
        const k = `${c.id}\u0000${n}`;
        const x = notes.get(k) ?? { id: c.id, text: n, where: new Set<string>() };
        x.where.add(label(b));
        notes.set(k, x);
      }
    }
  }
  const where = (w: Set<string>) => (w.size === paths.length && paths.length > 1 ? 'every path' : [...w].join(', '));
  const unmeasured = model.backends.filter((b) => b.collectors.length === 0);
  return html`<table class="collectors keep"><thead><tr><th>Collector</th><th>Source</th>${paths.map((b) => html`<th class="c">${label(b)}</th>`)}</tr></thead><tbody>${ids.map(
    (x) =>
      html`<tr><td>${x.id}</td><td>${x.source}</td>${paths.map((b) => {
        const c = b.collectors.find((y) => y.id === x.id);
        return html`<td class="c">${c ? html`<span class="badge ${c.available ? 'ok' : 'skipped'}" title="${c.reason ?? ''}">${c.available ? 'yes' : 'no'}</span>` : html`<span class="muted" title="not used on this path">–</span>`}</td>`;
      })}</tr>`,
  )}</tbody></table>
${reasons.size ? html`<p><strong>Why not:</strong></p><ul class="notes">${[...reasons.values()].map((r) => html`<li><strong>${[...r.ids].join(', ')}</strong> (${where(r.where)}): ${r.text}${r.fix ? html`. Fix: <code>${r.fix}</code>` : ''}</li>`)}</ul>` : ''}
${notes.size ? html`<p><strong>How they count:</strong></p><ul class="notes">${[...notes.values()].map((n) => html`<li><strong>${n.id}</strong>${n.where.size === paths.length ? '' : ` (${where(n.where)})`}: ${n.text}</li>`)}</ul>` : ''}
${unmeasured.length ? html`<p class="muted">No collectors for ${unmeasured.map((b) => `${b.id} (${b.status})`).join(', ')}: the path was not measured.</p>` : ''}`;
}

/**
 * Negotiated features as a comparison: per family of features (driver, offload, virtio), those all
 * reporting paths share in one line, the ones that differ as rows with a mark per path (and guest,
 * where a path's two guests differ).
 */
export function featuresSection(model: ReportModel): SafeHtml {
  const withFeatures = model.backends.filter((b) => b.features && Object.keys(b.features).length);
  if (withFeatures.length === 0) return html`<p>No path reported the features its guests negotiated.</p>`;
  const columns: { label: string; set: Set<string> }[] = [];
  for (const b of withFeatures) {
    const guests = Object.entries(b.features!);
    const same = guests.every(([, fs]) => fs.length === guests[0]![1].length && fs.every((f) => guests[0]![1].includes(f)));
    const name = model.multiHost ? `${b.id} @ ${b.host}` : b.id;
    if (same) columns.push({ label: name, set: new Set(guests[0]![1]) });
    else for (const [g, fs] of guests) columns.push({ label: `${name} · guest ${g}`, set: new Set(fs) });
  }
  const family = (f: string) => (f.includes(':') ? f.slice(0, f.indexOf(':')) : '');
  const bare = (f: string) => (f.includes(':') ? f.slice(f.indexOf(':') + 1) : f);
  const families = [...new Set(columns.flatMap((c) => [...c.set].map(family)))].sort();
  const lines: SafeHtml[] = [];
  const tables: SafeHtml[] = [];
  for (const fam of families) {
    const cols = columns.filter((c) => [...c.set].some((f) => family(f) === fam));
    const all = [...new Set(cols.flatMap((c) => [...c.set].filter((f) => family(f) === fam)))];
    const common = all.filter((f) => cols.every((c) => c.set.has(f)));
    const differ = all.filter((f) => !common.includes(f)).sort();
    const famName = fam || 'features';
    if (common.length) {
      lines.push(html`<li><strong>${famName}</strong> <span class="muted">(${cols.length > 1 ? 'all of ' : ''}${cols.map((c) => c.label).join(', ')})</span>: ${common.map((f, i) => html`${i ? ', ' : ''}<code>${bare(f)}</code>`)}</li>`);
    }
    if (differ.length) {
      tables.push(
        html`<table class="features keep"><caption>${famName}: not negotiated on every path that reports them</caption><thead><tr><th>Feature</th>${cols.map((c) => html`<th class="c">${c.label}</th>`)}</tr></thead><tbody>${differ.map(
          (f) => html`<tr><td><code>${bare(f)}</code></td>${cols.map((c) => html`<td class="c">${c.set.has(f) ? '✓' : html`<span class="muted">–</span>`}</td>`)}</tr>`,
        )}</tbody></table>`,
      );
    }
  }
  const missing = model.backends.filter((b) => !b.features || Object.keys(b.features).length === 0);
  return html`<ul class="features">${lines}</ul>${tables}${missing.length ? html`<p class="muted">Not reported: ${missing.map((b) => `${model.multiHost ? `${b.id} @ ${b.host}` : b.id} (${b.status})`).join(', ')}.</p>` : ''}`;
}

/** CPU placement per path (cores, threads read back, other load), then host readiness per run. */
export function placementSection(model: ReportModel): SafeHtml {
  const placed = placedPaths(model);
  const runs = model.runs.filter((r) => r.current && (r.readiness || r.hostSpeed));
  if (placed.length === 0 && runs.length === 0) return html`<p>run.json records no CPU placement or host readiness (runs before they were recorded).</p>`;
  return html`${placed.map(({ b, p }) => {
    const cores = coresTable(b, p);
    return html`<h4>${model.multiHost ? `${b.id} @ ${b.host}` : b.id}</h4><ul class="notes">${placementLines(b, p).map((l) => html`<li>${l}</li>`)}</ul>${cores ? tableHtml(cores) : ''}${tableHtml(threadsTable(b, p))}`;
  })}${runs.map((r) => {
    const line = r.readiness && notReadyLine(r.readiness);
    return html`<h4>Host readiness${model.runs.length > 1 ? ` (run ${r.id})` : ''}</h4>${line ? html`<p class="banner">${line}</p>` : ''}${r.readiness ? tableHtml(readinessTable(r.readiness, r.id)) : ''}${r.hostSpeed ? html`<p>${r.hostSpeed}</p>` : ''}`;
  })}`;
}

export function warningsSection(model: ReportModel): SafeHtml {
  const t = model.thresholds;
  const thresholds = html`<p class="muted">Thresholds: coefficient of variation above ${t.cvPercent} %; fewer than ${t.minReps} measured repetitions; drift at p &lt; ${t.driftAlpha}; outliers as in Methods.</p>`;
  if (model.warnings.length === 0) return html`<p>No warnings: every series has enough repetitions, low noise, no outliers and no drift.</p>${thresholds}`;
  const finding = (w: Warning) => html`${w.message}.${w.advice ? html` <span class="advice">What to do: ${w.advice}.</span>` : ''}`;
  // An entry that groups the findings of one path and scenario lists them, most consequential first.
  const body = (w: Warning) => (w.findings ? html`<ul class="findings">${w.findings.map((f) => html`<li>${finding(f)}</li>`)}</ul>` : finding(w));
  return html`<ul class="warnings">${model.warnings.map((w: Warning) => html`<li><span class="badge ${w.severity}">${w.severity}</span> <strong>${subjectText(w.subject, model.multiHost)}</strong>: ${body(w)}</li>`)}</ul>${thresholds}`;
}

/** Medians of every headline metric across the runs of each profile and host. */
export function trendTable(model: ReportModel): SafeHtml {
  const groups = new Map<string, TrendSeries[]>();
  for (const t of model.trend) groups.set(`${t.host}\u0000${t.profile}`, [...(groups.get(`${t.host}\u0000${t.profile}`) ?? []), t]);
  return html`${[...groups.values()].map((ts) => {
    const runs = [...new Map(ts.flatMap((t) => t.points).map((p) => [p.run, p])).values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const rows = [...ts].sort((a, b) => a.scenario.localeCompare(b.scenario) || byGroupThenName(a, b) || pathOrder(model.paths)(a.backend, b.backend));
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
${provRow('Guest kernel', `${p.guestKernel}${p.image.kernelBoot ? (p.image.kernelBoot === 'pvh' ? ', booted uncompressed through its PVH entry' : ', booted as its bzImage') : ''}`)}
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

/** How long each phase took, a row per path and a column per phase, so the harness's own overhead is visible. */
export function phasesSection(model: ReportModel): SafeHtml {
  return html`${model.runs
    .filter((r) => r.current)
    .map((r) => {
      // Runs that time their windows: the share of wall time in measured windows; older runs: the measure phases.
      const total = r.wall ? r.wall.totalMs : r.phases.reduce((a, p) => a + p.ms, 0);
      const measure = r.wall ? r.wall.measuredMs : r.phases.filter((p) => p.phase === 'measure').reduce((a, p) => a + p.ms, 0);
      const phases = [...new Set(r.phases.filter((p) => p.backend).map((p) => p.phase))];
      const backends = [...new Set(r.phases.flatMap((p) => (p.backend ? [p.backend] : [])))];
      const runWide = r.phases.filter((p) => !p.backend);
      const ms = (b: string, ph: string) => r.phases.filter((p) => p.backend === b && p.phase === ph).reduce((a, p) => a + p.ms, 0);
      return html`<h3>Run ${r.id}</h3>${runWide.length ? html`<p>Before the paths: ${runWide.map((p, i) => html`${i ? ', ' : ''}${p.phase} ${formatDuration(p.ms)}`)}.</p>` : ''}
<table class="keep"><thead><tr><th>Path</th>${phases.map((p) => html`<th class="num">${p}</th>`)}<th class="num">Total</th></tr></thead><tbody>${backends.map(
        (b) => html`<tr><td>${b}</td>${phases.map((p) => html`<td class="num">${formatDuration(ms(b, p))}</td>`)}<td class="num">${formatDuration(phases.reduce((a, p) => a + ms(b, p), 0))}</td></tr>`,
      )}</tbody>
<tfoot><tr><th colspan="${phases.length + 1}">Total (measuring ${total ? formatPercent((measure / total) * 100) : 'n/a'} of it)</th><th class="num">${formatDuration(total)}</th></tr></tfoot></table>`;
    })}`;
}

/** Which groups ran in rounds and which in blocks, in words. */
function groupModes(groups: readonly { paths: string[]; mode: 'rounds' | 'blocks' }[]): string {
  const rounds = groups.filter((g) => g.mode === 'rounds').map((g) => g.paths[0]!);
  const blocks = groups.filter((g) => g.mode === 'blocks').map((g) => g.paths[0]!);
  const inRounds = 'in rounds within the group (each round one repetition of every scenario on every path of the group, in alternating order, the group\u2019s guests kept booted)';
  if (!blocks.length) return inRounds;
  if (!rounds.length) return 'each group in blocks';
  return `${rounds.join(', ')} ${inRounds}; ${blocks.join(', ')} in blocks (the group does not fit in memory)`;
}

/** How a run ordered its repetitions, in words. */
export function orderWords(o: NonNullable<RunView['order']>): string {
  const how =
    o.mode === 'blocks'
      ? 'in blocks: every repetition of one path, then the next path'
      : o.groups
        ? `group by group (a path and its variants; ${o.groups.length === 1 ? 'one group' : `${o.groups.length} groups one after the other`}), ${groupModes(o.groups)}`
        : 'in rounds: each round one repetition of every scenario on every path, the paths in alternating order (A B C, C B A, ...), guests kept booted';
  return `repetitions ${how}${o.reason ? ` (${o.reason})` : ''}`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function methodsSection(model: ReportModel): SafeHtml {
  const m = model.methods;
  return html`<ul>
<li><strong>Confidence interval:</strong> ${m.ci}.</li>
<li><strong>Ratios between paths:</strong> ${m.ratio}.</li>
${m.ablation ? html`<li><strong>Variants against their paths:</strong> ${m.ablation}.</li>` : ''}
<li><strong>Outliers:</strong> ${m.outliers}.</li>
<li><strong>Drift:</strong> ${m.drift}.</li>
<li><strong>Excluded data:</strong> ${m.warmup}.</li>
${model.runs.filter((r) => r.current && (r.order || r.wall)).map((r) => html`<li><strong>Order and wall time${model.runs.filter((x) => x.current).length > 1 ? html` (run ${r.id})` : ''}:</strong> ${r.order ? html`${orderWords(r.order)}. ` : ''}${r.wall ? html`${capitalise(describeWall(r.wall))}.` : ''}</li>`)}
<li><strong>Exits and device accesses:</strong> counted per guest for that guest's own QEMU process over the measured window, with an idle window's counts subtracted; under software emulation (TCG) there are no VM exits, so QEMU's emulated device accesses are shown instead and labelled as such.</li>
</ul>`;
}
