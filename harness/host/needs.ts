// Which Debian packages a command needs, and why, gathered from what declares them: the paths
// (`NicBackend.debianPackages`), the scenarios' host ends, the collectors, the report formats, and
// debian-packages.json for what belongs to none of them. Nothing here names a path or a tool.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathList } from '../backends/registry.ts';
import { collectorNeeds, optInCollectors, type CollectorId } from '../collectors/index.ts';
import type { RunPlan } from '../config/plan.ts';
import { projectRoot } from '../paths.ts';
import { reportFormats } from '../report/formats.ts';
import { scenarioTable } from '../workloads/scenarios.ts';

/** One Debian package a command needs. */
export interface PackageNeed {
  name: string;
  /** Why, in words shown before installing it: "path <id>". */
  why: string;
  /**
   * Without it the command cannot start. A need that is not required only costs the part that
   * needs it (a path, a collector, the PDF), which is then skipped with its reason.
   */
  required: boolean;
}

interface PackageGroups {
  build: string[];
  bench: string[];
  test: string[];
}

export function packageGroups(): PackageGroups {
  return JSON.parse(readFileSync(join(projectRoot, 'harness', 'host', 'debian-packages.json'), 'utf8')) as PackageGroups;
}

const each = (names: readonly string[], why: string, required: boolean): PackageNeed[] => names.map((name) => ({ name, why, required }));

/** What the npm dependencies with native code compile against; needed while they are not built. */
export function buildNeeds(): PackageNeed[] {
  return each(packageGroups().build, 'building the npm parts with native code (chart rendering, the switch\'s addon)', true);
}

/** What every run needs (QEMU, network namespaces, the guest image), whatever else it does. */
export function basicNeeds(): PackageNeed[] {
  return each(packageGroups().bench, 'every run (QEMU, network namespaces, the guest image)', true);
}

export interface BenchNeedsOptions {
  /** The report is rendered after the run. */
  report: boolean;
  /** /dev/kvm exists, so `accel: auto` may well end up on KVM. */
  kvmPossible: boolean;
}

/** What a run of this plan needs: every run's basics, its paths, host ends, collectors and report. */
export function benchNeeds(plan: Readonly<RunPlan>, o: BenchNeedsOptions): PackageNeed[] {
  const needs = basicNeeds();
  for (const p of pathList) {
    if (plan.backends.includes(p.id)) needs.push(...each(p.debianPackages, `path ${p.id}`, false));
  }
  for (const s of plan.scenarios) {
    if (s.topology === 'guest-to-host') needs.push(...each(scenarioTable[s.kind].hostPackages, `scenario ${s.name} (its server on the host)`, false));
  }
  if (plan.collectors) {
    const accel = plan.accel === 'auto' ? (o.kvmPossible ? 'any' : 'tcg') : plan.accel;
    for (const [id, c] of Object.entries(collectorNeeds)) {
      const field = optInCollectors[id as CollectorId];
      if (field !== undefined && !plan[field]) continue;
      if (accel === 'any' || c.accel === 'any' || c.accel === accel) needs.push(...each(c.debianPackages, `collector ${id}`, false));
    }
  }
  if (o.report) needs.push(...reportNeeds({ pdf: true }));
  return needs;
}

/** What rendering the report needs (the PDF: a browser). */
export function reportNeeds(o: { pdf: boolean }): PackageNeed[] {
  return reportFormats.filter((f) => o.pdf || !f.optional).flatMap((f) => each(f.debianPackages, `report ${f.file}`, false));
}

/** Everything any part of iopath uses, and the tests' own tools: what `npm test` needs. */
export function testNeeds(): PackageNeed[] {
  const groups = packageGroups();
  return [
    ...each(groups.build, 'building the npm parts with native code (chart rendering, the switch\'s addon)', false),
    ...each(groups.bench, 'every run (QEMU, network namespaces, the guest image)', true),
    ...pathList.flatMap((p) => each(p.debianPackages, `path ${p.id}`, false)),
    ...Object.values(scenarioTable).flatMap((s) => each(s.hostPackages, `scenario ${s.kind} (its server on the host)`, false)),
    ...Object.entries(collectorNeeds).flatMap(([id, c]) => each(c.debianPackages, `collector ${id}`, false)),
    ...reportNeeds({ pdf: true }),
    ...each(groups.test, 'the tests (archive, ELF and PDF checks)', false),
  ];
}

/** One entry per package: required if any need requires it, every reason kept once. */
export function mergeNeeds(needs: readonly PackageNeed[]): PackageNeed[] {
  const byName = new Map<string, { whys: string[]; required: boolean }>();
  for (const n of needs) {
    const entry = byName.get(n.name) ?? { whys: [], required: false };
    if (!entry.whys.includes(n.why)) entry.whys.push(n.why);
    entry.required ||= n.required;
    byName.set(n.name, entry);
  }
  return [...byName].map(([name, e]) => ({ name, why: e.whys.join('; '), required: e.required }));
}
