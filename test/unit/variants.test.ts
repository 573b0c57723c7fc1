// Variants of a path: the profile's shape, the check of device properties against what QEMU lists
// (test/fixtures/qemu-device-help), the plan's series, the variant's own descriptor and QEMU argv,
// and a fake bench whose run.json and report keep each variant as a series beside its path.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../harness/backends/registry.ts';
import type { NicBackend } from '../../harness/backends/types.ts';
import { lighten, seriesPaths, variantPath } from '../../harness/backends/variant.ts';
import { loadProfile } from '../../harness/config/load.ts';
import { guestFor, resolvePlan, type RunPlan, type ScenarioPlan } from '../../harness/config/plan.ts';
import { checkVariants, describeVariant, pathDevice, splitSeriesId, variantId, type VariantPlan } from '../../harness/config/variants.ts';
import { guestIdentity } from '../../harness/host/identity.ts';
import { buildReportModel } from '../../harness/report/build.ts';
import { loadRun } from '../../harness/report/load.ts';
import { runRecordSchema } from '../../harness/run/record.ts';
import { parseDeviceHelp } from '../../harness/vm/device-help.ts';
import { qemuArgv } from '../../harness/vm/qemu-args.ts';
import { usageErrorOf } from '../helpers/errors.ts';
import { fakeBench, FakeLauncher, fakePath, fakePlan } from '../helpers/fake-run.ts';

const fixture = (driver: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'qemu-device-help', `${driver}.txt`), 'utf8');
const help = (driver: string) => parseDeviceHelp(driver, fixture(driver));
const registry = new Map<string, NicBackend>(Object.entries(backends));

