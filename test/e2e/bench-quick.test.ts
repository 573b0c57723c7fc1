// The CLI end to end, as a user runs it: `npm run bench -- --profile quick` on the two tap paths it
// compares, then the files a user scripts against, then a second look at the image cache; and a
// wrong profile failing fast. The vhost-user paths run end to end in vhost-user-ts.test.ts (both in
// one run) and vhost-net in the lab test; running them here too would add two minutes and no check.
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureImage } from '../../harness/image/build.ts';
import { projectRoot } from '../../harness/paths.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { iopath, run } from '../helpers/cli.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('bench end to end', whyNoGuests());
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

describe('npm run bench -- --profile quick --backends e1000,virtio-net', () => {
  guests.it('measures both paths and writes samples, run.json and the report', async () => {
    const resultsRoot = join(projectRoot, 'results');
    const before = new Set(existsSync(resultsRoot) ? readdirSync(resultsRoot) : []);
    const r = await run('npm', ['run', 'bench', '--', '--profile', 'quick', '--backends', 'e1000,virtio-net'], { timeoutMs: 900_000 });
    process.stdout.write(r.stderr.split('\n').filter((l) => /rep|skipped|run |accelerator/.test(l)).join('\n') + '\n');
    expect(r.status, r.stderr.slice(-3000)).toBe(0);
    const runs = readdirSync(resultsRoot).filter((d) => !before.has(d) && statSync(join(resultsRoot, d)).isDirectory());
    expect(runs).toHaveLength(1);
    const runDir = join(resultsRoot, runs[0]!);
    const record = JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8'));
    expect(record.status).toBe('complete');
    expect(record.provenance.accel.reason).toBeTruthy();
    // Debian's amd64 kernel has a PVH entry, so the guests boot it uncompressed (harness/image/kernel.ts).
    if (/^ID=debian$/m.test(readFileSync('/etc/os-release', 'utf8'))) expect(record.provenance.image.kernelBoot).toBe('pvh');
    const samples = readFileSync(join(runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    for (const s of samples) {
      expect(Object.keys(s)).toEqual(expect.arrayContaining(['run', 'backend', 'scenario', 'rep', 'warmup', 'metric', 'unit', 'value']));
    }
    const tput = (b: string) => samples.filter((s) => s.backend === b && s.metric === 'throughput' && !s.warmup).map((s) => s.value);
    expect(tput('e1000')).toHaveLength(2);
    expect(tput('virtio-net')).toHaveLength(2);
    expect(samples.filter((s) => s.warmup)).not.toHaveLength(0);
    const ratio = median(tput('virtio-net')) / median(tput('e1000'));
    console.log(`median throughput: e1000 ${(median(tput('e1000')) / 1e9).toFixed(2)} Gbit/s, virtio-net ${(median(tput('virtio-net')) / 1e9).toFixed(2)} Gbit/s, ratio ${ratio.toFixed(2)}`);
    expect(ratio).toBeGreaterThan(1);
    // Why e1000 is slow: far more device accesses (TCG) or exits (KVM) per GB moved, per VM.
    const cost = record.provenance.accel.kind === 'tcg' ? 'deviceAccessesPerGB' : 'exitsPerGB';
    const perGB = (b: string) => {
      const reps = new Map<number, number>();
      for (const s of samples) {
        // Under KVM several sources count the same exits; take QMP's per-vCPU `exits` stat only.
        const oneSource = cost === 'deviceAccessesPerGB' || (s.source === 'qmp' && s.dims?.stat === 'exits');
        if (s.backend === b && s.scenario === 'tcp-stream' && s.metric === cost && !s.warmup && s.dims?.guest === 'a' && oneSource) reps.set(s.rep, (reps.get(s.rep) ?? 0) + s.value);
      }
      return median([...reps.values()]);
    };
    console.log(`${cost} of guest a, tcp-stream: e1000 ${Math.round(perGB('e1000'))}, virtio-net ${Math.round(perGB('virtio-net'))}`);
    expect(perGB('e1000')).toBeGreaterThan(perGB('virtio-net'));
    const raw = readdirSync(join(runDir, 'e1000', 'raw'));
    expect(raw.some((f) => f.endsWith('.iperf3.json'))).toBe(true);
    const reportDir = join(projectRoot, 'reports', runs[0]!);
    const html = readFileSync(join(reportDir, 'index.html'), 'utf8');
    expect(html).toContain('e1000');
    expect(html).toContain('virtio-net');
    expect(html).toMatch(/<img[^>]+src="data:image\/png;base64,/);
    expect(leftovers(record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 900_000);

  guests.it('finds the guest image in the cache the second time', async () => {
    const t = Date.now();
    const image = await ensureImage();
    expect(image.cached).toBe(true);
    console.log(`cached image ${image.hash} found in ${Date.now() - t} ms`);
  }, 60_000);
});

describe('a wrong profile', () => {
  it('stops before anything starts, with exit 2 and the name of the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-bad-'));
    const profile = join(dir, 'bad.yaml');
    writeFileSync(profile, 'backends: [e1000, e100]\nscenarios: [{kind: tcp-stream}]\n');
    const t = Date.now();
    const r = await iopath(['bench', '--profile', profile, '--results-dir', join(dir, 'results')]);
    console.log(`bad profile rejected in ${Date.now() - t} ms`);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/backends\[1\]: unknown backend "e100"; known: e1000, virtio-net, /);
    expect(existsSync(join(dir, 'results'))).toBe(false);
  });

  it('rejects an unknown flag with exit 2', async () => {
    const r = await iopath(['bench', '--profle', 'quick']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument: profle/);
  });
});
