// A variant of a path as a path of its own: the same descriptor with the variant's device
// properties appended to its NIC's `-device`, its own id (`<path>~<name>`), its own host resources
// (named after the variant, so that a path and its variants are up together in rounds), and the
// path's colour in a lighter shade, ordered right after the path in every report.

import { describeVariant, type VariantPlan } from '../config/variants.ts';
import type { NicBackend } from './types.ts';

/** `base` measured with `v`'s changes; `index` of `count` variants of that path sets its shade and order. */
export function variantPath(base: NicBackend, v: VariantPlan, index = 0, count = 1): NicBackend {
  if (v.of !== base.id) throw new Error(`variant ${v.id} is not a variant of ${base.id}`);
  const what = describeVariant(v);
  return {
    ...base,
    id: v.id,
    title: `${base.title}, ${v.name}`,
    summary: `${base.summary} Variant ${v.name}: ${what}.`,
    presentation: {
      ...base.presentation,
      // Right after its path, in the profile's order: paths are 10 apart, variants at most 32.
      order: base.presentation.order + (index + 1) / 100,
      color: lighten(base.presentation.color, 0.3 + (0.45 * (index + 1)) / (count + 1)),
      reference: false,
      variantOf: base.id,
      variant: v.name,
    },
    guestArgs: (g, env) => {
      const nic = base.guestArgs(g, env);
      const [first, ...rest] = nic.devices;
      if (!first) return nic;
      // Appended after the path's own properties; the profile check refuses any the path sets itself.
      return { ...nic, devices: [{ ...first, props: { ...first.props, ...v.device } }, ...rest] };
    },
    setUp: (scope, ctx) => base.setUp(scope, { ...ctx, variant: v.name }),
  };
}

/** `#RRGGBB` mixed with white: 0 keeps it, 1 is white. */
export function lighten(color: string, amount: number): string {
  const m = /^#([0-9A-Fa-f]{6})$/.exec(color);
  if (!m) return color;
  const n = parseInt(m[1]!, 16);
  const mix = (c: number) => Math.round(c + (255 - c) * Math.min(1, Math.max(0, amount)));
  const [r, g, b] = [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff].map(mix) as [number, number, number];
  return `#${[r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('').toUpperCase()}`;
}

/** Every series of a plan as a path: the registry's paths by id, and each variant derived from its path. */
export function seriesPaths(ids: readonly string[], variants: readonly VariantPlan[], paths: ReadonlyMap<string, NicBackend>): Map<string, NicBackend> {
  const out = new Map<string, NicBackend>();
  for (const id of ids) {
    const v = variants.find((x) => x.id === id);
    const base = paths.get(v ? v.of : id);
    if (!base) continue;
    if (!v) {
      out.set(id, base);
      continue;
    }
    const siblings = variants.filter((x) => x.of === v.of);
    out.set(id, variantPath(base, v, siblings.indexOf(v), siblings.length));
  }
  return out;
}