const dir = mkdtempSync(join(tmpdir(), 'iopath-variants-'));
function write(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
const base = { backends: ['e1000', 'virtio-net', 'vhost-user-ts'], repetitions: 2, scenarios: [{ kind: 'tcp-stream', durationSec: 3 }] };

/** Load a profile, resolve its plan and check its variants as the runner does, against the captured listings. */
function planOf(name: string, content: unknown): RunPlan {
  const plan = resolvePlan(loadProfile(write(name, content)));
  checkVariants(plan.profile.path, plan.variants, registry, help, '7.2.22');
  return plan;
}

describe('profile: variants', () => {
  it('reads the documented form, off as a boolean', () => {
    const plan = planOf('ok.yaml', `
backends: [virtio-net, vhost-user-ts]
scenarios: [{kind: tcp-stream}]
variants:
  virtio-net:
    - name: no-event-idx
      device: { event_idx: off }
    - name: mtu9000
      mtu: 9000
  vhost-user-ts:
    - name: q2
      queues: 2
`);
    expect(plan.variants).toEqual([
      { id: 'virtio-net~no-event-idx', of: 'virtio-net', name: 'no-event-idx', device: { event_idx: false } },
      { id: 'virtio-net~mtu9000', of: 'virtio-net', name: 'mtu9000', device: {}, mtu: 9000 },
      { id: 'vhost-user-ts~q2', of: 'vhost-user-ts', name: 'q2', device: {}, queues: 2 },
    ]);
  });

  const cases: [string, unknown, RegExp][] = [
    ['a variant of a path not measured', { ...base, backends: ['e1000'], variants: { 'virtio-net': [{ name: 'x', mtu: 9000 }] } }, /variants\.virtio-net: "virtio-net" is not in backends \(e1000\)/],
    ['a variant of an unknown path', { ...base, variants: { 'virtio-nett': [{ name: 'x', mtu: 9000 }] } }, /variants\.virtio-nett: unknown backend "virtio-nett"; known: e1000/],
    ['a name used twice', { ...base, variants: { 'virtio-net': [{ name: 'x', mtu: 9000 }, { name: 'x', queues: 2 }] } }, /variants\.virtio-net\[1\]\.name: variant name "x" is used twice for virtio-net/],
    ['a variant that changes nothing', { ...base, variants: { 'virtio-net': [{ name: 'same' }] } }, /variants\.virtio-net\[0\]: variant "same" changes nothing/],
    ['a name that cannot be part of a host resource name', { ...base, variants: { 'virtio-net': [{ name: 'No Idx', mtu: 9000 }] } }, /variants\.virtio-net\[0\]\.name: use lower-case letters/],
    ['an unknown key', { ...base, variants: { 'virtio-net': [{ name: 'x', devices: { event_idx: false } }] } }, /variants\.virtio-net\[0\]: unknown key "devices"; allowed: name, description, device, mtu, queues/],
    ['an MTU beyond jumbo frames', { ...base, variants: { 'virtio-net': [{ name: 'x', mtu: 65000 }] } }, /variants\.virtio-net\[0\]\.mtu: Too big/],
  ];
  for (const [what, content, message] of cases) {
    it(`refuses ${what} (exit 2, the field named)`, () => {
      expect(usageErrorOf(() => loadProfile(write(`${what.replace(/\W+/g, '-')}.json`, content))).message).toMatch(message);
    });
  }
});

describe('device properties against what QEMU lists', () => {
  const check = (variants: Record<string, unknown[]>) => usageErrorOf(() => planOf(`check-${Object.keys(variants).join('-')}-${Math.random()}.json`, { ...base, variants })).message;

  it('names an unknown property by its profile field and lists the allowed ones', () => {
    const msg = check({ 'virtio-net': [{ name: 'x', device: { event_idx: false } }, { name: 'y', device: { foo: true } }] });
    expect(msg).toMatch(/invalid profile \(1 problem\):\n {2}variants\.virtio-net\[1\]\.device\.foo: virtio-net-pci of QEMU 7\.2\.22 has no property "foo"; allowed: .*event_idx/);
    // What the path sets itself and QOM children are not offered.
    const allowed = /allowed: (.*)$/m.exec(msg)![1]!.split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['mrg_rxbuf', 'indirect_desc', 'packed', 'csum', 'guest_csum', 'host_tso4', 'guest_tso4', 'rx_queue_size', 'tx_queue_size']));
    expect(allowed).not.toEqual(expect.arrayContaining(['mac']));
    expect(allowed).not.toContain('netdev');
    expect(allowed).not.toContain('virtio-backend');
  });

  it('refuses a value of the wrong type or out of range, with the type', () => {
    expect(check({ 'virtio-net': [{ name: 'x', device: { event_idx: 'maybe' } }] })).toMatch(/variants\.virtio-net\[0\]\.device\.event_idx: bad value for virtio-net-pci property event_idx \(bool\): "maybe" is not a boolean/);
    expect(check({ 'vhost-user-ts': [{ name: 'x', device: { rx_queue_size: 100000 } }] })).toMatch(/variants\.vhost-user-ts\[0\]\.device\.rx_queue_size: .*100000 is out of range for uint16/);
  });

  it('refuses what the path sets itself, and says what to write for queues', () => {
    expect(check({ 'virtio-net': [{ name: 'x', device: { mac: '52:54:00:00:00:01' } }] })).toMatch(/device\.mac: "mac" is set by the virtio-net path itself \(netdev, mac, mq, vectors\)/);
    expect(check({ 'virtio-net': [{ name: 'x', device: { mq: true } }] })).toMatch(/device\.mq: .*set the variant's queues instead/);
  });

  it('checks e1000 against e1000\'s own list: no virtio property, one queue pair', () => {
    const msg = check({ e1000: [{ name: 'x', device: { event_idx: false } }, { name: 'y', queues: 2 }] });
    expect(msg).toMatch(/2 problems/);
    expect(msg).toMatch(/variants\.e1000\[0\]\.device\.event_idx: e1000 of QEMU 7\.2\.22 has no property "event_idx"; allowed: .*mitigation/);
    expect(msg).toMatch(/variants\.e1000\[1\]\.queues: e1000 of QEMU 7\.2\.22 has one queue pair/);
    expect(() => planOf('e1000-ok.json', { ...base, variants: { e1000: [{ name: 'no-mitigation', device: { mitigation: 'off' } }, { name: 'mtu9000', mtu: 9000 }] } })).not.toThrow();
  });

  it('knows each path\'s device and the properties it sets', () => {
    expect(pathDevice(backends['virtio-net'])).toEqual({ driver: 'virtio-net-pci', own: ['netdev', 'mac', 'mq', 'vectors'] });
    expect(pathDevice(backends.e1000)).toEqual({ driver: 'e1000', own: ['netdev', 'mac'] });
    expect(pathDevice(backends['vhost-user-testpmd']).driver).toBe('virtio-net-pci');
  });
});

