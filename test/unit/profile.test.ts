import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listProfiles, loadProfile } from '../../harness/config/load.ts';
import { resolvePlan } from '../../harness/config/plan.ts';
import { usageErrorOf } from '../helpers/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'iopath-profiles-'));
const valid = { backends: ['e1000', 'virtio-net'], repetitions: 2, scenarios: [{ kind: 'tcp-stream', durationSec: 3 }] };

function write(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}


describe('profile validation', () => {
  it('accepts every shipped profile', () => {
    const names = listProfiles();
    expect(names).toEqual(expect.arrayContaining(['default', 'quick']));
    for (const name of names) expect(() => resolvePlan(loadProfile(name))).not.toThrow();
  });

  it('leaves flame graphs off in the quick and default profiles, and asks for two repetitions with them on', () => {
    for (const name of ['quick', 'default']) expect(resolvePlan(loadProfile(name)).flame).toBe(false);
    expect(resolvePlan(loadProfile(write('flame.json', { ...valid, flame: true }))).flame).toBe(true);
    // Without collectors nothing samples, so nothing is left out.
    expect(resolvePlan(loadProfile(write('flame-off.json', { ...valid, flame: true })), { collectors: false }).flame).toBe(false);
    expect(usageErrorOf(() => loadProfile(write('flame-1.json', { ...valid, repetitions: 1, flame: true }))).message).toMatch(/repetitions: flame: true leaves each path's first measured repetition out of statistics; give repetitions 2 at least/);
    expect(usageErrorOf(() => resolvePlan(loadProfile(write('flame-reps.json', { ...valid, flame: true })), { reps: 1 })).message).toMatch(/--reps 1: .*give 2 repetitions at least/);
  });

  it('fills defaults and takes the name from the file', () => {
    const plan = resolvePlan(loadProfile(write('mine.json', valid)));
    expect(plan.profile.name).toBe('mine');
    expect(plan.warmup).toBe(1);
    expect(plan.guest).toEqual({ memoryMiB: 512, vcpus: 1, queues: 1 });
    expect(plan.switchBusyPoll).toBe(false);
    expect(plan.scenarios[0]).toMatchObject({ name: 'tcp-stream', omitSec: 1, parallel: 1, topology: 'guest-to-guest' });
    expect(Object.isFrozen(plan.scenarios[0])).toBe(true);
    expect(plan.profile.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a multi-queue guest as many vCPUs and TCP scenarios as many streams, unless told otherwise', () => {
    const scenarios = [{ kind: 'tcp-stream' }, { kind: 'tcp-stream-no-offload', name: 'one', parallel: 1 }, { kind: 'udp-small' }];
    const plan = resolvePlan(loadProfile(write('mq.json', { ...valid, guest: { queues: 2 }, scenarios })));
    expect(plan.guest).toEqual({ memoryMiB: 512, vcpus: 2, queues: 2 });
    expect(plan.scenarios.map((s) => ('parallel' in s ? s.parallel : undefined))).toEqual([2, 1, undefined]);
    expect(resolvePlan(loadProfile(write('mq4.json', { ...valid, guest: { queues: 2, vcpus: 4 } }))).guest.vcpus).toBe(4);
    expect(() => loadProfile(write('mq9.json', { ...valid, guest: { queues: 9 } }))).toThrow(/guest\.queues: Too big/);
  });

  const cases: [string, unknown, RegExp][] = [
    ['unknown backend', { ...valid, backends: ['e1000', 'e100'] }, /backends\[1\]: unknown backend "e100"; known: e1000, virtio-net, vhost-net, vhost-user-ts, vhost-user-testpmd/],
    ['backend listed twice', { ...valid, backends: ['e1000', 'e1000'] }, /backends\[1\]: "e1000" is listed twice/],
    ['unknown top-level key', { ...valid, repetitons: 3 }, /\(top level\): unknown key "repetitons"; allowed: name, description, backends, repetitions/],
    ['unknown nested key', { ...valid, guest: { memory: 512 } }, /guest: unknown key "memory"; allowed: memoryMiB, vcpus, queues/],
    ['wrong type', { ...valid, repetitions: 'three' }, /repetitions: Invalid input: expected number, received string/],
    ['zero repetitions', { ...valid, repetitions: 0 }, /repetitions: Too small: expected number to be >=1/],
    ['fractional duration', { ...valid, scenarios: [{ kind: 'tcp-stream', durationSec: 2.5 }] }, /scenarios\[0\]\.durationSec: Invalid input: expected int/],
    ['too little guest memory', { ...valid, guest: { memoryMiB: 64 } }, /guest\.memoryMiB: Too small/],
    ['unknown scenario kind', { ...valid, scenarios: [{ kind: 'tcp-strem' }] }, /scenarios\[0\]\.kind: unknown scenario kind "tcp-strem"; known: tcp-stream, tcp-stream-no-offload, udp-small, latency/],
    ['a parameter of another kind', { ...valid, scenarios: [{ kind: 'latency', parallel: 4 }] }, /scenarios\[0\]: unknown key "parallel"; allowed: kind, name, topology, durationSec/],
    ['a UDP payload that does not fit the MTU', { ...valid, scenarios: [{ kind: 'udp-small', payloads: [64, 9000] }] }, /scenarios\[0\]\.payloads\[1\]: Too small|scenarios\[0\]\.payloads\[1\]: Too big/],
    ['an unknown topology', { ...valid, scenarios: [{ kind: 'tcp-stream', topology: 'host-to-guest' }] }, /scenarios\[0\]\.topology: Invalid option: expected one of "guest-to-guest"\|"guest-to-host"/],
    ['no scenarios', { ...valid, scenarios: [] }, /scenarios: Too small/],
    ['scenario named twice', { ...valid, scenarios: [{ kind: 'tcp-stream' }, { kind: 'tcp-stream' }] }, /scenarios\[1\]\.name: scenario name "tcp-stream" is used twice/],
    ['bad accelerator', { ...valid, accel: 'hvf' }, /accel: Invalid option: expected one of "auto"\|"kvm"\|"tcg"/],
    ['not a mapping', [1, 2], /a profile must be a mapping/],
  ];
  for (const [what, content, message] of cases) {
    it(`rejects ${what} with exit code 2 and the path of the field`, () => {
      const err = usageErrorOf(() => loadProfile(write(`${what.replace(/\W+/g, '-')}.json`, content)));
      expect(err.message).toMatch(message);
    });
  }

  it('reports YAML syntax errors with the line', () => {
    const err = usageErrorOf(() => loadProfile(write('broken.yaml', 'backends: [e1000\nrepetitions: 2\n')));
    expect(err.message).toMatch(/broken\.yaml: not valid YAML \(line \d+, column \d+\)/);
  });

  it('reports JSON syntax errors', () => {
    const err = usageErrorOf(() => loadProfile(write('broken.json', '{"backends": ["e1000",]}')));
    expect(err.message).toMatch(/broken\.json: not valid JSON/);
  });

  it('rejects duplicate YAML keys', () => {
    const err = usageErrorOf(() => loadProfile(write('dup.yaml', 'repetitions: 2\nrepetitions: 3\nscenarios: [{kind: tcp-stream}]\n')));
    expect(err.message).toMatch(/not valid YAML.*unique/i);
  });

  it('names a missing profile and lists the available ones', () => {
    const err = usageErrorOf(() => loadProfile('no-such-profile'));
    expect(err.message).toMatch(/no profile named "no-such-profile" in .*; available: .*default/);
  });

  it('validates flags and names the flag', () => {
    const loaded = loadProfile(write('flags.json', valid));
    expect(usageErrorOf(() => resolvePlan(loaded, { backends: 'e1000,vhost-nett' })).message).toMatch(/--backends: unknown backend "vhost-nett"; known: e1000, virtio-net, vhost-net/);
    expect(usageErrorOf(() => resolvePlan(loaded, { reps: 0 })).message).toMatch(/--reps 0: Too small: expected number to be >=1 \(the limits of the profile field repetitions\)/);
    expect(usageErrorOf(() => resolvePlan(loaded, { duration: 0 })).message).toMatch(/--duration 0: Too small: expected number to be >=1 \(the limits of the profile field scenarios\[\]\.durationSec\)/);
    expect(usageErrorOf(() => resolvePlan(loaded, { accel: 'xen' })).message).toMatch(/--accel xen/);
    expect(resolvePlan(loaded, { backends: 'virtio-net', reps: 7, duration: 4 })).toMatchObject({ backends: ['virtio-net'], repetitions: 7, scenarios: [{ durationSec: 4 }] });
  });
});
