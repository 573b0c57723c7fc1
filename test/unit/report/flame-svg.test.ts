// The flame graph SVG: well-formed XML whatever the frame names hold, frames as wide as their
// samples, coloured by kind, and a viewer script that cannot end its CDATA section early.

import { describe, expect, it } from 'vitest';
import { foldStacks, parsePerfScript } from '../../../harness/collectors/parse/perf-script.ts';
import { esc, flameTree, renderFlameSvg } from '../../../harness/report/flame-svg.ts';
import { fixtureText } from '../collectors/fixtures.ts';

/**
 * Throws unless `doc` is well-formed XML: one root element, every tag closed in order, attributes
 * quoted, `<` never in text or attribute values, `&` only as an entity. CDATA sections must not
 * hold `]]>` before their end (which the first `]]>` is, by definition).
 */
function assertWellFormed(doc: string): void {
  let s = doc.replace(/^<\?xml[^?]*\?>\s*/, '');
  s = s.replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  s = s.replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  const text = (t: string) => {
    if (/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(t)) throw new Error(`bare & in ${JSON.stringify(t.slice(0, 80))}`);
  };
  const tag = /^<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/;
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    const chunk = lt === -1 ? s.slice(i) : s.slice(i, lt);
    if (stack.length === 0 && chunk.trim() !== '') throw new Error(`text outside the root: ${chunk.slice(0, 40)}`);
    text(chunk);
    if (lt === -1) break;
    const m = tag.exec(s.slice(lt));
    if (!m) throw new Error(`malformed tag at ${JSON.stringify(s.slice(lt, lt + 80))}`);
    const [whole, close, name, attrs, self] = m;
    text(attrs!);
    const names = [...attrs!.matchAll(/([\w:.-]+)=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) throw new Error(`repeated attribute in <${name}>`);
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong element`);
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name!);
    } else if (stack.length === 0) roots++;
    i = lt + whole.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.at(-1)}>`);
  if (roots !== 1) throw new Error(`${roots} root elements`);
}

/** Every drawn frame: its kind, samples, name and geometry. */
function frames(svg: string) {
  const re = /<g class="f" data-kind="(\w+)" data-n="(\d+)" data-name="([^"]*)"><title>[^<]*<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g;
  return [...svg.matchAll(re)].map((m) => ({ kind: m[1]!, n: Number(m[2]), name: m[3]!, x: Number(m[4]), y: Number(m[5]), w: Number(m[6]) }));
}

const nodeFolded = () => foldStacks(parsePerfScript(fixtureText('perf-script', 'node-perf-basic-prof_-p_cpu-clock_-g_first-40-samples.txt')).samples, { roots: () => ['switch'] });

