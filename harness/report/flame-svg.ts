// A flame graph as one self-contained SVG file, drawn from folded stacks (harness/collectors/parse/
// perf-script.ts): the outermost frame at the bottom, each frame as wide as the samples whose stack
// passes through it, callees stacked above their caller. Colour says what ran: kernel, JIT-compiled
// JavaScript, or native code; the hue varies a little by name so neighbours stay apart.
//
// Opened on its own (a link from the report), the file needs nothing from outside: the inline
// script zooms into a frame on click, resets on a click of "Reset zoom" or Escape, and highlights
// the frames whose name matches a search (Ctrl-F or "Search"), with the share of samples they cover.
// Every name is escaped: symbols hold `<`, `>`, `&` and quotes (C++ templates, JavaScript source paths).

import { unfoldFrame, type FrameKind } from '../collectors/parse/perf-script.ts';

export interface FlameOptions {
  title: string;
  /** A line under the title (what was sampled, when, at what rate). */
  subtitle?: string;
  /** Width of the drawing in pixels. */
  width?: number;
  /** Frames narrower than this many pixels are left out (their samples still count in their callers). */
  minFramePx?: number;
}

/** One frame of the merged call tree. */
interface Node {
  name: string;
  kind: FrameKind;
  samples: number;
  children: Map<string, Node>;
}

const FRAME_H = 16;
const TOP = 64;
const BOTTOM = 8;
const PAD = 10;
/** Width of one character of the 12px monospace labels, to cut names that do not fit. */
const CHAR_PX = 7.2;

export const FLAME_COLOURS: Readonly<Record<FrameKind, { hue: [number, number]; label: string }>> = {
  kernel: { hue: [20, 40], label: 'kernel' },
  jit: { hue: [95, 135], label: 'JIT JavaScript' },
  native: { hue: [0, 12], label: 'native' },
};

/** The merged call tree under one root frame `all`. */
export function flameTree(folded: ReadonlyMap<string, number>): Node {
  const root: Node = { name: 'all', kind: 'native', samples: 0, children: new Map() };
  for (const [stack, n] of folded) {
    if (n <= 0) continue;
    root.samples += n;
    let node = root;
    for (const part of stack.split(';')) {
      let child = node.children.get(part);
      if (!child) {
        const f = unfoldFrame(part);
        child = { name: f.name, kind: f.kind, samples: 0, children: new Map() };
        node.children.set(part, child);
      }
      child.samples += n;
      node = child;
    }
  }
  return root;
}

