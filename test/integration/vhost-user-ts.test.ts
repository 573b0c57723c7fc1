// Two TCG guests through our own switch (vhost-user-ts) and through DPDK testpmd in one run, side by
// side, with vhost-net skipped with its reason where the host lacks /dev/vhost-net; nothing of the
// switch or of testpmd left behind; the switch as a CLI command of its own; and a switch killed
// mid-run costing only the repetitions after it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { onPath } from '../../harness/host/facts.ts';
import { projectRoot } from '../../harness/paths.ts';
import type { Reporter } from '../../harness/run/progress.ts';
import { runBench } from '../../harness/run/runner.ts';
import type { SampleRecord } from '../../harness/samples.ts';
import { leftovers, needs, runProcess, whyNoGuests } from '../helpers/host.ts';

const addon = join(projectRoot, 'harness/vhost-user/native/build/Release/vhost_user_native.node');
const noAddon = existsSync(addon) ? undefined : 'needs the native addon (npm run build:native)';
const withGuests = needs('vhost-user-ts with guests', whyNoGuests() ?? noAddon);
const beside = needs('vhost-user-ts beside testpmd', whyNoGuests() ?? noAddon ?? (onPath('dpdk-testpmd') ? undefined : 'needs dpdk-testpmd (apt-get install -y dpdk-dev)'));

function profile(lines: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'iopath-vuts-'));
  writeFileSync(join(dir, 'p.yaml'), lines.join('\n') + '\n');
  return join(dir, 'p.yaml');
}