describe('plan: each variant a series of its own', () => {
  const plan = planOf('plan.yaml', {
    ...base,
    guest: { vcpus: 1, queues: 1 },
    variants: { 'virtio-net': [{ name: 'no-event-idx', device: { event_idx: false } }, { name: 'q2', queues: 2, mtu: 9000 }], e1000: [{ name: 'mtu9000', mtu: 9000 }] },
  });

  it('lists each variant right after its path', () => {
    expect(plan.backends).toEqual(['e1000', 'e1000~mtu9000', 'virtio-net', 'virtio-net~no-event-idx', 'virtio-net~q2', 'vhost-user-ts']);
    expect(splitSeriesId('virtio-net~no-event-idx')).toEqual({ path: 'virtio-net', variant: 'no-event-idx' });
    expect(splitSeriesId('virtio-net')).toEqual({ path: 'virtio-net' });
    expect(variantId('e1000', 'mtu9000')).toBe('e1000~mtu9000');
  });

  it('gives a variant its own queues, MTU and the vCPUs its queues need; others keep the profile\'s', () => {
    expect(guestFor(plan, 'virtio-net~q2')).toEqual({ memoryMiB: 512, vcpus: 2, queues: 2, mtu: 9000 });
    expect(guestFor(plan, 'virtio-net')).toEqual({ memoryMiB: 512, vcpus: 1, queues: 1, mtu: 1500 });
    expect(guestFor(plan, 'e1000~mtu9000').mtu).toBe(9000);
    expect(describeVariant(plan.variants[2]!)).toBe('2 queue pairs, mtu 9000');
  });

  it('takes a path\'s variants with it when --backends leaves the path out, and keeps them when it names it', () => {
    const loaded = loadProfile(write('plan2.json', { ...base, variants: { 'virtio-net': [{ name: 'x', mtu: 9000 }] } }));
    expect(resolvePlan(loaded, { backends: 'e1000' }).backends).toEqual(['e1000']);
    expect(resolvePlan(loaded, { backends: 'e1000' }).variants).toEqual([]);
    expect(resolvePlan(loaded, { backends: 'virtio-net' }).backends).toEqual(['virtio-net', 'virtio-net~x']);
  });
});

describe('a variant\'s descriptor and QEMU argv', () => {
  const v: VariantPlan = { id: 'virtio-net~no-event-idx', of: 'virtio-net', name: 'no-event-idx', device: { event_idx: false, rx_queue_size: 1024 } };
  const argvOf = (path: NicBackend) => {
    const nic = path.guestArgs(guestIdentity(0, 'abc123'), { runtimeDir: '/run/iopath/r/x', accel: 'tcg', qemuVersion: { major: 7, minor: 2, micro: 22 } });
    return qemuArgv({ name: 'a', binary: 'qemu-system-x86_64', accel: 'tcg', memoryMiB: 512, vcpus: 1, kernel: 'k', initrd: 'i', append: '', qmpSocket: 'q', agentSocket: 's', serialLog: 'l', nic });
  };

  it('appends the properties to the path\'s own -device, and changes nothing else', () => {
    const plain = argvOf(backends['virtio-net']);
    const varied = argvOf(variantPath(backends['virtio-net'], v));
    const dev = (argv: string[]) => argv.find((a) => a.startsWith('virtio-net-pci,'))!;
    expect(dev(varied)).toBe(`${dev(plain)},event_idx=off,rx_queue_size=1024`);
    expect(varied.filter((a) => !a.startsWith('virtio-net-pci,'))).toEqual(plain.filter((a) => !a.startsWith('virtio-net-pci,')));
  });

  it('is shown beside its path: lighter colour, ordered right after it, never the reference', () => {
    const e = variantPath(backends.e1000, { id: 'e1000~mtu9000', of: 'e1000', name: 'mtu9000', device: {}, mtu: 9000 });
    expect(e.id).toBe('e1000~mtu9000');
    expect(e.presentation).toMatchObject({ variantOf: 'e1000', variant: 'mtu9000', reference: false });
    expect(e.presentation.order).toBeGreaterThan(backends.e1000.presentation.order);
    expect(e.presentation.order).toBeLessThan(backends['virtio-net'].presentation.order);
    expect(e.presentation.color).not.toBe(backends.e1000.presentation.color);
    expect(lighten('#000000', 0.5)).toBe('#808080');
    expect(lighten('#0072B2', 0)).toBe('#0072B2');
  });

  it('names its host resources after the variant, so it is up beside its path', async () => {
    const seen: (string | undefined)[] = [];
    const spy: NicBackend = { ...fakePath('p'), setUp: async (_scope, ctx) => (seen.push(ctx.variant), { notes: [] }) };
    const series = seriesPaths(['p', 'p~v'], [{ id: 'p~v', of: 'p', name: 'v', device: {}, mtu: 9000 }], new Map([['p', spy]]));
    for (const path of series.values()) await path.setUp({} as never, {} as never);
    expect(seen).toEqual([undefined, 'v']);
  });
});

