// Drawing FigureSpecs to PNG with Chart.js on node-canvas (chartjs-node-canvas). Whiskers, dots and
// reference lines are drawn by one small inline plugin, since Chart.js has no error bars.

import type { Chart, ChartConfiguration, Plugin } from 'chart.js';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { FigureSpec } from './figure-spec.ts';
import { directionWords, formatNumber } from './format.ts';

export interface RenderedFigure {
  spec: FigureSpec;
  /** PNG bytes; absent when drawing failed. */
  png?: Buffer;
  /** Why the figure could not be drawn. */
  error?: string;
}

const SIZES = { full: { width: 900, height: 430 }, half: { width: 640, height: 430 } } as const;
const FONT = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";

const canvases = new Map<string, ChartJSNodeCanvas>();

function canvasFor(width: number, height: number): ChartJSNodeCanvas {
  const key = `${width}x${height}`;
  let c = canvases.get(key);
  if (!c) {
    c = new ChartJSNodeCanvas({
      width,
      height,
      backgroundColour: 'white',
      chartCallback: (ChartJS) => {
        ChartJS.defaults.font.family = FONT;
        ChartJS.defaults.color = '#222';
      },
    });
    canvases.set(key, c);
  }
  return c;
}

/** Split a long title into lines of at most `max` characters, at spaces. */
export function wrap(text: string, max = 90): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Whiskers, repetition dots and the reference line, drawn over the datasets. */
function overlay(spec: FigureSpec): Plugin {
  return {
    id: 'iopathOverlay',
    afterDatasetsDraw(chart: Chart) {
      const { ctx, chartArea } = chart;
      const y = chart.scales.y!;
      const clampY = (v: number) => Math.min(chartArea.bottom, Math.max(chartArea.top, y.getPixelForValue(v)));
      ctx.save();
      spec.datasets.forEach((ds, i) => {
        const meta = chart.getDatasetMeta(i);
        if (meta.hidden) return;
        meta.data.forEach((el, j) => {
          const x = el.x;
          const w = Math.max(8, ((el as unknown as { width?: number }).width ?? 16) * 0.35);
          const wk = ds.whiskers?.[j];
          if (wk) {
            const [lo, hi] = [clampY(wk[0]), clampY(wk[1])];
            ctx.strokeStyle = '#111';
            ctx.lineWidth = 1.6;
            ctx.beginPath();
            ctx.moveTo(x, lo);
            ctx.lineTo(x, hi);
            ctx.moveTo(x - w / 2, lo);
            ctx.lineTo(x + w / 2, lo);
            ctx.moveTo(x - w / 2, hi);
            ctx.lineTo(x + w / 2, hi);
            ctx.stroke();
          }
          const dots = ds.dots?.[j] ?? [];
          dots.forEach((v, k) => {
            const dx = dots.length > 1 ? (k / (dots.length - 1) - 0.5) * w * 1.6 : 0;
            ctx.fillStyle = 'rgba(255,255,255,0.9)';
            ctx.strokeStyle = '#111';
            ctx.lineWidth = 1;
            ctx.beginPath();
            ctx.arc(x + dx, clampY(v), 2.6, 0, Math.PI * 2);
            ctx.fill();
            ctx.stroke();
          });
        });
      });
      if (spec.kind === 'bar') drawValueLabels(chart, spec, clampY);
      if (spec.referenceLine) {
        const ry = clampY(spec.referenceLine.value);
        ctx.strokeStyle = '#555';
        ctx.setLineDash([6, 4]);
        ctx.lineWidth = 1.2;
        ctx.beginPath();
        ctx.moveTo(chartArea.left, ry);
        ctx.lineTo(chartArea.right, ry);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = '#333';
        ctx.font = `12px ${FONT}`;
        ctx.textAlign = 'right';
        ctx.fillText(spec.referenceLine.label, chartArea.right - 4, ry - 5);
      }
      ctx.restore();
    },
  };
}

/**
 * Print each bar's value (or each stack's total) above it, so a short bar beside a tall one still
 * reads as a number. Skipped when there are too many bars to label legibly.
 */
function drawValueLabels(chart: Chart, spec: FigureSpec, toY: (v: number) => number): void {
  const { ctx } = chart;
  const bars = spec.stacked ? spec.categories.length : spec.datasets.reduce((n, d) => n + d.values.filter((v) => v !== null).length, 0);
  if (bars > 16) return;
  ctx.fillStyle = '#111';
  ctx.font = `bold 12px ${FONT}`;
  ctx.textAlign = 'center';
  const label = (x: number, top: number, v: number) => ctx.fillText(formatNumber(v), x, Math.max(chart.chartArea.top + 12, top - 6));
  if (spec.stacked) {
    spec.categories.forEach((_, j) => {
      const total = spec.datasets.reduce((acc, d) => acc + (d.values[j] ?? 0), 0);
      const el = chart.getDatasetMeta(spec.datasets.length - 1).data[j];
      if (el && total > 0) label(el.x, toY(total), total);
    });
    return;
  }
  spec.datasets.forEach((d, i) => {
    chart.getDatasetMeta(i).data.forEach((el, j) => {
      const v = d.values[j];
      if (v === null || v === undefined) return;
      const top = Math.min(toY(v), ...(d.whiskers?.[j] ? [toY(d.whiskers[j]![1])] : []), ...(d.dots?.[j] ?? []).map(toY));
      label(el.x, top - 2, v);
    });
  });
}

/**
 * A category label as lines: `<path> · guest a · 64 B` on three lines under its bar instead of
 * slanting, and with many bars a long path name broken after a hyphen (`vhost-user-` / `…`).
 */
