// What a reader of the report must know about how a run went, as warnings: a partial run, failed or
// blocked paths, failed repetitions (one warning per reason), the runner's notes on repetitions
// (merged when they say the same thing; a path starved of CPU among them), collectors that could
// not count, and series that followed the host's speed rather than the path's.

import type { BackendOutcome, RepOutcome } from '../run/record.ts';
import type { Warning } from '../stats/warnings.ts';
import { regionRole } from './costs.ts';
import { hostSpeedWarnings } from './host-speed.ts';
import { IDLE_SCENARIO } from './idle.ts';
import type { CollectorAvailability, LoadedRun } from './load.ts';

/** Every finding about one run that is not about a series' numbers. */
export function runWarnings(r: LoadedRun): Warning[] {
  const out: Warning[] = [];
  const run = r.record.run;
  if (r.partial) {
    out.push({
      code: 'partial-run',
      severity: 'error',
      subject: { host: r.host, run },
      message: `run ${run} is partial: ${r.partialReasons.join('; ')}`,
      advice: 'the numbers below cover only what was measured before it stopped; re-run the missing paths before drawing conclusions',
    });
  }
  const measured = new Set(r.samples.filter((s) => !s.warmup && s.scenario !== IDLE_SCENARIO).map((s) => s.backend));
  for (const b of r.record.backends) {
    const subject = { host: r.host, run, backend: b.id };
    if (b.status === 'failed' || b.status === 'blocked') {
      out.push({ code: 'backend-failed', severity: 'error', subject, message: `path ${b.status === 'failed' ? 'failed' : 'was not run'}: ${b.reason ?? 'no reason recorded'}`, ...(b.fix ? { advice: b.fix } : {}) });
    }
    if ((b.status === 'ok' || b.status === 'partial') && !measured.has(b.id)) {
      out.push({ code: 'no-samples', severity: 'error', subject, message: `path is marked "${b.status}" but has no measured samples`, advice: 'check samples.ndjson and the run log; this run should not be trusted for this path' });
    }
    out.push(...failedRepWarnings(r.host, run, b), ...repNoteWarnings(r.host, run, b, r.record.provenance?.cpuCount), ...refusedWarnings(r.host, run, b));
  }
  out.push(...collectorWarnings(r), ...hostSpeedWarnings(r));
  return out;
}

/**
 * One warning per device property of a variant that the guests did not get as asked: the series
 * then measures something else than its name says.
 */
function refusedWarnings(host: string, run: string, b: BackendOutcome): Warning[] {
  const refused = b.variant?.refused ?? [];
  const byProperty = new Map<string, typeof refused>();
  for (const x of refused) byProperty.set(x.property, [...(byProperty.get(x.property) ?? []), x]);
  return [...byProperty.values()].map((list) => {
    const x = list[0]!;
    return {
      code: 'variant-refused' as const,
      severity: 'warning' as const,
      subject: { host, run, backend: b.id },
      message: `${x.property}=${x.asked ? 'on' : 'off'} was not followed: ${x.feature} was ${x.negotiated ? '' : 'not '}negotiated by guest${list.length > 1 ? 's' : ''} ${list.map((y) => y.guest).join(', ')}`,
      advice: x.asked
        ? 'the back-end or the guest\'s driver does not offer this feature; this series measures the path without it'
        : 'the device or its back-end kept offering the feature; this series does not measure the path without it',
    };
  });
}

/** One warning per path, scenario and failure reason, naming every repetition it struck. */
function failedRepWarnings(host: string, run: string, b: BackendOutcome): Warning[] {
  const groups = new Map<string, RepOutcome[]>();
  for (const rep of b.reps) {
    if (rep.status !== 'failed') continue;
    const k = [rep.scenario, rep.warmup, rep.reason ?? ''].join('\u0000');
    groups.set(k, [...(groups.get(k) ?? []), rep]);
  }
  return [...groups.values()].map((reps) => {
    const r0 = reps[0]!;
    const which = reps.length === 1 ? `repetition ${r0.rep}` : `repetitions ${reps.map((x) => x.rep).join(', ')}`;
    return {
      code: 'failed-rep' as const,
      severity: 'warning' as const,
      subject: { host, run, backend: b.id, scenario: r0.scenario },
      message: `${r0.warmup ? 'warm-up ' : ''}${which} failed${r0.reason ? `: ${r0.reason}` : ''}; ${reps.length === 1 ? 'its' : 'their'} samples are excluded`,
      advice: 'look at its raw output in the run folder',
    };
  });
}

/**
 * The runner's remarks on single repetitions (a collector that failed, a count clamped at its idle
 * level), merged when they say the same thing: numbers and the guest's name are masked to group
 * them, the first one is quoted, and the repetitions are counted.
 */
