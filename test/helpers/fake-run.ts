// A whole bench without the machine: fake paths (no host set-up), a fake guest launcher whose guests
// answer like the real agent with real captured tool output (test/fixtures/iperf3, sockperf and its
// full log), fake collectors, and no-op host seams. The runner, the tree, the scenarios, the windows
// and the store are the real ones. Each test says how a guest or a path misbehaves.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { NicBackend, Requirement } from '../../harness/backends/types.ts';
import type { Collector } from '../../harness/collectors/types.ts';
import type { RunPlan, ScenarioPlan } from '../../harness/config/plan.ts';
import { GuestError, TimeoutError } from '../../harness/errors.ts';
import type { HostFacts } from '../../harness/host/facts.ts';
import { formatCpuList } from '../../harness/host/placement.ts';
import type { Scope } from '../../harness/host/scope.ts';
import type { GuestImage } from '../../harness/image/build.ts';
import type { CollectorFactory, GuestLauncher, LaunchedGuest } from '../../harness/run/launcher.ts';
import type { Reporter } from '../../harness/run/progress.ts';
import type { LabProvenance } from '../../harness/run/record.ts';
import type { Placer, PlaceRequest } from '../../harness/run/placement-step.ts';
import { runBench, type BenchOutcome, type BenchSeams } from '../../harness/run/runner.ts';
import type { ExecResult, GuestControl } from '../../harness/vm/agent.ts';
import type { QmpClient } from '../../harness/vm/qmp.ts';
import type { VmOptions } from '../../harness/vm/vm.ts';
import { FULL_LOG_GUEST_PATH } from '../../harness/workloads/sockperf-log.ts';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const read = (...p: string[]) => readFileSync(join(fixtures, ...p), 'utf8');
const IPERF3_TCP = read('iperf3', 'iperf3-J_tcp_loopback_iperf3.12.json');
const IPERF3_UDP = read('iperf3', 'iperf3-J_udp_-l64_-b0_loopback_iperf3.12.json');
const SOCKPERF = read('sockperf', 'sockperf-3.7_ping-pong_udp_loopback.txt');
const SOCKPERF_FULL_LOG = read('sockperf', 'sockperf-3.7_ping-pong_udp_loopback_full-log_first-4000-of-59368.csv');

/** One program run in a fake guest, as the test sees it. */
export interface ExecCall {
  path: string;
  guest: string;
  argv: readonly string[];
  /** How many times this guest ran this program before (0 for the first). */
  nth: number;
}

/** What a test can make a guest do instead of answering normally: a result, an error, or losing the guest. */
export type Misbehaviour = ExecResult | Error | 'lose-guest' | undefined;

export interface FakeGuests {
  /** Launching this path's guest throws. */
  launchFails?: (path: string, guest: string) => Error | undefined;
  /** This path's guest never reports ready. */
  neverReady?: (path: string, guest: string) => boolean;
  /** Called before each program a guest runs; a return value replaces the normal answer. */
  exec?: (call: ExecCall, signal: AbortSignal | undefined) => Misbehaviour;
}

/** Guests that answer like the image's agent: iperf3 and sockperf print captured output, servers listen. */
export class FakeLauncher implements GuestLauncher {
  readonly launched: string[] = [];
  readonly shutDown: string[] = [];
  readonly calls: ExecCall[] = [];
  /** Launches, readiness, QMP stop/cont and shutdowns in the order they happened: `launch p1/a`, `ready p1/a`, ..., `down p1/a` */
  readonly events: string[] = [];
  readonly #o: FakeGuests;

  constructor(o: FakeGuests = {}) {
    this.#o = o;
  }

