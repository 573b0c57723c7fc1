// Entry of the switch process: `iopath switch --socket PATH --socket PATH [...]` calls runSwitch;
// this file is also runnable on its own:
//   node --import tsx harness/vhost-user/switch-main.ts --socket /run/a.sock --socket /run/b.sock [--stats FILE]
// It serves until SIGTERM or SIGINT (or the caller's AbortSignal), then removes its sockets and
// resolves: a clean stop is exit status 0. Counters: see stats.ts (readSwitchCounters). With
// --busy-poll, SIGTSTP makes it sleep on kicks until SIGCONT.

import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeError, exitCodeOf, HostError, IopathError, UsageError } from '../errors.ts';
import { MAX_QUEUE_PAIRS } from './features.ts';
import { VhostSwitch, type SwitchOptions } from './switch.ts';

export { diffCounters, readSwitchCounters, type CounterWindow, type PortStats, type SwitchStats } from './stats.ts';

export interface RunSwitchOptions {
  /** One listening socket per port; their directory must exist (the caller owns it). */
  sockets: string[];
  /** JSON counters file, rewritten atomically (see stats.ts). */
  statsFile?: string;
  log?: (line: string) => void;
  /** Stop serving when aborted. */
  signal?: AbortSignal;
  /** Tuning (defaults suit two guests on a small host): see ForwarderOptions. */
  spinUs?: number;
  holdMs?: number;
  burst?: number;
  /** Poll without sleeping, on a core of its own (off by default). */
  busyPoll?: boolean;
  /** Queue pairs per port (GET_QUEUE_NUM). */
  queuePairs?: number;
  statsIntervalMs?: number;
  verbose?: boolean;
  features?: bigint;
}

/** Serve until SIGTERM/SIGINT or `signal`; then clean up and resolve. */
export async function runSwitch(options: RunSwitchOptions): Promise<void> {
  for (const s of options.sockets) {
    const dir = dirname(resolve(s));
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`socket directory ${dir} does not exist`, `mkdir -p ${dir}`);
  }
  if (options.sockets.length === 0) throw new UsageError('give at least one --socket PATH');
  const log = options.log ?? ((line: string) => process.stderr.write(`switch: ${line}\n`));
  const swOpts: SwitchOptions = { ...options, log };
  // Signal handlers go in before anything exists: SIGUSR2's default action would kill the switch
  // if a reader asked for a snapshot during start-up, and SIGTERM must always clean up.
  let sw: VhostSwitch | undefined;
  let stopRequested: string | undefined;
  let wake: () => void = () => undefined;
  const request = (why: string) => {
    stopRequested ??= why;
    wake();
  };
  const onTerm = () => request('SIGTERM');
  const onInt = () => request('SIGINT');
  const onUsr2 = () => sw?.writeStats();
  // A busy-polling switch is quieted (SIGTSTP: it sleeps on kicks) while other guests are measured,
  // and polls again on SIGCONT; the handlers also keep SIGTSTP from stopping the process.
  const onTstp = () => sw?.setBusyPoll(false);
  const onCont = () => sw?.setBusyPoll(options.busyPoll ?? false);
  const onAbort = () => request('aborted');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGUSR2', onUsr2);
  process.on('SIGTSTP', onTstp);
  process.on('SIGCONT', onCont);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) request('aborted');
  try {
    try {
      sw = await VhostSwitch.start(swOpts);
    } catch (err) {
      if (err instanceof IopathError) throw err;
      throw new HostError(`the switch cannot serve ${options.sockets.join(', ')}: ${(err as Error).message}`, undefined, err);
    }
    if (stopRequested === undefined) await new Promise<void>((resolve) => (wake = resolve));
    log(`stopping (${stopRequested})`);
  } finally {
    sw?.close();
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGUSR2', onUsr2);
    process.off('SIGTSTP', onTstp);
    process.off('SIGCONT', onCont);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Parse the switch's own command line (used when this file is run directly). */
export function parseSwitchArgs(argv: string[]): RunSwitchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      socket: { type: 'string', multiple: true },
      stats: { type: 'string' },
      'stats-interval-ms': { type: 'string' },
      'spin-us': { type: 'string' },
      'hold-ms': { type: 'string' },
      burst: { type: 'string' },
      queues: { type: 'string' },
      'busy-poll': { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
    strict: true,
  });
  const sockets = values.socket ?? [];
  if (sockets.length === 0) throw new UsageError('give at least one --socket PATH');
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number`);
    return n;
  };
  return {
    sockets,
    ...(values.stats === undefined ? {} : { statsFile: values.stats }),
    ...(values['stats-interval-ms'] === undefined ? {} : { statsIntervalMs: num('stats-interval-ms', values['stats-interval-ms'])! }),
    ...(values['spin-us'] === undefined ? {} : { spinUs: num('spin-us', values['spin-us'])! }),
    ...(values['hold-ms'] === undefined ? {} : { holdMs: num('hold-ms', values['hold-ms'])! }),
    ...(values.burst === undefined ? {} : { burst: Math.max(1, num('burst', values.burst)!) }),
    ...(values.queues === undefined ? {} : { queuePairs: queuePairsArg(values.queues) }),
    ...(values['busy-poll'] ? { busyPoll: true } : {}),
    verbose: values.verbose ?? false,
  };
}

function queuePairsArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_QUEUE_PAIRS) throw new UsageError(`--queues must be a whole number from 1 to ${MAX_QUEUE_PAIRS} (queue pairs per port), not ${v}`);
  return n;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await runSwitch(parseSwitchArgs(process.argv.slice(2)));
  } catch (err) {
    process.stderr.write(`switch: ${describeError(err)}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
