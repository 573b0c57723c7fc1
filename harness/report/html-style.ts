// The style sheet of the HTML report, for the screen and for A4 paper (the PDF is printed from it).

export const REPORT_CSS = `
:root { --fg: #1b1b1b; --muted: #5a5a5a; --line: #d9d9d9; --bg-soft: #f5f6f8; --ok: #1a7f37; --warn: #9a6700; --err: #c4271c; --note: #0b5cad; }
* { box-sizing: border-box; }
body { font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1100px; padding: 24px 28px 48px; font-size: 14px; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 6px; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p.verdict { font-size: 16px; font-weight: 600; margin: 8px 0; padding: 10px 14px; background: var(--bg-soft); border-left: 4px solid var(--note); }
p.meta, .muted { color: var(--muted); font-size: 12.5px; }
.banner { padding: 10px 14px; margin: 10px 0; border-left: 4px solid var(--err); background: #fdecea; }
.banner.lab { border-left-color: var(--warn); background: #fff4e0; }
nav.toc { font-size: 13px; margin: 10px 0 4px; }
nav.toc a { margin-right: 12px; color: var(--note); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 7px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
table.summary { table-layout: fixed; }
table.summary tr.group th { background: #fff; border-bottom: 1px solid #999; padding-top: 10px; font-size: 12.5px; }
table.summary tr.group .muted { font-weight: normal; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { white-space: normal; }
th.group { text-align: center; border-bottom: 1px solid #bbb; }
th .muted { font-weight: normal; font-size: 11px; }
td .muted { font-size: 11px; white-space: normal; }
td.c, th.c { text-align: center; }
caption { caption-side: top; text-align: left; font-size: 12px; color: var(--muted); padding: 2px 0 4px; }
td.noisy sup, p sup { color: var(--warn); font-weight: 600; }
p.note { margin: 4px 0 8px; padding: 6px 10px; border-left: 3px solid var(--warn); background: #fbf6ea; font-size: 12.5px; }
ul.notes { margin: 4px 0 10px; padding-left: 18px; font-size: 12.5px; }
ul.notes li { margin: 2px 0; }
ul.features { margin: 4px 0 10px; padding-left: 18px; font-size: 12.5px; }
ul.features li { margin: 3px 0; }
div.scenario { margin-bottom: 10px; }
div.scenario h3 .muted { font-weight: normal; font-size: 12.5px; }
code, .mono { font-family: 'DejaVu Sans Mono', monospace; font-size: 11.5px; word-break: break-all; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11.5px; font-weight: 600; color: #fff; white-space: nowrap; }
.badge.ok, .badge.better { background: var(--ok); }
.badge.skipped, .badge.note, .badge.neutral { background: var(--note); }
.badge.partial, .badge.warning, .badge.running, .badge.pending { background: var(--warn); }
.badge.failed, .badge.error, .badge.worse { background: var(--err); }
.badge.same { background: #777; }
.dir { color: var(--muted); font-size: 11px; white-space: nowrap; }
.figures { display: flex; flex-wrap: wrap; gap: 14px 2%; }
figure { margin: 0; width: 100%; }
figure.half { width: 49%; }
figure img { width: 100%; height: auto; border: 1px solid var(--line); display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.figure-error { border: 1px dashed var(--err); padding: 10px; color: var(--err); width: 100%; }
ul.warnings { list-style: none; padding: 0; }
ul.warnings li { padding: 6px 0; border-bottom: 1px solid var(--line); }
ul.warnings ul.findings { margin: 4px 0 0; padding-left: 20px; list-style: disc; }
ul.warnings ul.findings li { padding: 2px 0; border-bottom: none; }
.advice { color: var(--muted); }
.features code { padding: 0 3px; background: var(--bg-soft); border-radius: 3px; word-break: normal; }
dl.prov { display: grid; grid-template-columns: 190px 1fr; gap: 2px 12px; font-size: 12.5px; margin: 6px 0 14px; }
dl.prov dt { color: var(--muted); }
dl.prov dd { margin: 0; }
footer { margin-top: 36px; font-size: 11.5px; color: var(--muted); }
@page { size: A4; margin: 14mm 12mm 16mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 9.5pt; }
  nav.toc { display: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  h3, p.lead { break-after: avoid; page-break-after: avoid; }
  figure, .figure-error, table.keep, dl.prov, ul.warnings li, tr, p.verdict, .banner, p.note { break-inside: avoid; page-break-inside: avoid; }
  table { font-size: 8.5pt; }
  p.verdict { font-size: 10.5pt; padding: 6px 10px; }
  figcaption { font-size: 7.5pt; }
  h2 { margin-top: 18px; }
  footer { margin-top: 10px; break-before: avoid; page-break-before: avoid; }
  section#methods { break-inside: avoid; page-break-inside: avoid; }
  td .muted, th .muted { font-size: 7.5pt; }
  thead { display: table-header-group; }
  .figures { display: flex; flex-wrap: wrap; gap: 0 2%; }
  figure { margin-bottom: 8px; }
  figure.half { width: 49%; }
  a { color: inherit; text-decoration: none; }
  section.page { break-before: page; page-break-before: always; }
}
`;