describe('renderFlameSvg', () => {
  it('is well-formed XML with names that hold < > & and quotes escaped', () => {
    const folded = new Map([
      ['qemu a;CPU 0/TCG;std::vector<int, std::allocator<int> >::push_back;a & b_[k]', 3],
      ['qemu a;CPU 0/TCG;JS:*f "x" \'y\' /w.js:1:2_[j]', 2],
      ['qemu b;]]>;<script>alert(1)</script>', 1],
    ]);
    const svg = renderFlameSvg(folded, { title: 'a < b & "c"', subtitle: "it's" });
    assertWellFormed(svg);
    expect(svg).toContain('std::vector&lt;int, std::allocator&lt;int&gt; &gt;::push_back');
    expect(svg).toContain('data-name="a &amp; b"');
    expect(svg).toContain('JS:*f &quot;x&quot; &#39;y&#39;');
    expect(svg).not.toContain('<script>alert');
    expect(svg).toContain('a &lt; b &amp; &quot;c&quot;');
    // The viewer's CDATA section ends only where the script does.
    expect(svg.split(']]>').length - 1).toBe(1);
    expect(svg.indexOf(']]>')).toBeGreaterThan(svg.indexOf('<script><![CDATA['));
  });

  it('draws frames as wide as their samples: siblings fill their caller, the root the whole width', () => {
    const folded = nodeFolded();
    const svg = renderFlameSvg(folded, { title: 'switch', width: 1000, minFramePx: 0 });
    assertWellFormed(svg);
    const fs = frames(svg);
    const root = fs.find((f) => f.name === 'all')!;
    expect(root.n).toBe(40);
    expect(root.w).toBeCloseTo(1000 - 20, 1);
    expect(svg).toContain('data-samples="40"');
    // Each frame's direct callees (one row up, inside its span) add up to its samples and width,
    // less the samples whose stack ends in it.
    const tree = flameTree(folded);
    const check = (node: ReturnType<typeof flameTree>) => {
      const inChildren = [...node.children.values()].reduce((a, c) => a + c.samples, 0);
      expect(inChildren).toBeLessThanOrEqual(node.samples);
      node.children.forEach(check);
    };
    check(tree);
    const rows = new Map<number, typeof fs>();
    for (const f of fs) rows.set(f.y, [...(rows.get(f.y) ?? []), f]);
    for (const f of fs) {
      const above = (rows.get(f.y - 16) ?? []).filter((c) => c.x >= f.x - 0.02 && c.x + c.w <= f.x + f.w + 0.02);
      const w = above.reduce((a, c) => a + c.w, 0);
      const n = above.reduce((a, c) => a + c.n, 0);
      expect(n).toBeLessThanOrEqual(f.n);
      expect(w).toBeCloseTo((f.w * n) / f.n, 0);
    }
    // The second row holds the one root frame given, over every sample.
    expect(fs.filter((f) => f.y === root.y - 16).map((f) => [f.name, f.n])).toEqual([['switch', 40]]);
  });

  it('colours frames by kind: kernel, JIT JavaScript, native, with a legend', () => {
    const svg = renderFlameSvg(nodeFolded(), { title: 't', minFramePx: 0 });
    const fs = frames(svg);
    expect(fs.some((f) => f.kind === 'jit' && f.name.startsWith('JS:*fib'))).toBe(true);
    expect(fs.some((f) => f.kind === 'native' && f.name.startsWith('Builtins_'))).toBe(true);
    const sh = renderFlameSvg(foldStacks(parsePerfScript(fixtureText('perf-script', 'sh-loop_cpu-clock_-g.txt')).samples), { title: 't' });
    expect(frames(sh).some((f) => f.kind === 'kernel' && f.name === 'pvm_irq_enable')).toBe(true);
    const hue = (kind: string, doc: string) => {
      const m = new RegExp(`data-kind="${kind}"[^>]*><title>[^<]*</title><rect [^>]*fill="hsl\\(([\\d.]+),`).exec(doc);
      return Number(m![1]);
    };
    expect(hue('kernel', sh)).toBeGreaterThanOrEqual(20);
    expect(hue('kernel', sh)).toBeLessThanOrEqual(40);
    expect(hue('jit', svg)).toBeGreaterThanOrEqual(95);
    for (const label of ['kernel', 'JIT JavaScript', 'native']) expect(svg).toContain(`>${label}</text>`);
  });

  it('leaves out frames narrower than the limit, never the root', () => {
    const folded = new Map([['a;b', 10_000], ['a;c', 1]]);
    const names = frames(renderFlameSvg(folded, { title: 't', width: 500, minFramePx: 1 })).map((f) => f.name);
    expect(names).toEqual(['all', 'a', 'b']);
  });

  it('says so when nothing was sampled', () => {
    const svg = renderFlameSvg(new Map(), { title: 'empty' });
    assertWellFormed(svg);
    expect(svg).toContain('No samples were recorded.');
    expect(frames(svg)).toEqual([]);
  });
});

describe('esc', () => {
  it('escapes the XML specials and replaces characters XML forbids', () => {
    expect(esc(`<a href="x">&'\u0001`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;?');
  });
});
