// Which Debian packages a command needs is gathered from what the plan uses (paths, host ends,
// collectors, report formats), never from a list of names; and apt's status lines become progress.
import { afterEach, describe, expect, it } from 'vitest';
import { backendIds, backends } from '../../harness/backends/registry.ts';
import { collectorNeeds } from '../../harness/collectors/index.ts';
import { resolvePlan, type PlanOverrides } from '../../harness/config/plan.ts';
import { aptProgress, installRefusal, needsTable, OPT_OUT_ENV } from '../../harness/host/install.ts';
import { benchNeeds, mergeNeeds, packageGroups, testNeeds, type PackageNeed } from '../../harness/host/needs.ts';
import { reportFormats } from '../../harness/report/formats.ts';
import { scenarioTable } from '../../harness/workloads/scenarios.ts';
import type { LoadedProfile } from '../../harness/config/load.ts';
import { profileSchema, type ProfileInput } from '../../harness/config/schema.ts';

function plan(input: ProfileInput, flags: PlanOverrides = {}) {
  const profile = { ...profileSchema.parse(input), name: 'test' };
  const loaded: LoadedProfile = { profile, path: '/dev/null', hash: '0' };
  return resolvePlan(loaded, flags);
}
const names = (needs: PackageNeed[]) => [...new Set(needs.map((n) => n.name))].sort();
const tcp = [{ kind: 'tcp-stream' as const }];

describe('benchNeeds', () => {
  it('every run needs the basics, and they are required', () => {
    const needs = benchNeeds(plan({ backends: ['e1000'], scenarios: tcp, collectors: false }), { report: false, kvmPossible: false });
    expect(names(needs)).toEqual([...packageGroups().bench].sort());
    expect(needs.every((n) => n.required)).toBe(true);
  });

  it('a path\'s packages only when the plan includes the path, and not required', () => {
    const without = benchNeeds(plan({ backends: ['e1000', 'vhost-user-ts'], scenarios: tcp }), { report: false, kvmPossible: false });
    expect(names(without)).not.toContain('dpdk-dev');
    const withTestpmd = benchNeeds(plan({ backends: ['vhost-user-testpmd'], scenarios: tcp }), { report: false, kvmPossible: false });
    expect(withTestpmd.find((n) => n.name === 'dpdk-dev')).toEqual({ name: 'dpdk-dev', why: 'path vhost-user-testpmd', required: false });
    const all = benchNeeds(plan({ scenarios: tcp }), { report: false, kvmPossible: false });
    expect(names(all)).toContain('dpdk-dev');
  });

  it('a host end\'s server only in the guest-to-host topology', () => {
    const g2g = benchNeeds(plan({ scenarios: [{ kind: 'latency' }, { kind: 'tcp-stream' }] }), { report: false, kvmPossible: false });
    expect(names(g2g)).not.toContain('sockperf');
    expect(names(g2g)).not.toContain('iperf3');
    const g2h = benchNeeds(plan({ scenarios: [{ kind: 'latency', topology: 'guest-to-host' }] }), { report: false, kvmPossible: false });
    expect(g2h.find((n) => n.name === 'sockperf')?.why).toBe('scenario latency (its server on the host)');
    expect(names(g2h)).not.toContain('iperf3');
  });

  it('the KVM collectors\' packages only when the run may use KVM and collectors are on', () => {
    const on = (accel: 'auto' | 'kvm' | 'tcg', kvmPossible: boolean, collectors = true) =>
      names(benchNeeds(plan({ backends: ['e1000'], scenarios: tcp, accel, collectors }), { report: false, kvmPossible }));
    expect(on('kvm', false)).toContain('linux-perf');
    expect(on('auto', true)).toContain('linux-perf');
    expect(on('auto', false)).not.toContain('linux-perf');
    expect(on('tcg', true)).not.toContain('linux-perf');
    expect(on('kvm', true, false)).not.toContain('linux-perf');
    expect(names(benchNeeds(plan({ backends: ['e1000'], scenarios: tcp, accel: 'kvm' }, { collectors: false }), { report: false, kvmPossible: true }))).not.toContain('linux-perf');
  });

  it('the report formats\' packages only when the report is rendered', () => {
    const p = plan({ backends: ['e1000'], scenarios: tcp, collectors: false });
    expect(benchNeeds(p, { report: true, kvmPossible: false }).find((n) => n.name === 'chromium')).toEqual({ name: 'chromium', why: 'report report.pdf', required: false });
    expect(names(benchNeeds(p, { report: false, kvmPossible: false }))).not.toContain('chromium');
  });
});