function repNoteWarnings(host: string, run: string, b: BackendOutcome, cpuCount?: number): Warning[] {
  const groups = new Map<string, { text: string; reps: Set<string>; scenarios: Set<string>; count: number }>();
  for (const rep of b.reps) {
    for (const note of rep.notes ?? []) {
      const k = note.replace(/guest=\S+/g, 'guest=*').replace(/-?\d+(\.\d+)?/g, '#');
      const g = groups.get(k) ?? { text: note, reps: new Set<string>(), scenarios: new Set<string>(), count: 0 };
      g.reps.add(`${rep.scenario}${rep.warmup ? ' warm-up' : ''} #${rep.rep}`);
      g.scenarios.add(rep.scenario);
      g.count++;
      groups.set(k, g);
    }
  }
  const findings = [...groups.values()].map((g) => {
    const region = /region=(.+?):/.exec(g.text)?.[1];
    return { g, role: region ? regionRole(region) : undefined };
  });
  // A count clamped in a region that no sum includes (a timer, a device's own interrupt writes)
  // changes no figure of the report: the Methods name those regions once, and that is enough.
  return findings.filter(({ role }) => !role || role.counted).map(({ g }) => {
    const reps = [...g.reps];
    // A note of one scenario belongs with that scenario's other findings; one of several, with the path.
    const subject = { host, run, backend: b.id, ...(g.scenarios.size === 1 ? { scenario: [...g.scenarios][0]! } : {}) };
    // A thread that got clearly less CPU under load than at rest was starved: the host's CPUs were oversubscribed.
    const cpu = /^hostCpu role=(.+?) .*idle baseline \(([\d.]+)\) exceeds the measured ([\d.]+)/.exec(g.text);
    const starved = cpu && Number(cpu[3]) < 0.75 * Number(cpu[2]);
    const base = `${g.text}${g.count > 1 ? ` (and ${g.count - 1} more like it)` : ''}, in ${reps.length} repetition${reps.length > 1 ? 's' : ''}: ${reps.join(', ')}`;
    if (starved) {
      return {
        code: 'cpu-starved' as const,
        severity: 'warning' as const,
        subject,
        message: `${base}; ${cpu[1]} got less CPU under load than at rest: the host's ${cpuCount ? `${cpuCount} CPUs were` : 'CPUs were'} oversubscribed, so ${b.id}'s results are limited by CPU contention`,
        advice: 'run on a host with more CPUs than the guests\' vCPUs plus the switch\'s polling cores, or pin them to separate cores',
      };
    }
    return {
      code: 'rep-note' as const,
      severity: 'note' as const,
      subject,
      message: base,
    };
  });
}

/**
 * Collectors that could not count, merged across paths when the reason is the same, and across
 * collectors when the reasons share their cause (the words before the first colon, e.g. "the
 * guests run under TCG"): one finding per cause, its details joined.
 */
function collectorWarnings(r: LoadedRun): Warning[] {
  const perPath = r.record.backends.filter((b) => b.collectors?.length);
  const entries = perPath.length
    ? perPath.flatMap((b) => (b.collectors ?? []).map((c) => ({ backend: b.id, c })))
    : r.collectors.map((c) => ({ backend: '', c }));
  const groups = new Map<string, { ids: Set<string>; backends: Set<string>; c: CollectorAvailability }>();
  for (const { backend, c } of entries) {
    if (c.available) continue;
    const k = `${c.reason ?? ''}\u0000${c.fix ?? ''}`;
    const g = groups.get(k) ?? { ids: new Set<string>(), backends: new Set<string>(), c };
    g.ids.add(c.id);
    if (backend) g.backends.add(backend);
    groups.set(k, g);
  }
  const all = perPath.map((b) => b.id);
  const where = (backends: Set<string>) =>
    backends.size === 0 ? '' : backends.size === all.length ? (all.length > 1 ? ' on every measured path' : ` on ${all[0]}`) : ` on ${[...backends].join(', ')}`;
  const causes = new Map<string, { cause: string; parts: { ids: string[]; backends: Set<string>; detail: string }[]; fixes: Set<string> }>();
  for (const g of groups.values()) {
    const reason = g.c.reason ?? 'no reason recorded';
    const cut = reason.indexOf(': ');
    const cause = cut > 0 ? reason.slice(0, cut) : reason;
    const k = `${cause}\u0000${where(g.backends)}`;
    const c = causes.get(k) ?? { cause, parts: [], fixes: new Set<string>() };
    c.parts.push({ ids: [...g.ids], backends: g.backends, detail: cut > 0 ? reason.slice(cut + 2) : '' });
    if (g.c.fix) c.fixes.add(g.c.fix);
    causes.set(k, c);
  }
  return [...causes.values()].map((c) => {
    const ids = c.parts.flatMap((p) => p.ids);
    const details = c.parts.filter((p) => p.detail).map((p) => (c.parts.length > 1 ? `${p.ids.join(', ')}: ${p.detail}` : p.detail));
    return {
      code: 'collector-unavailable' as const,
      severity: 'note' as const,
      subject: { host: r.host, run: r.record.run },
      message: `collector${ids.length > 1 ? 's' : ''} ${ids.join(', ')} could not count${where(c.parts[0]!.backends)}: ${c.cause}${details.length ? `: ${details.join('; ')}` : ''}`,
      ...(c.fixes.size ? { advice: [...c.fixes].join('; ') } : {}),
    };
  });
}

/**
 * The advice of a noise warning for a path that was pinned with nothing else running beside it. The
 * series' own advice (stop other work, pin the guests) names what was already done; then the spread
 * is the host's own, or the workload's, and what is left to do is more repetitions or a quieter host.
 * Other warnings, and paths of runs that recorded no placement or other load, are returned as they are.
 */
export function quietHostNoise(warnings: readonly Warning[], runs: readonly LoadedRun[]): Warning[] {
  return warnings.map((w) => {
    if (w.code !== 'high-cv' || !w.subject.backend) return w;
    const run = runs.find((r) => r.host === w.subject.host);
    const placement = run?.record.backends.find((b) => b.id === w.subject.backend)?.placement;
    const load = placement?.otherLoad;
    if (placement?.policy !== 'auto' || load?.status !== 'ok') return w;
    return {
      ...w,
      advice:
        `nothing else ran on the host while this path was measured (other processes kept ${load.busyCpus.toFixed(2)} CPUs busy) and its threads were pinned, ` +
        'so the spread comes from the host itself (on a virtual machine, from other tenants of its hypervisor) or from the workload; ' +
        'raise the number of repetitions, or measure on a host with isolated cores (Host readiness lists what to change)',
    };
  });
}
