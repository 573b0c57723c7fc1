// The scenario table: each kind of traffic is one row that knows how to prepare its servers, run one
// repetition, turn the tool's output into samples, undo what it changed, and how long a repetition
// may take. The runner loops over rows; it never branches on a scenario's kind.

import { GuestError } from '../errors.ts';
import type { ScenarioPlan } from '../config/plan.ts';
import type { Dims, Sample } from '../samples.ts';
import type { Endpoint } from './endpoint.ts';
import type { ScenarioKind } from './kinds.ts';
import { IPERF3_PORT, iperf3ServerArgv, iperf3TcpClientArgv, iperf3UdpClientArgv, parseIperf3Json, parseIperf3UdpJson } from './iperf3.ts';
import { disableOffloads, restoreOffloads, type OffloadState } from './offloads.ts';
import { FULL_LOG_FETCH_SEC, fetchFullLog, latencySamples } from './latency.ts';
import { SOCKPERF_PORT, parseSockperf, sockperfPingPongArgv, sockperfServerArgv } from './sockperf.ts';
import { FULL_LOG_GUEST_PATH } from './sockperf-log.ts';

export interface ScenarioContext {
  /** Receives the traffic: guest A, or the host end of the path (guest-to-host topology). */
  server: Endpoint;
  /** Sends it: guest B. */
  client: Endpoint;
  /** Both guests, for settings that must match on each side (offloads). */
  guests: readonly Endpoint[];
  signal: AbortSignal;
  /** Called when the traffic of a measured variant has ended (the client tool exited). */
  trafficDone?: () => void;
}

export interface RawOutput {
  /** File name under the backend's raw/ folder. */
  name: string;
  /** The output, or its bytes when the scenario compressed it (a `.gz` name). */
  text: string | Buffer;
}

export interface RepResult {
  samples: Sample[];
  raw: RawOutput[];
  /** What the repetition's record should say about how its numbers were obtained (a cap, a fallback). */
  notes?: string[];
}

type PlanOf<K extends ScenarioKind> = Extract<ScenarioPlan, { kind: K }>;

/**
 * One measured part of a repetition. Most scenarios have one; udp-small has one per payload size,
 * so that exits and CPU are counted (and divided by packets) for each size separately.
 */
export interface Variant {
  /** Added to the repetition's label in raw file names, e.g. `udp64`. */
  suffix: string;
  /** Dimensions added to every sample of the variant, e.g. `{ payloadBytes: 64 }`. */
  dims: Dims;
  /** Seconds of traffic, for the idle baseline of the same length. */
  trafficSec: number;
}

const single = (trafficSec: number): Variant[] => [{ suffix: '', dims: {}, trafficSec }];

export interface ScenarioImpl<K extends ScenarioKind = ScenarioKind> {
  kind: K;
  title: string;
  /** Debian packages of the server the host end runs in the guest-to-host topology. */
  hostPackages: readonly string[];
  /** The measured parts of one repetition. */
  variants(s: PlanOf<K>): Variant[];
  /** Upper bound in seconds for one variant of one repetition, past which it is recorded as hung. */
  budgetSec(s: PlanOf<K>): number;
  /** Start what the repetitions need (servers) and apply settings; once per boot and scenario. */
  prepare(ctx: ScenarioContext, s: PlanOf<K>): Promise<string[]>;
  /** Run one variant of one repetition. `label` names its raw output files. */
  run(ctx: ScenarioContext, s: PlanOf<K>, label: string, variant: Variant): Promise<RepResult>;
  /** Undo what prepare changed, so the next scenario starts from the same guest state. */
  finish?(ctx: ScenarioContext, s: PlanOf<K>): Promise<void>;
}

/** Grace on top of the traffic time: connection set-up, JSON over the serial line, a slow TCG guest. */
const GRACE_SEC = 30;