describe('testNeeds', () => {
  it('is every declaration and every group of debian-packages.json', () => {
    const declared = [
      ...packageGroups().build,
      ...packageGroups().bench,
      ...packageGroups().test,
      ...backendIds.flatMap((id) => backends[id].debianPackages),
      ...Object.values(scenarioTable).flatMap((s) => s.hostPackages),
      ...Object.values(collectorNeeds).flatMap((c) => c.debianPackages),
      ...reportFormats.flatMap((f) => f.debianPackages),
    ];
    expect(names(testNeeds())).toEqual([...new Set(declared)].sort());
    // The packages the old flat list named are all still covered.
    expect(names(testNeeds())).toEqual(expect.arrayContaining(['qemu-system-x86', 'dpdk-dev', 'iperf3', 'sockperf', 'linux-perf', 'chromium', 'poppler-utils', 'libcairo2-dev']));
  });
});

describe('mergeNeeds and the table', () => {
  it('one line per package, every reason once, required if any need requires it', () => {
    const merged = mergeNeeds([
      { name: 'linux-perf', why: 'collector perf-kvm', required: false },
      { name: 'linux-perf', why: 'collector perf-kvm-exit-reasons', required: false },
      { name: 'linux-perf', why: 'collector perf-kvm', required: false },
      { name: 'make', why: 'building', required: false },
      { name: 'make', why: 'the tests', required: true },
    ]);
    expect(merged).toEqual([
      { name: 'linux-perf', why: 'collector perf-kvm; collector perf-kvm-exit-reasons', required: false },
      { name: 'make', why: 'building; the tests', required: true },
    ]);
    expect(needsTable(merged)).toEqual(['  linux-perf  collector perf-kvm; collector perf-kvm-exit-reasons', '  make        building; the tests']);
  });
});

describe('installRefusal', () => {
  const saved = process.env[OPT_OUT_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[OPT_OUT_ENV];
    else process.env[OPT_OUT_ENV] = saved;
  });

  it('--no-install and the environment variable opt out; "0" and empty do not', () => {
    delete process.env[OPT_OUT_ENV];
    expect(installRefusal(false)).toBe('--no-install was given');
    for (const value of ['1', 'yes']) {
      process.env[OPT_OUT_ENV] = value;
      expect(installRefusal(true)).toBe(`${OPT_OUT_ENV}=${value} is set`);
    }
    for (const value of ['0', '']) {
      process.env[OPT_OUT_ENV] = value;
      expect(installRefusal(true) ?? '').not.toMatch(new RegExp(OPT_OUT_ENV));
    }
  });

  it('says when it is not root', () => {
    delete process.env[OPT_OUT_ENV];
    if (process.getuid?.() !== 0) expect(installRefusal(true)).toBe('iopath is not running as root');
    else expect(installRefusal(true) ?? 'may install').toMatch(/may install|no apt-get/);
  });
});

describe('aptProgress', () => {
  it('one line per tenth of each phase, and the switch to unpacking is known', () => {
    const lines: string[] = [];
    const p = aptProgress((l) => lines.push(l));
    const status = [
      'dlstatus:1:0.0000:Retrieving file 1 of 40',
      'dlstatus:2:3.2:Retrieving file 2 of 40',
      'dlstatus:9:23.4:Retrieving file 9 of 40',
      'dlstatus:40:99.9:Retrieving file 40 of 40',
    ];
    for (const l of status) p.take(l);
    expect(p.installing).toBe(false);
    for (const l of ['pmstatus:dpkg-exec:0:Running dpkg', 'pmstatus:chromium:45.5:Unpacking chromium (amd64)', 'pmstatus:chromium:47:Unpacking chromium (amd64)', 'pmerror:libfoo:50:subprocess installed post-installation script returned error exit status 1']) p.take(l);
    expect(p.installing).toBe(true);
    expect(lines).toEqual([
      'apt: downloading 0% (Retrieving file 1 of 40)',
      'apt: downloading 23% (Retrieving file 9 of 40)',
      'apt: downloading 99% (Retrieving file 40 of 40)',
      'apt: installing 0% (Running dpkg)',
      'apt: installing 45% (Unpacking chromium (amd64))',
    ]);
    expect(p.errors).toEqual(['E: libfoo: subprocess installed post-installation script returned error exit status 1']);
  });
});