/** A fake path with a virtio-net-pci NIC, so that variants can be checked and appended. */
const virtioFake = (id: string): NicBackend => ({
  ...fakePath(id),
  guestArgs: (g) => ({ chardevs: [], netdevs: [], devices: [{ driver: 'virtio-net-pci', props: { netdev: 'net0', mac: g.mac } }], sharedMemory: false }),
});
/** Bits as the fake guest reports them by default: event_idx (bit 29) on. */
const EVENT_IDX_OFF = '1100011111111111111111111111101100000000000000000000000000000000\n';

const tcp: ScenarioPlan = { kind: 'tcp-stream', topology: 'guest-to-guest', durationSec: 1, omitSec: 0, parallel: 1, name: 'tcp-stream' };

async function variantBench(o: { followed: boolean }) {
  const paths = [virtioFake('p1')];
  const variants: VariantPlan[] = [
    { id: 'p1~no-event-idx', of: 'p1', name: 'no-event-idx', device: { event_idx: false } },
    { id: 'p1~mtu9000', of: 'p1', name: 'mtu9000', device: {}, mtu: 9000 },
  ];
  const plan: RunPlan = { ...fakePlan(['p1', 'p1~no-event-idx', 'p1~mtu9000'], { repetitions: 1, warmup: 0, scenarios: [tcp] }), variants };
  const launched: { path: string; nic: string }[] = [];
  const launcher = new FakeLauncher({
    exec: (call) => (o.followed && call.path === 'p1~no-event-idx' && call.argv[0] === 'cat' && call.argv[1]!.endsWith('/device/features') ? { stdout: EVENT_IDX_OFF, stderr: '', status: 0 } : undefined),
  });
  const launch = launcher.launch.bind(launcher);
  launcher.launch = async (scope, vm) => {
    launched.push({ path: vm.runtimeDir.split('/').pop()!, nic: vm.nic?.devices[0] ? `${vm.nic.devices[0].driver},${Object.entries(vm.nic.devices[0].props).map(([k, v]) => `${k}=${String(v)}`).join(',')}` : '' });
    return launch(scope, vm);
  };
  const warned: string[] = [];
  const r = await fakeBench({
    paths,
    plan,
    launcher,
    reporter: { warn: (t) => warned.push(t) },
    seams: { deviceHelp: (_binary, driver) => help(driver) },
  });
  return { ...r, launched, warned };
}