/** Run a tool at the client, keeping its output as raw evidence whatever happens. */
async function clientRun(ctx: ScenarioContext, argv: string[], timeoutSec: number, rawName: string): Promise<{ stdout: string; raw: RawOutput[] }> {
  const r = await ctx.client.exec(argv, timeoutSec, ctx.signal, ctx.trafficDone);
  const raw = [{ name: rawName, text: r.stdout + (r.stderr ? `\n--- stderr ---\n${r.stderr}` : '') }];
  if (r.status === 137) {
    throw Object.assign(new GuestError(`${argv[0]} at ${ctx.client.name} did not end and was killed at its time limit of ${timeoutSec} s`), { raw });
  }
  if (r.status !== 0 && !r.stdout.trim()) {
    throw Object.assign(new GuestError(`${argv[0]} at ${ctx.client.name} exited with status ${r.status}: ${r.stderr.trim().slice(-300)}`), { raw });
  }
  return { stdout: r.stdout, raw };
}

/** Parse, attaching the raw output to any error so the runner saves it. */
function parseWith<T>(raw: RawOutput[], parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw Object.assign(err as Error, { raw });
  }
}

/** One iperf3 server answers TCP and UDP tests alike; it listens on TCP for its control channel. */
async function iperf3Server(ctx: ScenarioContext): Promise<void> {
  await ctx.server.ensureServer('iperf3', iperf3ServerArgv(), { port: IPERF3_PORT, proto: 'tcp' }, ctx.signal);
}

async function tcpRep(ctx: ScenarioContext, s: PlanOf<'tcp-stream'> | PlanOf<'tcp-stream-no-offload'>, label: string): Promise<RepResult> {
  const argv = iperf3TcpClientArgv({ server: ctx.server.ip, durationSec: s.durationSec, omitSec: s.omitSec, parallel: s.parallel });
  const { stdout, raw } = await clientRun(ctx, argv, s.durationSec + s.omitSec + GRACE_SEC / 2, `${label}.iperf3.json`);
  const r = parseWith(raw, () => parseIperf3Json(stdout));
  const samples: Sample[] = [
    { metric: 'throughput', value: r.receiverBitsPerSec, unit: 'bit/s', source: 'iperf3' },
    { metric: 'throughputSender', value: r.senderBitsPerSec, unit: 'bit/s', source: 'iperf3' },
    { metric: 'bytesReceived', value: r.bytesReceived, unit: 'bytes', source: 'iperf3' },
  ];
  if (r.retransmits !== undefined) samples.push({ metric: 'retransmits', value: r.retransmits, unit: 'count', source: 'iperf3' });
  return { samples, raw: [{ name: `${label}.iperf3.json`, text: stdout }] };
}

const tcpStream: ScenarioImpl<'tcp-stream'> = {
  kind: 'tcp-stream',
  title: 'TCP stream (iperf3), offloads as the guest driver sets them',
  hostPackages: ['iperf3'],
  variants: (s) => single(s.durationSec + s.omitSec),
  budgetSec: (s) => s.durationSec + s.omitSec + GRACE_SEC,
  async prepare(ctx) {
    await iperf3Server(ctx);
    return [];
  },
  run: tcpRep,
};

/** Offload state of each guest before tcp-stream-no-offload turned it off, to restore afterwards. */
const savedOffloads = new WeakMap<Endpoint, OffloadState>();

const tcpStreamNoOffload: ScenarioImpl<'tcp-stream-no-offload'> = {
  kind: 'tcp-stream-no-offload',
  title: 'TCP stream (iperf3) with GSO, TSO, GRO, scatter-gather and checksum offloads off in both guests',
  hostPackages: ['iperf3'],
  variants: (s) => single(s.durationSec + s.omitSec),
  budgetSec: (s) => s.durationSec + s.omitSec + GRACE_SEC,
  async prepare(ctx) {
    await iperf3Server(ctx);
    const notes: string[] = [];
    for (const g of ctx.guests) {
      const state = await disableOffloads(g, ctx.signal);
      savedOffloads.set(g, state);
      if (state.stillOn.length) notes.push(`guest ${g.name}: offloads that could not be turned off: ${state.stillOn.join(', ')}`);
    }
    return notes;
  },
  run: tcpRep,
  async finish(ctx) {
    for (const g of ctx.guests) {
      const state = savedOffloads.get(g);
      if (state) await restoreOffloads(g, state, ctx.signal);
      savedOffloads.delete(g);
    }
  },
};

