// Public surface of the report module: loading runs, the model, every renderer, and comparison.

export { loadRun, type LoadedRun } from './load.ts';
export { buildReportModel, analyseRun, analyseCosts, headlineSeries, runInputs, verdictLine, type BuildOptions } from './build.ts';
export { costSeries, regionRole, packetSizes, costLabel, variantLabel, variantOf, COST_METRICS, type CostSeries, type CostCount, type CostBasis, type LeftOut, type PacketSize } from './costs.ts';
export { idleViews, idleWindowSec, IDLE_SCENARIO, type IdleView, type IdleCount, type IdleCpu } from './idle.ts';
export { scenarioBlocks, ratioMatrix, idleTable, costMethodNotes, type Table, type Cell, type Column, type ScenarioBlock } from './summary.ts';
export { REPORT_SCHEMA, type ReportModel, type RunView, type BackendView, type RatioView, type TrendSeries, type TrendPoint, type MethodNotes } from './model.ts';
export { buildFigures, orderedScenarios, TREND_METRICS, MIN_WHISKER_N } from './figures.ts';
export type { FigureSpec, FigureDataset, FigureSection } from './figure-spec.ts';
export { renderFigure, renderFigures, chartConfig, type RenderedFigure } from './charts.ts';
export { renderHtml, type HtmlOptions } from './html.ts';
export { renderMarkdown, SUMMARY_METRICS } from './markdown.ts';
export { renderCsv, renderStatsJson, STATS_SCHEMA } from './exports.ts';
export { printPdf, findChromium, openBrowser, CHROMIUM_ARGS, type PdfOutcome, type BrowserSession } from './pdf.ts';
export { renderReports, type RenderOptions, type RenderResult } from './render.ts';
export { compareRuns, compareLoaded, COMPARE_SCHEMA, type CompareOptions, type CompareResult, type ComparisonRow, type Verdict } from './compare.ts';
export { renderCompareMarkdown, renderCompareHtml, writeComparison } from './compare-render.ts';
