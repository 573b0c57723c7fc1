// The scenario table: each kind of traffic is one row that knows how to prepare its servers, run one
// repetition, turn the tool's output into samples, and how long a repetition may take. The runner
// loops over rows; it never branches on a scenario's kind.

import { GuestError } from '../errors.ts';
import { sleep } from '../host/proc.ts';
import type { ScenarioPlan } from '../config/plan.ts';
import type { Sample } from '../samples.ts';
import type { GuestAgent } from '../vm/agent.ts';
import type { ScenarioKind } from './kinds.ts';
import { IPERF3_PORT, iperf3ServerArgv, iperf3TcpClientArgv, parseIperf3Json } from './iperf3.ts';

/** One end of the traffic: a guest reachable through its agent, at an address on the path under test. */
export interface Endpoint {
  name: string;
  ip: string;
  agent: GuestAgent;
}

export interface ScenarioContext {
  /** Guest A: runs the servers. */
  server: Endpoint;
  /** Guest B: runs the clients. */
  client: Endpoint;
  signal: AbortSignal;
}

export interface RawOutput {
  /** File name under the backend's raw/ folder. */
  name: string;
  text: string;
}

export interface RepResult {
  samples: Sample[];
  raw: RawOutput[];
}

export interface ScenarioImpl {
  kind: ScenarioKind;
  title: string;
  /** Upper bound in seconds for one repetition, past which it is recorded as hung. */
  budgetSec(s: ScenarioPlan): number;
  /** Start what the repetitions need (servers); once per boot. */
  prepare(ctx: ScenarioContext, s: ScenarioPlan): Promise<void>;
  run(ctx: ScenarioContext, s: ScenarioPlan, label: string): Promise<RepResult>;
}

/** Grace on top of the traffic time: connection set-up, JSON over the serial line, a slow TCG guest. */
const GRACE_SEC = 30;

const tcpStream: ScenarioImpl = {
  kind: 'tcp-stream',
  title: 'TCP stream (iperf3, B to A)',
  budgetSec: (s) => s.durationSec + s.omitSec + GRACE_SEC,
  async prepare(ctx) {
    await startIperf3Server(ctx.server, ctx.signal);
  },
  async run(ctx, s, label) {
    const argv = iperf3TcpClientArgv({ server: ctx.server.ip, durationSec: s.durationSec, omitSec: s.omitSec, parallel: s.parallel });
    const r = await ctx.client.agent.exec(argv, s.durationSec + s.omitSec + GRACE_SEC / 2, ctx.signal);
    const raw = [{ name: `${label}.iperf3.json`, text: r.stdout }];
    if (r.status !== 0 && !r.stdout.trim().startsWith('{')) {
      throw Object.assign(new GuestError(`iperf3 client exited with status ${r.status}: ${r.stderr.trim().slice(-300)}`), { raw });
    }
    let parsed;
    try {
      parsed = parseIperf3Json(r.stdout);
    } catch (err) {
      throw Object.assign(err as Error, { raw });
    }
    const samples: Sample[] = [
      { metric: 'throughput', value: parsed.receiverBitsPerSec, unit: 'bit/s', source: 'iperf3' },
      { metric: 'throughputSender', value: parsed.senderBitsPerSec, unit: 'bit/s', source: 'iperf3' },
      { metric: 'bytesReceived', value: parsed.bytesReceived, unit: 'bytes', source: 'iperf3' },
    ];
    if (parsed.retransmits !== undefined) samples.push({ metric: 'retransmits', value: parsed.retransmits, unit: 'count', source: 'iperf3' });
    return { samples, raw };
  },
};

/** Start `iperf3 --server` in a guest and wait until it listens. */
export async function startIperf3Server(server: Endpoint, signal: AbortSignal, port = IPERF3_PORT): Promise<void> {
  await server.agent.spawn(iperf3ServerArgv(port), signal);
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await server.agent.exec(['netstat', '-ltn'], 10, signal);
    if (r.stdout.includes(`:${port} `)) return;
    await sleep(200, signal);
  }
  throw new GuestError(`iperf3 server in guest ${server.name} is not listening on port ${port} after 10 s`);
}

export const scenarioTable = {
  'tcp-stream': tcpStream,
} as const satisfies Record<ScenarioKind, ScenarioImpl>;