  async launch(scope: Scope, vm: VmOptions): Promise<LaunchedGuest> {
    const path = basename(vm.runtimeDir);
    const failure = this.#o.launchFails?.(path, vm.name);
    if (failure) throw failure;
    const id = `${path}/${vm.name}`;
    this.launched.push(id);
    this.events.push(`launch ${id}`);
    scope.defer(`fake guest ${id}`, () => {
      this.shutDown.push(id);
      this.events.push(`down ${id}`);
    });
    const counts = new Map<string, number>();
    let broken: Error | undefined;
    const calls = this.calls;
    const hook = this.#o.exec;
    // A stopped guest (QMP stop) runs nothing: a program started in it is a harness bug.
    let stopped = false;
    const events = this.events;
    const qmp = {
      execute: async (command: string) => {
        if (command === 'stop' || command === 'cont') {
          stopped = command === 'stop';
          events.push(`${command} ${id}`);
        }
        return {};
      },
    } as unknown as QmpClient;
    const exec = async (argv: readonly string[], _timeoutSec: number, signal?: AbortSignal, onExit?: () => void): Promise<ExecResult> => {
      if (broken) throw broken;
      if (stopped) throw new GuestError(`guest ${vm.name} of ${path} is stopped (QMP stop) but was asked to run ${argv[0]}`);
      signal?.throwIfAborted();
      const call = { path, guest: vm.name, argv, nth: counts.get(argv[0]!) ?? 0 };
      counts.set(argv[0]!, call.nth + 1);
      calls.push(call);
      const odd = hook?.(call, signal);
      signal?.throwIfAborted();
      if (odd === 'lose-guest') {
        broken = new GuestError(`guest ${vm.name}: control channel closed`);
        throw broken;
      }
      if (odd instanceof Error) throw odd;
      const result = odd ?? answer(argv);
      onExit?.();
      return result;
    };
    const agent: GuestControl = {
      guest: vm.name,
      get broken() {
        return broken;
      },
      exec,
      spawn: async () => 100,
      netup: async () => 'eth0',
    };
    const neverReady = this.#o.neverReady?.(path, vm.name) ?? false;
    return {
      name: vm.name,
      pid: process.pid,
      qmp,
      agent,
      serialLog: join(vm.logDir, `serial-${vm.name}.log`),
      qemuLog: join(vm.logDir, `qemu-${vm.name}.log`),
      waitReady: async (timeoutMs) => {
        await new Promise((r) => setTimeout(r, 10));
        if (!this.events.includes(`ready ${id}`)) this.events.push(`ready ${id}`);
        if (neverReady) throw new GuestError(`guest ${vm.name} did not become ready within ${(timeoutMs / 1000).toFixed(0)} s`, { cause: new TimeoutError('boot', timeoutMs) });
        return '6.1.0-fake';
      },
    };
  }
}

/** The normal answer of a guest to a program. */
function answer(argv: readonly string[]): ExecResult {
  const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', status: 0 });
  if (argv[0] === 'netstat') return ok('tcp 0 0 0.0.0.0:5201 0.0.0.0:* LISTEN\nudp 0 0 10.99.0.1:11111 0.0.0.0:*\n');
  if (argv[0] === 'cat' && argv[1]!.endsWith('/device/features')) return ok('1100011111111111111111111111111100000000000000000000000000000000\n');
  if (argv[0] === 'iperf3') return ok(argv.includes('--udp') ? IPERF3_UDP : IPERF3_TCP);
  if (argv[0] === 'sockperf') return ok(SOCKPERF);
  if (argv[0] === 'head' && argv.at(-1) === FULL_LOG_GUEST_PATH) return ok(SOCKPERF_FULL_LOG);
  if (argv[0] === 'rm') return ok('');
  return { stdout: '', stderr: `${argv[0]}: not in the fake guest`, status: 127 };
}