const udpSmall: ScenarioImpl<'udp-small'> = {
  kind: 'udp-small',
  title: 'UDP at unlimited offered rate (iperf3 -u -b 0): delivered packets/s and loss, per payload size',
  hostPackages: ['iperf3'],
  variants: (s) => s.payloads.map((payloadBytes) => ({ suffix: `udp${payloadBytes}`, dims: { payloadBytes }, trafficSec: s.durationSec + s.omitSec })),
  budgetSec: (s) => s.durationSec + s.omitSec + GRACE_SEC,
  async prepare(ctx) {
    await iperf3Server(ctx);
    return [];
  },
  async run(ctx, s, label, variant) {
    const payloadBytes = Number(variant.dims.payloadBytes);
    const argv = iperf3UdpClientArgv({ server: ctx.server.ip, durationSec: s.durationSec, omitSec: s.omitSec, payloadBytes });
    const name = `${label}.iperf3.json`;
    const { stdout, raw } = await clientRun(ctx, argv, s.durationSec + s.omitSec + GRACE_SEC / 2, name);
    const r = parseWith(raw, () => parseIperf3UdpJson(stdout));
    const delivered = r.packetsSent - r.packetsLost;
    const samples: Sample[] = [
      { metric: 'packetRate', value: r.deliveredPacketsPerSec, unit: 'pkt/s', source: 'iperf3' },
      { metric: 'lossPercent', value: r.lossPercent, unit: '%', source: 'iperf3' },
      { metric: 'packetsReceived', value: delivered, unit: 'count', source: 'iperf3' },
      { metric: 'bytesReceived', value: delivered * payloadBytes, unit: 'bytes', source: 'iperf3' },
    ];
    return { samples, raw: [{ name, text: stdout }] };
  },
};

const latency: ScenarioImpl<'latency'> = {
  kind: 'latency',
  title: 'Request/response round trips (sockperf ping-pong over UDP): p50 to p99.99 and max, from every round trip',
  hostPackages: ['sockperf'],
  variants: (s) => single(s.durationSec),
  budgetSec: (s) => s.durationSec + GRACE_SEC + FULL_LOG_FETCH_SEC,
  async prepare(ctx) {
    await ctx.server.ensureServer('sockperf', sockperfServerArgv(ctx.server.ip), { port: SOCKPERF_PORT, proto: 'udp' }, ctx.signal);
    return [];
  },
  async run(ctx, s, label) {
    const argv = sockperfPingPongArgv(ctx.server.ip, s.durationSec, SOCKPERF_PORT, FULL_LOG_GUEST_PATH);
    const { stdout, raw } = await clientRun(ctx, argv, s.durationSec + GRACE_SEC / 2, `${label}.sockperf.txt`);
    const r = parseWith(raw, () => parseSockperf(stdout));
    // After the traffic: the window has closed, so the transfer is not counted as the path's work.
    const fetched = await fetchFullLog(ctx.client, label, r.observations, ctx.signal);
    const { samples, notes } = latencySamples(r, fetched.log);
    return { samples, raw: [...raw, ...fetched.raw], notes: [...fetched.notes, ...notes] };
  },
};

export const scenarioTable: { [K in ScenarioKind]: ScenarioImpl<K> } = {
  'tcp-stream': tcpStream,
  'tcp-stream-no-offload': tcpStreamNoOffload,
  'udp-small': udpSmall,
  latency,
};

/** The row for a plan, typed loosely for the runner, which treats every row alike. */
export function scenarioFor(s: ScenarioPlan): ScenarioImpl<ScenarioKind> {
  return scenarioTable[s.kind] as unknown as ScenarioImpl<ScenarioKind>;
}
