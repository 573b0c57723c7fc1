// `iopath doctor`: what this host can run and why not. Every check is discovered at run time; every
// missing piece comes with the exact command that provides it. What each path needs is its own
// descriptor's word (its requirements and their doctor lines); doctor only prints them.

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathList, pathProbes } from '../backends/registry.ts';
import type { NicBackend, Requirement } from '../backends/types.ts';
import { ExitCode, describeError, type ExitCodeValue } from '../errors.ts';
import { installFix, packageOf, probeHost, type HostFacts } from '../host/facts.ts';
import { checkReadiness, hostFilesAt, irqbalanceRunning, type ReadinessItem } from '../host/readiness.ts';
import { ensureImage } from '../image/build.ts';
import { runtimeRoot } from '../paths.ts';
import { recoverDeadRuns } from '../host/recovery.ts';
import { markRunInterrupted } from '../run/recover.ts';
import { chooseAccel } from '../vm/accel.ts';
import { describeLab, LAB_PROBE_SEC, readLabMarker } from '../lab/marker.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** What doctor says about one path: whether this host can run it, and each requirement's line. */
export interface PathCheck {
  id: string;
  title: string;
  ok: boolean;
  reason: string;
  fix: string;
  requirements: Requirement[];
}

/** `iopath doctor --clean`: remove what dead runs left; live runs are not touched. */
export async function clean(): Promise<ExitCodeValue> {
  const r = await recoverDeadRuns(runtimeRoot, { markInterrupted: markRunInterrupted });
  const lines = [
    `dead runs cleaned: ${r.runs.length ? r.runs.join(', ') : 'none'}`,
    `process groups stopped: ${r.processGroups}`,
    `network namespaces removed: ${r.netns.length ? r.netns.join(', ') : 'none'}`,
    ...r.resultsMarked.map((d) => `marked interrupted: ${d}/run.json`),
    ...r.notes.map((n) => `note: ${n}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  return r.notes.length ? ExitCode.host : ExitCode.ok;
}

export async function doctor(o: { probeKvm: boolean; json: boolean; signal: AbortSignal; paths?: readonly NicBackend[] }): Promise<ExitCodeValue> {
  const pathsToCheck = o.paths ?? pathList;
  const host = await probeHost(pathProbes(pathsToCheck));
  const checks = hostChecks(host);
  // Inside `iopath lab` the host is the lab VM: say so first, and what its figures are good for.
  const lab = readLabMarker();
  if (lab) checks.unshift({ name: 'nested lab', ok: true, detail: describeLab(lab) });
  if (o.probeKvm) checks.push(await kvmProbeCheck(host, o.signal));
  const paths = pathChecks(host, pathsToCheck);
  const readiness = checkReadiness(hostFilesAt(), { irqbalance: irqbalanceRunning() });
  process.stdout.write(o.json ? JSON.stringify({ host, checks, paths, readiness }, null, 2) + '\n' : doctorText(host, checks, paths, readiness));
  const essential = checks.filter((c) => ['QEMU', 'network namespaces and taps', 'image tools'].includes(c.name));
  return essential.every((c) => c.ok) ? ExitCode.ok : ExitCode.host;
}

/** Each path's requirements on this host, as its descriptor states them. */
export function pathChecks(host: HostFacts, paths: readonly NicBackend[]): PathCheck[] {
  return paths.map((p) => {
    const requirements = p.requirements(host);
    const unmet = requirements.filter((r) => !r.ok && !r.optional);
    return {
      id: p.id,
      title: p.title,
      ok: unmet.length === 0,
      reason: unmet.map((r) => r.reason ?? `missing ${r.what}`).join('; '),
      fix: unmet.map((r) => r.fix).filter(Boolean).join(' && '),
      requirements,
    };
  });
}

/** The findings as doctor prints them: host checks, each path with a line per requirement, then host readiness. */
export function doctorText(host: HostFacts, checks: readonly Check[], paths: readonly PathCheck[], readiness: readonly ReadinessItem[] = []): string {
  const out: string[] = [`iopath doctor: ${host.hostname}, kernel ${host.kernel}, ${host.cpuCount} CPUs (${host.cpuModel}), ${host.memoryMiB} MiB`];
  out.push('', 'Host:');
  for (const c of checks) out.push(`  ${c.ok ? 'ok  ' : 'MISS'} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n         fix: ${c.fix}` : ''}`);
  out.push('', 'Paths:');
  for (const p of paths) {
    out.push(`  ${p.ok ? 'ok  ' : 'SKIP'} ${p.id} (${p.title})${p.ok ? '' : `: ${p.reason}`}`);
    for (const r of p.requirements) {
      const mark = r.ok ? 'ok  ' : r.optional ? 'note' : 'MISS';
      out.push(`         ${mark} ${r.what}${r.detail ? `: ${r.detail}` : ''}${!r.ok && r.fix ? `\n              fix: ${r.fix}` : ''}`);
    }
  }
  if (readiness.length) {
    const notReady = readiness.filter((r) => r.status === 'not-ready').length;
    out.push('', `Host readiness for repeatable numbers: ${notReady ? `NOT READY (${notReady} of ${readiness.length} items)` : 'ready'}; iopath runs either way and records this in run.json:`);
    const mark = { ok: 'ok  ', 'not-ready': 'WARN', unknown: '??  ' } as const;
    for (const r of readiness) out.push(`  ${mark[r.status]} ${r.title}: ${r.detail}${r.status === 'not-ready' && r.fix ? `\n         fix: ${r.fix}` : ''}`);
  }
  return out.join('\n') + '\n';
}

export function hostChecks(host: HostFacts): Check[] {
  const tool = (name: string, info: { version: string } | undefined, pkg: string, purpose: string): Check =>
    info ? { name, ok: true, detail: `${info.version} (${purpose})` } : { name, ok: false, detail: `not installed (${purpose})`, fix: installFix(pkg) };
  const checks: Check[] = [
    tool('QEMU', host.qemu, packageOf.qemu, 'runs the guests'),
    {
      name: 'network namespaces and taps',
      ok: host.netAdmin && host.devNetTun,
      detail: host.netAdmin ? (host.devNetTun ? 'root or CAP_NET_ADMIN, /dev/net/tun present' : '/dev/net/tun missing') : 'not root and no CAP_NET_ADMIN',
      fix: host.netAdmin ? 'modprobe tun' : 'run iopath as root (sudo)',
    },
    {
      name: 'image tools',
      ok: host.aptGet && host.dpkgDeb,
      detail: host.aptGet && host.dpkgDeb ? 'apt-get and dpkg-deb present (guest image from Debian packages)' : 'apt-get or dpkg-deb missing: the guest image is built from Debian packages',
      fix: 'use a Debian or Ubuntu host',
    },
    {
      name: '/dev/kvm',
      ok: host.devKvm,
      detail: host.devKvm ? 'present and accessible (whether Linux guests boot is the KVM probe below)' : 'absent or not accessible: guests run under software emulation (TCG)',
      fix: 'modprobe kvm_intel (or kvm_amd), and run as root',
    },
    tool('iperf3 on the host', host.iperf3, packageOf.iperf3, 'guest-to-host topology'),
    tool('perf', host.perf, packageOf.perf, 'KVM exit counters'),
    debugfsCheck(),
    tool('chromium', host.chromium, packageOf.chromium, 'PDF report and report tests'),
  ];
  return checks;
}

function debugfsCheck(): Check {
  const dir = '/sys/kernel/debug/kvm';
  const fix = 'mount -t debugfs none /sys/kernel/debug (as root)';
  try {
    const entries = readdirSync(dir);
    const file = entries.find((e) => e === 'exits') ?? entries[0];
    if (file) readFileSync(join(dir, file), 'utf8');
    return { name: 'debugfs KVM statistics', ok: true, detail: `${dir} is readable (per-VM exit counters)` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      name: 'debugfs KVM statistics',
      ok: false,
      detail: code === 'ENOENT' ? `${dir} is absent (debugfs not mounted, or KVM not loaded)` : `${dir} cannot be read (${code}): the debugfs collector reports unavailable`,
      ...(code === 'ENOENT' ? { fix } : {}),
    };
  }
}

async function kvmProbeCheck(host: HostFacts, signal: AbortSignal): Promise<Check> {
  if (!host.qemu) return { name: 'KVM probe boot', ok: false, detail: 'needs QEMU', fix: installFix(packageOf.qemu) };
  const dir = join(runtimeRoot, `doctor-${process.pid}`);
  try {
    const image = await ensureImage({ signal });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const accel = await chooseAccel({ preference: 'auto', host, qemuBinary: host.qemu.path, image, runtimeDir: dir, logDir: dir, deadlineMs: (readLabMarker() ? LAB_PROBE_SEC : 20) * 1000, signal });
    return accel.kind === 'kvm'
      ? { name: 'KVM probe boot', ok: true, detail: accel.reason }
      : { name: 'KVM probe boot', ok: false, detail: `guests will run under TCG: ${accel.reason}`, fix: 'a bare-metal host with VT-x/AMD-V and kvm_intel/kvm_amd loaded' };
  } catch (err) {
    return { name: 'KVM probe boot', ok: false, detail: `could not probe: ${describeError(err)}`, fix: 'iopath image build' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