/** A counter that counts what the test says, or fails where the test says. */
export class FakeCollector implements Collector {
  readonly id: string;
  readonly source = 'fake';
  readonly #o: { unavailable?: string; failStop?: boolean };
  constructor(id: string, o: { unavailable?: string; failStop?: boolean } = {}) {
    this.id = id;
    this.#o = o;
  }
  async availability() {
    return this.#o.unavailable ? { available: false as const, reason: this.#o.unavailable } : { available: true as const };
  }
  async start(): Promise<void> {}
  async stop() {
    if (this.#o.failStop) throw new Error(`${this.id} lost its counters`);
    return [{ metric: 'hostCpu' as const, value: 0.5, unit: 's' as const, source: 'proc', dims: { role: 'qemu a', kind: 'vcpu' } }];
  }
}

export function fakeCollectors(inner: () => Collector[] = () => [new FakeCollector('fake-cpu')]): CollectorFactory & { created: number } {
  const factory = {
    created: 0,
    qemuArgs: () => [],
    create: (scene: { pathCollectors: readonly Collector[] }) => {
      factory.created++;
      return { inner: [...inner(), ...scene.pathCollectors], outer: [] };
    },
  };
  return factory;
}

/**
 * Placement that pins nothing: it records what it was asked, as if two CPUs were there, and in
 * `events` the order of placements (`apply <n>`), undos (`finish <n>`) and iopath's own affinity
 * (`self <cpu list>`); a test's path may add its own events to that list.
 */
export class FakePlacer implements Placer {
  readonly requests: PlaceRequest[] = [];
  readonly finished: number[] = [];
  readonly events: string[] = [];
  cpusAsked = 0;
  cpus() {
    this.cpusAsked++;
    return { cpus: [0, 1], isolated: [] };
  }
  async pinSelf(cpus: readonly number[]) {
    this.events.push(`self ${formatCpuList(cpus)}`);
  }
  readiness() {
    return [{ id: 'governor', title: 'CPU frequency governor', status: 'unknown' as const, detail: 'unknown (no cpufreq on this host: a VM, or no frequency driver)' }];
  }
  async apply(req: PlaceRequest) {
    this.requests.push(req);
    const n = this.requests.length;
    this.events.push(`apply ${n}`);
    const threads = req.guests.map((g, i) => ({ role: `qemu ${g.name}`, kind: 'vcpu', tid: 1000 + i, comm: 'CPU 0/TCG', ...(req.plan ? { pinned: String(req.plan.units.find((u) => u.id === `vcpu ${g.name}/0`)!.cpu) } : {}), allowed: req.plan ? String(req.plan.units.find((u) => u.id === `vcpu ${g.name}/0`)!.cpu) : '0-1' }));
    return {
      record: { policy: req.policy, cpus: formatCpuList(req.cpus), ...(req.plan ? { housekeeping: req.plan.housekeeping, units: req.plan.units, shared: req.plan.shared } : {}), threads, notes: [] },
      finish: async () => {
        this.finished.push(n);
        this.events.push(`finish ${n}`);
        return { seconds: 1, busyCpus: 0.01, top: [], status: 'ok' as const, detail: 'processes outside the run kept 0.01 CPUs busy on average over 1 s' };
      },
    };
  }
}

export interface FakePathOptions {
  unmet?: Requirement;
  setUpFails?: Error;
  teardownFails?: Error;
  /** Collectors of the path's own counters. */
  collectors?: () => Collector[];
  /** The path has a busy-polling helper: its quiesce and resume calls are logged here (`quiet p1`, `poll p1`). */
  poller?: string[];
}

/** A path with no host side at all: what it does is what the test says. */
export function fakePath(id: string, o: FakePathOptions = {}): NicBackend {
  return {
    id,
    title: `${id} (fake)`,
    summary: 'a path that exists only in a test',
    presentation: { order: 100, color: '#123456' },
    debianPackages: [],
    requirements: () => (o.unmet ? [o.unmet] : [{ what: 'nothing', ok: true }]),
    guestArgs: () => ({ chardevs: [], netdevs: [], devices: [], sharedMemory: false }),
    async setUp(scope) {
      if (o.teardownFails) {
        const err = o.teardownFails;
        scope.defer(`${id} host side`, () => {
          throw err;
        });
      }
      if (o.setUpFails) throw o.setUpFails;
      const poller = o.poller;
      return {
        notes: [`${id} set up`],
        ...(o.collectors ? { collectors: o.collectors } : {}),
        ...(poller ? { quiesce: async () => void poller.push(`quiet ${id}`), resume: async () => void poller.push(`poll ${id}`) } : {}),
      };
    },
  };
}

const tcp: ScenarioPlan = { kind: 'tcp-stream', topology: 'guest-to-guest', durationSec: 1, omitSec: 0, parallel: 1, name: 'tcp-stream' };
const latency: ScenarioPlan = { kind: 'latency', topology: 'guest-to-guest', durationSec: 1, name: 'latency' };

export function fakePlan(paths: readonly string[], o: Partial<Pick<RunPlan, 'repetitions' | 'warmup' | 'collectors' | 'flame' | 'order' | 'placement'>> & { scenarios?: ScenarioPlan[] } = {}): RunPlan {
  return {
    profile: { name: 'fake', path: '/fake.yaml', hash: 'f00' },
    backends: [...paths],
    variants: [],
    repetitions: o.repetitions ?? 2,
    warmup: o.warmup ?? 1,
    accel: 'tcg',
    collectors: o.collectors ?? true,
    flame: o.flame ?? false,
    switchBusyPoll: false,
    order: o.order ?? 'rounds',
    warmupSec: 1,
    placement: o.placement ?? 'none',
    guest: { memoryMiB: 64, vcpus: 1, queues: 1 },
    scenarios: o.scenarios ?? [tcp, latency],
    timeouts: { bootSec: 5, probeSec: 5, netupSec: 5 },
  };
}

const host = { hostname: 'fake-host', kernel: '6.1.0', cpuModel: 'fake', cpuCount: 2, memoryMiB: 1024, qemu: { path: 'qemu-system-x86_64', version: '7.2.0' }, devices: {}, tools: {} } as unknown as HostFacts;
const image: GuestImage = { hash: 'img', dir: '/img', kernel: '/img/vmlinux', kernelBoot: 'pvh', initrd: '/img/initrd', guestKernel: '6.1.0-fake', cmdline: '', packages: {}, cached: true };

export interface FakeBench {
  paths: NicBackend[];
  plan?: RunPlan;
  launcher?: FakeLauncher;
  collectors?: CollectorFactory;
  signal?: AbortSignal;
  reporter?: Reporter;
  seams?: Partial<BenchSeams>;
  /** Whether the run's provenance says it ran inside the nested KVM lab. */
  lab?: boolean;
}

/** The lab a fake run says it ran in. */
const FAKE_LAB: LabProvenance = {
  nested: true,
  lab: '20261202-000000-fab000',
  startedAt: '2026-12-02T00:00:00.000Z',
  virtualisation: 'AMD SVM with nested paging, emulated by QEMU TCG (-cpu max)',
  l0: { hostname: 'fake-l0', kernel: '6.1.0', cpuModel: 'fake', cpuCount: 2, memoryMiB: 24576, qemuVersion: '7.2.0', accel: 'tcg' },
  l1: { kernel: '6.1.0-fake', cpus: 2, memoryMiB: 3072, image: 'lab-fake' },
  real: ['VM exits'],
  notRepresentative: ['throughput'],
};

/** Run the real runner on fakes; resolves with its outcome, or with the error it threw and the run folder. */
export async function fakeBench(o: FakeBench): Promise<{ outcome?: BenchOutcome; error?: unknown; resultsRoot: string }> {
  const resultsRoot = mkdtempSync(join(tmpdir(), 'iopath-fake-results-'));
  const seams: Partial<BenchSeams> = {
    paths: new Map(o.paths.map((p) => [p.id, p])),
    launcher: o.launcher ?? new FakeLauncher(),
    collectors: o.collectors ?? fakeCollectors(),
    placer: new FakePlacer(),
    // A fixed reading: the real probe spends 50 ms of CPU, which adds up over many fake repetitions.
    speedProbe: () => ({ memNs: 100, spinNs: 1700, cpu: 0 }),
    hostGuard: { lock: () => () => undefined, recover: async () => ({ runs: [], processGroups: 0, netns: [], resultsMarked: [], notes: [] }) },
    probeHost: async () => host,
    image: async () => image,
    accel: async () => ({ kind: 'tcg', reason: 'a fake run' }),
    provenance: async () => ({
      hostname: host.hostname, hostKernel: host.kernel, cpuModel: host.cpuModel, cpuCount: 2, memoryMiB: 1024, qemuVersion: '7.2.0', qemuBinary: 'qemu-system-x86_64',
      guestKernel: image.guestKernel, image: { hash: image.hash, kernel: image.kernel, initrd: image.initrd, packages: {} }, accel: { kind: 'tcg', reason: 'a fake run' },
      gitCommit: 'fake', gitDirty: false, iopathVersion: '0', nodeVersion: process.version,
      ...(o.lab ? { lab: FAKE_LAB } : {}),
    }),
    runtimeRoot: mkdtempSync(join(tmpdir(), 'iopath-fake-runtime-')),
    availableMemoryMiB: () => 16384,
    ...o.seams,
  };
  try {
    const outcome = await runBench({ plan: o.plan ?? fakePlan(o.paths.map((p) => p.id)), argv: ['test'], resultsRoot, signal: o.signal ?? new AbortController().signal, reporter: o.reporter ?? {}, seams });
    return { outcome, resultsRoot };
  } catch (error) {
    return { error, resultsRoot };
  }
}