export function categoryLines(category: string, narrow: boolean): string | string[] {
  const parts = category.split(' · ').flatMap((p) => (narrow && p.includes(' @ ') ? p.split(' @ ').map((x, i) => (i ? `@ ${x}` : x)) : [p]));
  const lines = narrow
    ? parts.flatMap((p) => {
        const cut = p.length > 11 ? p.lastIndexOf('-', Math.ceil(p.length / 2) + 2) : -1;
        return cut > 0 ? [p.slice(0, cut + 1), p.slice(cut + 1)] : [p];
      })
    : parts;
  return lines.length === 1 ? lines[0]! : lines;
}

/** Whether the widest label line would overflow its bar's share of the plot width. */
function needsNarrowLabels(spec: FigureSpec): boolean {
  const font = spec.categories.length > 6 ? 10 : 12;
  const perBar = (SIZES[spec.width].width * 0.85) / Math.max(1, spec.categories.length);
  const widest = Math.max(...spec.categories.flatMap((c) => c.split(' · ').map((l) => l.length)));
  return widest * font * 0.6 > perBar;
}

/** The highest point any mark reaches (bar, stack, whisker, dot), so none is clipped. */
export function highestMark(spec: FigureSpec): number {
  const marks: number[] = [];
  if (spec.stacked) {
    spec.categories.forEach((_, j) => marks.push(spec.datasets.reduce((acc, d) => acc + Math.max(0, d.values[j] ?? 0), 0)));
  }
  for (const d of spec.datasets) {
    for (const v of d.values) if (v !== null) marks.push(v);
    for (const w of d.whiskers ?? []) if (w) marks.push(w[1]);
    for (const ds of d.dots ?? []) marks.push(...ds);
  }
  return marks.length ? Math.max(...marks) : 1;
}

/**
 * A logarithmic x axis with a tick at each category's position and the category as its label (p50,
 * p90, ...), a little wider than the outermost points so their whiskers are not cut.
 */
function logX(spec: FigureSpec, xLog: NonNullable<FigureSpec['xLog']>) {
  const label = new Map(xLog.values.map((v, j) => [v, spec.categories[j]!]));
  return {
    type: 'logarithmic',
    min: Math.min(...xLog.values) / 1.5,
    max: Math.max(...xLog.values) * 1.5,
    afterBuildTicks: (axis: { ticks: { value: number }[] }) => {
      axis.ticks = xLog.values.map((value) => ({ value }));
    },
    ticks: { autoSkip: false, maxRotation: 0, callback: (value: number | string) => label.get(Number(value)) ?? '' },
    grid: { color: '#e4e4e4' },
    title: { display: true, text: xLog.title, font: { size: 12 } },
  };
}

/** The Chart.js configuration of a figure (exported for tests). */
export function chartConfig(spec: FigureSpec): ChartConfiguration {
  const subtitle = [`${directionWords(spec.direction)} · source: ${spec.sources.length ? spec.sources.join(', ') : 'not recorded'}`, spec.caption];
  const chars = spec.width === 'full' ? 120 : 80;
  const showLegend = spec.datasets.length > 1;
  return {
    type: spec.kind,
    data: {
      labels: spec.categories.map((c) => categoryLines(c, needsNarrowLabels(spec))),
      datasets: spec.datasets.map((d) => ({
        label: d.label,
        data: spec.xLog ? d.values.map((v, j) => ({ x: spec.xLog!.values[j]!, y: v })) : d.values,
        backgroundColor: d.color,
        borderColor: d.color,
        borderWidth: spec.kind === 'line' ? 2 : 0,
        ...(spec.kind === 'line' ? { pointRadius: 4, spanGaps: true, fill: false } : { maxBarThickness: 90 }),
      })),
    },
    options: {
      responsive: false,
      animation: false,
      devicePixelRatio: 2,
      layout: { padding: { left: 6, right: 14, top: 4, bottom: 4 } },
      plugins: {
        title: { display: true, text: wrap(spec.title, spec.width === 'full' ? 90 : 60), font: { size: 16, weight: 'bold' }, padding: { top: 4, bottom: 2 } },
        subtitle: { display: true, text: subtitle.flatMap((s) => wrap(s, chars)), font: { size: 12 }, color: '#444', padding: { bottom: 8 } },
        legend: { display: showLegend, position: 'bottom', labels: { boxWidth: 14 } },
      },
      scales: {
        x: spec.xLog ? logX(spec, spec.xLog) : { stacked: spec.stacked, offset: true, ticks: { font: { size: spec.categories.length > 6 ? 10 : 12 }, autoSkip: false, maxRotation: 0 } },
        y: {
          type: 'linear',
          stacked: spec.stacked,
          // Linear from zero, growing upward, so bar heights compare honestly and up always means more.
          beginAtZero: true,
          reverse: false,
          // Room above the highest whisker or dot for the value labels.
          suggestedMax: highestMark(spec) * 1.1,
          title: { display: true, text: spec.yLabel, font: { size: 12 } },
        },
      },
    },
    plugins: [overlay(spec)],
  } as ChartConfiguration;
}

/** Draw one figure to PNG. */
export async function renderFigure(spec: FigureSpec): Promise<Buffer> {
  const { width, height } = SIZES[spec.width];
  return canvasFor(width, height).renderToBuffer(chartConfig(spec) as never, 'image/png');
}

/** Draw every figure; a figure that fails carries its error instead of stopping the report. */
export async function renderFigures(specs: readonly FigureSpec[]): Promise<RenderedFigure[]> {
  const out: RenderedFigure[] = [];
  for (const spec of specs) {
    try {
      out.push({ spec, png: await renderFigure(spec) });
    } catch (err) {
      out.push({ spec, error: (err as Error).message });
    }
  }
  return out;
}