/** Render folded stacks as a standalone SVG document. */
export function renderFlameSvg(folded: ReadonlyMap<string, number>, o: FlameOptions): string {
  const width = o.width ?? 1200;
  const minPx = o.minFramePx ?? 0.1;
  const root = flameTree(folded);
  const plotW = width - 2 * PAD;
  const perSample = root.samples > 0 ? plotW / root.samples : 0;
  const depth = maxDepth(root, perSample, minPx);
  const height = TOP + (depth + 1) * FRAME_H + BOTTOM + 20;
  const base = height - BOTTOM - 20 - FRAME_H; // y of the bottom (root) row
  const frames: string[] = [];
  const draw = (node: Node, x: number, level: number): void => {
    const w = node.samples * perSample;
    if (w < minPx && level > 0) return;
    const y = base - level * FRAME_H;
    const share = root.samples > 0 ? (100 * node.samples) / root.samples : 0;
    const tip = `${node.name} (${node.samples} sample${node.samples === 1 ? '' : 's'}, ${share.toFixed(2)} %)`;
    frames.push(
      `<g class="f" data-kind="${node.kind}" data-n="${node.samples}" data-name="${esc(node.name)}">` +
        `<title>${esc(tip)}</title>` +
        `<rect x="${fix(x)}" y="${y}" width="${fix(w)}" height="${FRAME_H - 1}" fill="${colour(node)}" rx="2"/>` +
        `<text x="${fix(x + 3)}" y="${y + FRAME_H - 4}">${esc(fit(node.name, w))}</text></g>`,
    );
    let cx = x;
    for (const child of [...node.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      draw(child, cx, level + 1);
      cx += child.samples * perSample;
    }
  };
  if (root.samples > 0) draw(root, PAD, 0);
  const legend = (Object.keys(FLAME_COLOURS) as FrameKind[])
    .map((k, i) => {
      const x = PAD + i * 150;
      return `<rect x="${x}" y="${height - 18}" width="12" height="12" fill="${colour({ name: '', kind: k })}"/><text x="${x + 16}" y="${height - 8}">${esc(FLAME_COLOURS[k].label)}</text>`;
    })
    .join('');
  const empty = root.samples === 0 ? `<text x="${PAD}" y="${TOP + 20}">No samples were recorded.</text>` : '';
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-samples="${root.samples}" data-pad="${PAD}">
<style>
text { font: 12px ui-monospace, Menlo, Consolas, monospace; fill: #000; }
#title { font-size: 17px; text-anchor: middle; }
#subtitle { fill: #555; text-anchor: middle; }
.btn { fill: #0645ad; cursor: pointer; }
.f { cursor: pointer; }
.f:hover rect { stroke: #000; stroke-width: 0.6; }
.f text { pointer-events: none; }
.hit rect { fill: #e040e0 !important; }
.hidden { display: none; }
</style>
<rect x="0" y="0" width="${width}" height="${height}" fill="#fdfdf6"/>
<text id="title" x="${width / 2}" y="22">${esc(o.title)}</text>
<text id="subtitle" x="${width / 2}" y="40">${esc(o.subtitle ?? '')}</text>
<text id="reset" class="btn hidden" x="${PAD}" y="40">Reset zoom</text>
<text id="search" class="btn" x="${width - PAD - 100}" y="40">Search</text>
<text id="matched" x="${width - PAD - 100}" y="${height - 8}"></text>
<text id="details" x="${PAD}" y="${TOP - 8}"> </text>
<g id="frames">
${frames.join('\n')}
</g>
${legend}${empty}
<script><![CDATA[
${SCRIPT}
]]></script>
</svg>
`;
}

/** Deepest level drawn (frames at least minPx wide). */
function maxDepth(node: Node, perSample: number, minPx: number, level = 0): number {
  let d = level;
  for (const c of node.children.values()) if (c.samples * perSample >= minPx) d = Math.max(d, maxDepth(c, perSample, minPx, level + 1));
  return d;
}

/** The frame's colour: the hue range of its kind, a point in it chosen by its name. */
function colour(node: { name: string; kind: FrameKind }): string {
  const [lo, hi] = FLAME_COLOURS[node.kind].hue;
  const h = hash(node.name);
  const hue = lo + (h % 1000) / 1000 * (hi - lo);
  const light = 52 + ((h >>> 10) % 100) / 100 * 14;
  return `hsl(${hue.toFixed(1)},78%,${light.toFixed(1)}%)`;
}

/** FNV-1a, for a stable colour per name. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The label that fits in w pixels: the whole name, its start with "..", or nothing. */
function fit(name: string, w: number): string {
  const chars = Math.floor((w - 6) / CHAR_PX);
  if (chars < 3) return '';
  return name.length <= chars ? name : `${name.slice(0, chars - 2)}..`;
}

const fix = (n: number) => (Math.round(n * 100) / 100).toString();

/** Text and attribute values of XML: the five characters that could end either. */
export function esc(s: string): string {
  // Characters XML 1.0 forbids anywhere (control characters from a mangled symbol) go too.
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '?').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

// The viewer. Frames keep their drawn geometry in data attributes on first use, so a zoom is always
// computed from the original layout. Plain ES5-level DOM code: it runs in any browser's SVG viewer.
const SCRIPT = String.raw`(function () {
  var svg = document.documentElement;
  var pad = Number(svg.getAttribute('data-pad'));
  var total = Number(svg.getAttribute('data-samples'));
  var width = Number(svg.getAttribute('width')) - 2 * pad;
  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
  var details = document.getElementById('details');
  var reset = document.getElementById('reset');
  var matched = document.getElementById('matched');
  var CHAR = ${CHAR_PX};
  frames.forEach(function (g) {
    var r = g.querySelector('rect');
    g.__x = Number(r.getAttribute('x'));
    g.__w = Number(r.getAttribute('width'));
    g.__y = Number(r.getAttribute('y'));
  });
  function label(g, w) {
    var name = g.getAttribute('data-name');
    var chars = Math.floor((w - 6) / CHAR);
    if (chars < 3) return '';
    return name.length <= chars ? name : name.slice(0, chars - 2) + '..';
  }
  function place(g, x, w) {
    var r = g.querySelector('rect');
    var t = g.querySelector('text');
    r.setAttribute('x', x.toFixed(2));
    r.setAttribute('width', w.toFixed(2));
    t.setAttribute('x', (x + 3).toFixed(2));
    t.textContent = label(g, w);
  }
  function zoom(target) {
    var x0 = target.__x, w0 = target.__w, y0 = target.__y;
    var scale = width / w0;
    frames.forEach(function (g) {
      var inside = g.__x >= x0 - 0.01 && g.__x + g.__w <= x0 + w0 + 0.01;
      if (g.__y <= y0 && inside) {
        g.classList.remove('hidden');
        place(g, pad + (g.__x - x0) * scale, g.__w * scale);
      } else if (g.__y > y0 && g.__x <= x0 + 0.01 && g.__x + g.__w >= x0 + w0 - 0.01) {
        // a caller of the zoomed frame: drawn full width beneath it
        g.classList.remove('hidden');
        place(g, pad, width);
      } else {
        g.classList.add('hidden');
      }
    });
    reset.classList.remove('hidden');
  }
  function unzoom() {
    frames.forEach(function (g) {
      g.classList.remove('hidden');
      place(g, g.__x, g.__w);
    });
    reset.classList.add('hidden');
  }
  function search(term) {
    var hits = 0;
    var counted = [];
    frames.forEach(function (g) {
      var hit = term !== '' && g.getAttribute('data-name').indexOf(term) !== -1;
      if (hit) {
        g.classList.add('hit');
        // count a matching frame only when no matching caller below it was counted already
        var covered = counted.some(function (c) { return c.__y > g.__y && g.__x >= c.__x - 0.01 && g.__x + g.__w <= c.__x + c.__w + 0.01; });
        if (!covered) { counted.push(g); hits += Number(g.getAttribute('data-n')); }
      } else g.classList.remove('hit');
    });
    matched.textContent = term === '' ? '' : 'Matched: ' + (total ? (100 * hits / total).toFixed(1) : '0') + ' %';
  }
  frames.forEach(function (g) {
    g.addEventListener('click', function () { zoom(g); });
    g.addEventListener('mouseover', function () { details.textContent = g.querySelector('title').textContent; });
    g.addEventListener('mouseout', function () { details.textContent = ' '; });
  });
  reset.addEventListener('click', unzoom);
  document.getElementById('search').addEventListener('click', function () {
    var term = window.prompt('Highlight frames whose name contains:', '');
    if (term !== null) search(term);
  });
  window.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { unzoom(); search(''); }
    if ((e.ctrlKey || e.metaKey) && e.key === 'f') {
      e.preventDefault();
      var term = window.prompt('Highlight frames whose name contains:', '');
      if (term !== null) search(term);
    }
  });
})();`;
