// The nested KVM lab end to end, as a user runs it: `iopath lab -- bench --profile lab` boots the
// lab VM, runs the lab profile inside under a real (nested) KVM, and the stored results must show
// every KVM-only path and collector working for real. The only test that boots L1.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../harness/run/record.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { projectRoot } from '../../harness/paths.ts';
import { iopath } from '../helpers/cli.ts';
import { leftovers, skipWhy, whyNoGuests } from '../helpers/host.ts';

const skip = skipWhy('nested KVM lab', whyNoGuests() ?? (existsSync('/run/iopath/lab.json') ? 'this already runs inside a lab' : undefined));
const PATHS = ['e1000', 'virtio-net', 'vhost-net', 'vhost-user-ts'] as const;

/** Sum of a metric over both guests, per path, in the tcp-stream repetition (one source). */
function perPath(samples: readonly SampleRecord[], metric: string, pick: (s: SampleRecord) => boolean): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.scenario !== 'tcp-stream' || s.warmup || s.metric !== metric || !pick(s)) continue;
    out.set(s.backend, (out.get(s.backend) ?? 0) + s.value);
  }
  return out;
}

describe('iopath lab -- bench --profile lab', () => {
  it.skipIf(skip)('measures every KVM-only path and collector for real inside the lab, and leaves nothing behind', async () => {
    let dir = mkdtempSync(join(tmpdir(), 'iopath-lab-test-'));
    const started = Date.now();
    const run = (into: string) => iopath(['lab', '--', 'bench', '--profile', 'lab', '--results-dir', join(into, 'results'), '--reports-dir', join(into, 'reports')], { timeoutMs: 900_000 });
    let r = await run(dir);
    // L1's own kernel can lock up under emulated SVM (seen once in CI: a nested vCPU stuck for
    // 12 minutes); the lab diagnoses it and exits 5. That is the emulator, not iopath: one more
    // lab, in a folder of its own, said here. A second hang fails the test.
    if (r.status === 5 && /the lab VM hangs: its kernel reports CPU#\d+ stuck/.test(r.stderr)) {
      process.stdout.write(`lab test: the lab VM's kernel locked up (${/stuck for \d+ s/.exec(r.stderr)?.[0] ?? 'soft lockup'}); trying one more lab\n`);
      dir = mkdtempSync(join(tmpdir(), 'iopath-lab-test-'));
      r = await run(dir);
    }
    const minutes = (Date.now() - started) / 60_000;
    process.stdout.write(`${r.stderr.split('\n').filter((l) => /iopath lab:|rep \d|accelerator|: (ok|failed|partial)$/.test(l)).join('\n')}\n${r.stdout.split('\n').filter((l) => /rep \d|accelerator|: (ok|failed|partial)$/.test(l)).join('\n')}\nlab test: iopath lab took ${minutes.toFixed(1)} min\n`);
    expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`).toBe(0);

    const runs = readdirSync(join(dir, 'results')).filter((e) => existsSync(join(dir, 'results', e, 'run.json')));
    expect(runs).toHaveLength(1);
    const runDir = join(dir, 'results', runs[0]!);
    const record = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) as RunRecord;
    const samples = readFileSync(join(runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);

    // KVM chosen by the probe, and the host recorded as a nested lab.
    expect(record.provenance?.accel.kind).toBe('kvm');
    expect(record.provenance?.accel.reason).toMatch(/probe guest booted under KVM in [\d.]+ s/);
    expect(record.provenance?.lab).toMatchObject({ nested: true, l0: { accel: 'tcg' }, l1: { cpus: expect.any(Number), memoryMiB: expect.any(Number) } });
    expect(record.provenance?.lab?.virtualisation).toMatch(/SVM/);

    // Every path ran, vhost-net included.
    expect(Object.fromEntries(record.backends.map((b) => [b.id, b.status]))).toEqual(Object.fromEntries(PATHS.map((p) => [p, 'ok'])));

    // Exits per VM (each guest's own QEMU process), for every path.
    for (const path of PATHS) {
      for (const guest of ['a', 'b']) {
        const exits = samples.filter((s) => s.backend === path && s.scenario === 'tcp-stream' && s.metric === 'exits' && s.source === 'perf' && s.dims?.event === 'kvm:kvm_exit' && s.dims?.guest === guest);
        expect(exits.length, `${path} guest ${guest}: perf kvm:kvm_exit`).toBe(1);
        expect(exits[0]!.value, `${path} guest ${guest}: exits`).toBeGreaterThan(0);
      }
    }
    // Exit reasons by name (SVM names on this lab) for e1000.
    const reasons = samples.filter((s) => s.backend === 'e1000' && s.scenario === 'tcp-stream' && s.metric === 'exits' && typeof s.dims?.reason === 'string' && s.dims.reason !== 'other' && s.value > 0);
    expect(new Set(reasons.map((s) => s.dims!.reason)).size).toBeGreaterThanOrEqual(2);
    // debugfs and QMP query-stats counted too.
    for (const source of ['debugfs', 'qmp']) {
      for (const path of PATHS) expect(samples.some((s) => s.backend === path && s.source === source && s.metric === 'exits' && s.scenario === 'tcp-stream'), `${source} ${path}`).toBe(true);
    }
    // vhost-net's kernel workers were found and charged to their guests.
    expect(samples.some((s) => s.backend === 'vhost-net' && s.metric === 'hostCpu' && s.dims?.kind === 'vhost' && s.value > 0)).toBe(true);

    // Exits per GB moved, all and those of MMIO (`npf` on SVM) and port I/O (`io`). Printed, and only
    // the wide gap asserted: at the lab's rates (a few to a hundred Mbit/s, a 3 s window) timer and
    // interrupt-window exits grow with time rather than bytes, so the order of two slow paths changes
    // from run to run (CI saw e1000 0.49 M npf + io per GB against virtio-net 0.90 M once, 2.60 M
    // against 0.39 M another time). The emulated NIC against the path whose datapath has no device
    // model in QEMU was 18 to 80 times apart.
    const all = perPath(samples, 'exitsPerGB', (s) => s.source === 'perf' && s.dims?.event === 'kvm:kvm_exit');
    const nic = perPath(samples, 'exitsPerGB', (s) => s.source === 'perf' && (s.dims?.reason === 'npf' || s.dims?.reason === 'io'));
    const rate = perPath(samples, 'throughput', (s) => s.source === 'iperf3');
    console.log(`throughput (tcp-stream): ${PATHS.map((p) => `${p} ${((rate.get(p) ?? NaN) / 1e6).toFixed(1)} Mbit/s`).join(', ')}`);
    console.log(`exits per GB (perf, both guests, tcp-stream), all kvm:kvm_exit: ${PATHS.map((p) => `${p} ${Math.round(all.get(p) ?? NaN)}`).join(', ')}`);
    console.log(`exits per GB (perf, both guests, tcp-stream), npf + io: ${PATHS.map((p) => `${p} ${Math.round(nic.get(p) ?? NaN)}`).join(', ')}`);
    for (const path of PATHS) expect(nic.get(path), `${path}: npf + io exits per GB`).toBeGreaterThan(0);
    expect(nic.get('e1000')!).toBeGreaterThan(3 * nic.get('vhost-user-ts')!);

    // The report, rendered on the host, says plainly that this was a nested lab and breaks exits down by reason.
    const html = readFileSync(join(dir, 'reports', runs[0]!, 'index.html'), 'utf8');
    expect(html).toContain('Nested lab');
    expect(html).toContain('nested lab: not representative');
    expect(html).toMatch(/id="exitspergb-by-reason-tcp-stream"/);

    // Nothing of the lab or its guests is left.
    const lab = /lab (\d{8}-\d{6}-[0-9a-f]{6}):/.exec(r.stderr)?.[1];
    expect(lab).toBeDefined();
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
    expect(leftovers(record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 1_860_000);

  it.skipIf(skip)('passes Ctrl-C to the command inside, which tears its guests down; the lab exits 130 and leaves nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-lab-int-'));
    const child = spawn(process.execPath, [join(projectRoot, 'bin/iopath.js'), 'lab', '--', 'bench', '--profile', 'lab', '--backends', 'e1000', '--results-dir', join(dir, 'results')], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let sent = 0;
    child.stdout.on('data', (d) => {
      stdout += d;
      // Once the path is being set up inside, its guests and namespace exist or are coming.
      if (!sent && /^- e1000/m.test(stdout)) {
        sent = Date.now();
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(killer);
    console.log(`lab interrupt: exit ${status} ${sent ? `${((Date.now() - sent) / 1000).toFixed(1)} s after SIGINT` : '(SIGINT never sent)'}`);
    expect(sent, `${stdout.slice(-2000)}\n${stderr.slice(-2000)}`).toBeGreaterThan(0);
    expect(status, `${stdout.slice(-2000)}\n${stderr.slice(-2000)}`).toBe(130);
    expect(stderr).toMatch(/forwarding SIGINT to the command in the lab/);
    const runs = readdirSync(join(dir, 'results')).filter((e) => existsSync(join(dir, 'results', e, 'run.json')));
    expect(runs).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(dir, 'results', runs[0]!, 'run.json'), 'utf8')) as RunRecord;
    expect(record.status).toBe('interrupted');
    const lab = /lab (\d{8}-\d{6}-[0-9a-f]{6}):/.exec(stderr)?.[1];
    expect(lab).toBeDefined();
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 660_000);
});
