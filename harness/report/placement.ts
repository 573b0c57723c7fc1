// The report's CPU placement and host readiness: per path, which core held what (and what shared a
// core), whether the kernel then allowed each group of threads exactly there, and the load of other
// processes while it ran; per run, each readiness item with its status and fix. Renderer-neutral
// tables (summary.ts's Table) plus the lines both renderers print.

import type { PlacementRecord, ReadinessRecord } from '../run/record.ts';
import type { BackendView, ReportModel } from './model.ts';
import type { Table } from './summary.ts';

/** What ran on each core of a path, a row per core. */
export function coresTable(b: BackendView, p: PlacementRecord): Table | undefined {
  if (!p.units?.length) return undefined;
  const cores = [...new Set(p.units.map((u) => u.cpu))].sort((x, y) => x - y);
  return {
    caption: `${b.id}: CPU placement ${p.policy} on CPUs ${p.cpus}`,
    columns: [
      { text: 'Core', num: true },
      { text: 'What runs there', num: false },
      { text: 'Shared', num: false },
    ],
    rows: cores.map((c) => {
      const here = p.units!.filter((u) => u.cpu === c);
      return [{ text: String(c), ...(c === p.housekeeping ? { note: 'housekeeping' } : {}) }, { text: here.map((u) => u.what).join('; ') }, { text: here.length > 1 ? `yes, ${here.length} units` : 'no' }];
    }),
  };
}

/** Threads by role and kind: how many, where they were pinned, where the kernel allowed them (read back). */
export function threadsTable(b: BackendView, p: PlacementRecord): Table {
  const groups = new Map<string, { role: string; kind: string; n: number; pinned: Set<string>; allowed: Set<string>; mismatched: number }>();
  for (const t of p.threads) {
    const k = `${t.role}\u0000${t.kind}`;
    const g = groups.get(k) ?? { role: t.role, kind: t.kind, n: 0, pinned: new Set<string>(), allowed: new Set<string>(), mismatched: 0 };
    g.n++;
    g.pinned.add(t.pinned ?? 'not pinned');
    g.allowed.add(t.allowed);
    if (t.pinned !== undefined && t.pinned !== t.allowed) g.mismatched++;
    groups.set(k, g);
  }
  return {
    caption: `${b.id}: where each thread was allowed to run (Cpus_allowed_list, read back after placement)`,
    columns: [
      { text: 'Process', num: false },
      { text: 'Threads', num: false },
      { text: 'Count', num: true },
      { text: 'Pinned to', num: false },
      { text: 'Allowed', num: false },
    ],
    rows: [...groups.values()].map((g) => [
      { text: g.role },
      { text: g.kind },
      { text: String(g.n) },
      { text: [...g.pinned].join(', ') },
      { text: [...g.allowed].join(', '), ...(g.mismatched ? { note: `${g.mismatched} not where pinned` } : {}) },
    ]),
  };
}

/** One line per path: the policy, what shares a core, the other load, any thread that could not be pinned, and the paths up beside it. */
export function placementLines(b: BackendView, p: PlacementRecord): string[] {
  const out: string[] = [];
  if (p.policy === 'none') out.push(`${b.id}: placement none: no thread was pinned; each may run on CPUs ${p.cpus}, wherever the scheduler puts it.`);
  else if (p.shared?.length) out.push(`${b.id}: fewer cores than busy units, so these share a core: ${p.shared.map((s) => `core ${s.cpu}: ${s.units.join(', ')}`).join('; ')}.`);
  else out.push(`${b.id}: every unit has a core of its own.`);
  const mismatched = p.threads.filter((t) => t.pinned !== undefined && t.pinned !== t.allowed);
  if (mismatched.length) out.push(`${b.id}: ${mismatched.length} thread(s) are not where they were pinned (${mismatched.slice(0, 3).map((t) => `${t.role} ${t.comm}: pinned ${t.pinned}, allowed ${t.allowed}`).join('; ')}).`);
  for (const n of p.notes) out.push(`${b.id}: ${n}`);
  if (p.alongside?.length) {
    out.push(`${b.id}: placed as if alone; the guests of ${p.alongside.join(', ')} were up at the same time on the same cores, paused (virtual CPUs stopped, busy pollers quiet), while ${b.id} was measured.`);
  }
  if (p.otherLoad) out.push(`${b.id}: other load ${p.otherLoad.status === 'not-ready' ? '(host not quiet)' : `(${p.otherLoad.status})`}: ${p.otherLoad.detail}.`);
  return out;
}

/** The readiness items as a table: status, what was found, the fix. */
export function readinessTable(r: ReadinessRecord, run: string): Table {
  return {
    caption: `Host readiness of run ${run}: ${r.ready ? 'ready' : 'NOT READY'}`,
    columns: [
      { text: 'Item', num: false },
      { text: 'Status', num: false },
      { text: 'Found', num: false },
      { text: 'Fix', num: false },
    ],
    rows: r.items.map((i) => [{ text: i.title }, { text: i.status }, { text: i.detail }, { text: i.status === 'not-ready' ? (i.fix ?? '') : '' }]),
  };
}

/** The paths of the current runs that recorded a placement. */
export function placedPaths(model: ReportModel): { b: BackendView; p: PlacementRecord }[] {
  return model.backends.flatMap((b) => (b.placement ? [{ b, p: b.placement }] : []));
}

/** A sentence a reader sees at once when the host was not ready. */
export function notReadyLine(r: ReadinessRecord): string | undefined {
  const bad = r.items.filter((i) => i.status === 'not-ready');
  if (!bad.length) return undefined;
  return `This host was not set up for repeatable numbers: ${bad.map((i) => i.title).join(', ')} not ready (fixes in the table).`;
}