describe('vhost-user-ts', () => {
  beside.it('carries TCP and UDP between two guests beside testpmd in one run, each with its own counters, and leaves nothing behind', async () => {
    const p = profile([
      'backends: [vhost-net, vhost-user-ts, vhost-user-testpmd]',
      'repetitions: 1',
      'warmup: 0',
      'accel: tcg',
      'scenarios:',
      '  - { kind: tcp-stream, durationSec: 2, omitSec: 0 }',
      '  - { kind: udp-small, durationSec: 2, omitSec: 0, payloads: [64] }',
      '  - { kind: tcp-stream, name: tcp-to-host, topology: guest-to-host, durationSec: 2, omitSec: 0 }',
    ]);
    const outcome = await runBench({ plan: resolvePlan(loadProfile(p)), argv: ['test'], resultsRoot: join(tmpdir(), 'iopath-vuts-results'), signal: new AbortController().signal, reporter: {} });
    const byId = Object.fromEntries(outcome.record.backends.map((b) => [b.id, b]));
    if (existsSync('/dev/vhost-net')) console.log('this host has /dev/vhost-net: the skip path is not exercised here');
    else expect(byId['vhost-net']).toMatchObject({ status: 'skipped', reason: expect.stringContaining('/dev/vhost-net'), fix: 'modprobe vhost_net' });
    for (const id of ['vhost-user-ts', 'vhost-user-testpmd']) {
      expect(byId[id]!.status, JSON.stringify(byId[id], null, 1).slice(0, 2000)).toBe('ok');
      expect(byId[id]!.notes.join('\n')).toMatch(/scenario tcp-to-host not run: guest-to-host needs a path with a host end/);
    }
    const samples = readFileSync(join(outcome.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as SampleRecord);
    const tput = (b: string) => samples.find((s) => s.backend === b && s.metric === 'throughput')!.value;
    const forwarded = samples.filter((s) => s.backend === 'vhost-user-ts' && s.scenario === 'tcp-stream' && s.metric === 'switchPackets' && s.dims?.direction === 'rx').reduce((a, s) => a + s.value, 0);
    const kicks = samples.filter((s) => s.backend === 'vhost-user-ts' && s.metric === 'switchKicks').reduce((a, s) => a + s.value, 0);
    console.log(`TCP: vhost-user-ts ${(tput('vhost-user-ts') / 1e9).toFixed(2)} Gbit/s, vhost-user-testpmd ${(tput('vhost-user-testpmd') / 1e9).toFixed(2)} Gbit/s; the switch forwarded ${Math.round(forwarded)} frames and took ${Math.round(kicks)} kicks`);
    expect(forwarded).toBeGreaterThan(100);
    expect(kicks).toBeGreaterThan(0);
    const switchLog = readFileSync(join(outcome.runDir, 'vhost-user-ts', 'switch.log'), 'utf8');
    expect(switchLog).toMatch(/VERSION_1/);

    // testpmd: its own port counters, the packet rate of 64-byte UDP, the features the guests took.
    const tp = byId['vhost-user-testpmd']!;
    expect(tp.notes.join('\n')).toMatch(/vectors=0/);
    const of = (metric: string) => samples.filter((s) => s.backend === 'vhost-user-testpmd' && s.metric === metric && !s.warmup);
    expect(of('packetRate')[0]).toMatchObject({ dims: { payloadBytes: 64 } });
    expect(of('packetRate')[0]!.value).toBeGreaterThan(100);
    const tpForwarded = of('switchPackets').filter((s) => s.scenario === 'tcp-stream' && s.dims?.direction === 'rx').reduce((a, s) => a + s.value, 0);
    console.log(`testpmd: ${Math.round(of('packetRate')[0]!.value)} pkt/s of 64 B, ${Math.round(tpForwarded)} packets forwarded in the TCP window`);
    expect(tpForwarded).toBeGreaterThan(1000);
    expect(tp.features?.a).toEqual(expect.arrayContaining(['virtio:VERSION_1', 'virtio:MRG_RXBUF']));

    // Nothing survives: no process, no socket, no DPDK runtime or hugepage file of the run.
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
    const tag = outcome.record.run.slice(-6);
    expect(existsSync(`/var/run/dpdk/iopath-${tag}`)).toBe(false);
    for (const huge of ['/dev/hugepages', '/mnt/huge']) {
      if (existsSync(huge)) expect(readdirSync(huge).filter((f) => f.includes(tag))).toEqual([]);
    }
    expect(runProcess(outcome.record.run, (argv) => argv.join(' ').includes(`iopath-${tag}`))).toBeUndefined();
  }, 400_000);

  withGuests.it('a switch killed mid-run fails the repetitions after it, bounded, and the run ends partial', async () => {
    const p = profile(['backends: [vhost-user-ts]', 'repetitions: 3', 'warmup: 0', 'accel: tcg', 'scenarios: [{ kind: tcp-stream, durationSec: 2, omitSec: 0 }]']);
    let run = '';
    let killed = false;
    const reporter: Reporter = {
      runStarted: (i) => void (run = i.run),
      repStarted: (r) => {
        if (r.rep !== 1 || killed) return;
        const pid = runProcess(run, (argv) => argv.includes('switch'));
        if (pid) {
          process.kill(pid, 'SIGKILL');
          killed = true;
        }
      },
    };
    const outcome = await runBench({ plan: resolvePlan(loadProfile(p)), argv: ['test'], resultsRoot: join(tmpdir(), 'iopath-vuts-results'), signal: new AbortController().signal, reporter });
    const b = outcome.record.backends[0]!;
    console.log(b.reps.map((r) => `rep ${r.rep}: ${r.status}${r.reason ? ` (${r.reason.split('\n')[0]})` : ''}`).join('\n'));
    expect(killed).toBe(true);
    expect(b.reps[0]!.status).toBe('ok');
    expect(b.reps.slice(1).every((r) => r.status === 'failed')).toBe(true);
    expect(outcome.exitCode).toBe(4);
    expect(leftovers(outcome.record.run)).toEqual({ netns: [], processes: [], runtimeEntries: [] });
  }, 400_000);
});

describe('iopath switch', () => {
  needs('iopath switch command', noAddon).it('listens on one socket per port, writes counters, and removes its sockets on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iopath-switch-'));
    const sockets = [join(dir, 'a.sock'), join(dir, 'b.sock'), join(dir, 'c.sock')];
    const child = spawn(process.execPath, [join(projectRoot, 'bin/iopath.js'), 'switch', ...sockets.flatMap((s) => ['--socket', s]), '--stats', join(dir, 'stats.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 200 && !sockets.every((s) => existsSync(s)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(sockets.every((s) => existsSync(s)), stderr).toBe(true);
    for (let i = 0; i < 100 && !existsSync(join(dir, 'stats.json')); i++) await new Promise((r) => setTimeout(r, 50));
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    expect(stats.ports.map((p: { state: string }) => p.state)).toEqual(['listening', 'listening', 'listening']);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(sockets.some((s) => existsSync(s))).toBe(false);
  }, 60_000);
});