describe('a bench with variants (fakes)', () => {
  let followed: Awaited<ReturnType<typeof variantBench>>;
  let refused: Awaited<ReturnType<typeof variantBench>>;
  beforeAll(async () => {
    followed = await variantBench({ followed: true });
    refused = await variantBench({ followed: false });
  });

  it('measures each variant as its own series and records what it changed and negotiated', () => {
    const { outcome, launched, warned } = followed;
    expect(outcome?.exitCode).toBe(0);
    const record = runRecordSchema.parse(JSON.parse(readFileSync(join(outcome!.runDir, 'run.json'), 'utf8')));
    expect(record.backends.map((b) => [b.id, b.status])).toEqual([['p1', 'ok'], ['p1~no-event-idx', 'ok'], ['p1~mtu9000', 'ok']]);
    const [p1, noIdx, mtu] = record.backends;
    expect(p1!.variant).toBeUndefined();
    expect(noIdx!.variant).toEqual({ of: 'p1', name: 'no-event-idx', device: { event_idx: false } });
    expect(mtu!.variant).toEqual({ of: 'p1', name: 'mtu9000', device: {}, mtu: 9000 });
    expect(noIdx!.presentation).toMatchObject({ variantOf: 'p1', variant: 'no-event-idx' });
    // Negotiated features read back per guest: the variant's differ from its path's by event_idx.
    expect(p1!.features!.a).toContain('virtio:RING_EVENT_IDX');
    expect(noIdx!.features!.a).not.toContain('virtio:RING_EVENT_IDX');
    expect(noIdx!.negotiated!.a!.virtioBits).toBe(EVENT_IDX_OFF.trim());
    expect(warned.filter((w) => /not followed/.test(w))).toEqual([]);
    // The property went onto the NIC of the variant's guests only.
    expect(launched.filter((l) => l.path === 'p1~no-event-idx').map((l) => l.nic)).toEqual([expect.stringMatching(/event_idx=false$/), expect.stringMatching(/event_idx=false$/)]);
    expect(launched.filter((l) => l.path !== 'p1~no-event-idx').every((l) => !l.nic.includes('event_idx'))).toBe(true);
    // Samples are the variant's own series.
    const samples = readFileSync(join(outcome!.runDir, 'samples.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { backend: string });
    expect(new Set(samples.map((s) => s.backend))).toEqual(new Set(['p1', 'p1~no-event-idx', 'p1~mtu9000']));
  });

  it('keeps each variant a series in the report, linked to its path', () => {
    const { outcome } = followed;
    const model = buildReportModel([loadRun(outcome!.runDir)], { generatedAt: '2026-12-03T00:00:00Z' });
    const throughput = model.series.filter((s) => s.metric === 'throughput' && s.scenario === 'tcp-stream').map((s) => s.backend);
    expect(throughput).toEqual(expect.arrayContaining(['p1', 'p1~no-event-idx', 'p1~mtu9000']));
    expect(model.paths.find((p) => p.id === 'p1~no-event-idx')).toMatchObject({ variantOf: 'p1', variant: 'no-event-idx' });
    expect(model.backends.find((b) => b.id === 'p1~mtu9000')?.variant).toMatchObject({ of: 'p1', mtu: 9000 });
  });

  it('a property the guests did not get is a warning at run time, a note, a run.json entry and a report warning', () => {
    const { outcome, warned } = refused;
    const record = runRecordSchema.parse(JSON.parse(readFileSync(join(outcome!.runDir, 'run.json'), 'utf8')));
    const noIdx = record.backends.find((b) => b.id === 'p1~no-event-idx')!;
    expect(noIdx.variant!.refused).toEqual([
      { guest: 'a', property: 'event_idx', feature: 'VIRTIO_RING_F_EVENT_IDX', asked: false, negotiated: true },
      { guest: 'b', property: 'event_idx', feature: 'VIRTIO_RING_F_EVENT_IDX', asked: false, negotiated: true },
    ]);
    expect(noIdx.notes).toContain('event_idx=off was not followed in guest a: VIRTIO_RING_F_EVENT_IDX was negotiated');
    expect(warned).toContain('p1~no-event-idx: event_idx=off was not followed in guest b: VIRTIO_RING_F_EVENT_IDX was negotiated');
    const model = buildReportModel([loadRun(outcome!.runDir)], { generatedAt: '2026-12-03T00:00:00Z' });
    const all = model.warnings.flatMap((w) => [w, ...(w.findings ?? [])]);
    expect(all.find((w) => w.code === 'variant-refused')).toMatchObject({
      severity: 'warning',
      subject: { backend: 'p1~no-event-idx' },
      message: 'event_idx=off was not followed: VIRTIO_RING_F_EVENT_IDX was negotiated by guests a, b',
    });
  });

  it('refuses a property this QEMU does not list before anything of the run exists (exit 2)', async () => {
    const plan: RunPlan = { ...fakePlan(['p1', 'p1~x']), variants: [{ id: 'p1~x', of: 'p1', name: 'x', device: { no_such_thing: true } }] };
    const { error, resultsRoot } = await fakeBench({ paths: [virtioFake('p1')], plan, seams: { deviceHelp: (_b, driver) => help(driver) } });
    expect(error).toMatchObject({ exitCode: 2, message: expect.stringMatching(/variants\.p1\[0\]\.device\.no_such_thing: virtio-net-pci of QEMU 7\.2\.0 has no property "no_such_thing"/) });
    expect(readdirSync(resultsRoot)).toEqual([]);
  });
});
