// An end of the traffic: a guest (reached through its agent) or the host end of a tap path (the
// run's network namespace). Scenarios run their tools through this interface and never ask which
// kind of end they talk to.

import { GuestError, HostError } from '../errors.ts';
import { installFix, onPath } from '../host/facts.ts';
import { runCommand, sleep, startDaemon } from '../host/proc.ts';
import type { Scope } from '../host/scope.ts';
import type { ExecResult, GuestControl } from '../vm/agent.ts';

export interface Endpoint {
  /** `a`, `b`, or `host`. */
  name: string;
  /** Address on the path under test. */
  ip: string;
  /** Interface on the path under test, inside the endpoint (guests only). */
  iface?: string;
  /** The guest's agent, when the endpoint is a guest. */
  agent?: GuestControl;
  /**
   * Run a program to completion; it is killed after timeoutSec. `onExit` is called as soon as the
   * program ended, before its output is transferred (the end of a measurement window).
   */
  exec(argv: readonly string[], timeoutSec: number, signal?: AbortSignal, onExit?: () => void): Promise<ExecResult>;
  /** Start a long-running server once (by key) for the rest of this boot. */
  ensureServer(key: string, argv: readonly string[], listening: { port: number; proto: 'tcp' | 'udp' }, signal?: AbortSignal): Promise<void>;
}

export function guestEndpoint(name: string, ip: string, iface: string, agent: GuestControl): Endpoint {
  const started = new Set<string>();
  const exec = (argv: readonly string[], timeoutSec: number, signal?: AbortSignal, onExit?: () => void) => agent.exec(argv, timeoutSec, signal, onExit);
  return {
    name,
    ip,
    iface,
    agent,
    exec,
    async ensureServer(key, argv, listening, signal) {
      if (started.has(key)) return;
      await agent.spawn(argv, signal);
      started.add(key);
      await waitListening(name, exec, ['netstat'], listening, signal);
    },
  };
}

/** The host end of a tap path: programs run inside the run's network namespace. */
export function hostEndpoint(scope: Scope, netns: string, ip: string, logDir: string): Endpoint {
  const started = new Set<string>();
  const exec = async (argv: readonly string[], timeoutSec: number, signal?: AbortSignal, onExit?: () => void): Promise<ExecResult> => {
    try {
      const r = await runCommand(['ip', 'netns', 'exec', netns, ...argv], { timeoutMs: timeoutSec * 1000, okStatuses: Array.from({ length: 256 }, (_, i) => i), ...(signal ? { signal } : {}) });
      onExit?.();
      return { stdout: r.stdout, stderr: r.stderr, status: r.status };
    } catch (err) {
      throw new GuestError(`host end: ${argv.join(' ')}: ${(err as Error).message}`);
    }
  };
  return {
    name: 'host',
    ip,
    exec,
    async ensureServer(key, argv, listening, signal) {
      if (started.has(key)) return;
      if (!onPath(argv[0]!)) throw new HostError(`${argv[0]} is not installed on the host, and the guest-to-host topology runs its server there`, installFix(argv[0] === 'iperf3' ? 'iperf3' : argv[0]!));
      startDaemon(scope, { name: `${argv[0]} server (host end)`, argv: ['ip', 'netns', 'exec', netns, ...argv], logFile: `${logDir}/host-${key}.log` });
      started.add(key);
      await waitListening('host', exec, ['ss'], listening, signal);
    },
  };
}

/** Poll the socket list (busybox `netstat` in guests, iproute2 `ss` on the host) until the port listens. */
async function waitListening(
  name: string,
  exec: Endpoint['exec'],
  lister: readonly string[],
  listening: { port: number; proto: 'tcp' | 'udp' },
  signal?: AbortSignal,
): Promise<void> {
  const flag = listening.proto === 'tcp' ? '-ltn' : '-lun';
  for (let attempt = 0; attempt < 50; attempt++) {
    const r = await exec([...lister, flag], 10, signal);
    if (new RegExp(`:${listening.port}\\s`).test(r.stdout)) return;
    await sleep(200, signal);
  }
  throw new GuestError(`${name}: no server listening on ${listening.proto} port ${listening.port} after 10 s`);
}
