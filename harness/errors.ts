// One error hierarchy for the whole harness. Every class carries the process exit code it maps to,
// so `main` never guesses; README.md documents the codes. What a user reads (and run.json records)
// is the message and the fix, never a stack trace: `describeError` for the words, `errorDetail` for
// the log file beside run.json.

/** Exit codes of the `iopath` command (documented in README.md, "Exit status"). */
export const ExitCode = {
  /** The run completed: every backend that the host can run was measured, every repetition ok. */
  ok: 0,
  /** An unexpected internal error (a bug in iopath): please report it with the run folder. */
  internal: 1,
  /** Bad input: unknown flag, malformed or invalid profile, bad arguments. Nothing was started. */
  usage: 2,
  /** The host lacks something the command needs (tool, right, writable folder); the message says how to fix it. */
  host: 3,
  /** The run finished but is partial: some repetitions or backends failed; what was measured is on disk. */
  partial: 4,
  /** The run failed: nothing could be measured. */
  failed: 5,
  /** `iopath compare` found a significant regression beyond the noise floor. */
  regression: 6,
  /** Another iopath run holds the host lock. */
  busy: 7,
  /** A guest misbehaved: it did not boot, its agent failed or stopped answering. */
  guest: 8,
  /** A host tool failed: it exited badly, died, or printed what could not be parsed. */
  tool: 9,
  /** A time budget ran out (a boot, a prompt, a request that never came back). */
  timeout: 10,
  /** Interrupted by SIGINT (Ctrl-C); teardown ran, measured repetitions are kept. */
  interrupted: 130,
  /** Stopped by SIGTERM; teardown ran, measured repetitions are kept. */
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message for humans, an optional fix, and the exit code. */
export class IopathError extends Error {
  readonly exitCode: ExitCodeValue;
  /** The exact command or change that fixes the problem, when there is one. */
  readonly fix: string | undefined;

  constructor(message: string, options: { exitCode?: ExitCodeValue; fix?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.internal;
    this.fix = options.fix;
  }
}

/** Wrong flags, arguments or profile contents. */
export class UsageError extends IopathError {
  constructor(message: string, fix?: string) {
    super(message, { exitCode: ExitCode.usage, ...(fix === undefined ? {} : { fix }) });
  }
}

/** The host is missing a tool, a right or a resource. */
export class HostError extends IopathError {
  constructor(message: string, fix?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.host, ...(fix === undefined ? {} : { fix }), cause });
  }
}

/** Results cannot be written (full disk, read-only or unwritable folder); the run must stop. */
export class StorageError extends HostError {}

/** Another run holds the host lock. */
export class BusyError extends IopathError {
  constructor(message: string, fix?: string) {
    super(message, { exitCode: ExitCode.busy, ...(fix === undefined ? {} : { fix }) });
  }
}

/** The run was interrupted by a signal; teardown has run or is running. */
export class InterruptedError extends IopathError {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(`interrupted by ${signal}`, { exitCode: signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted });
    this.signal = signal;
  }
}

/** A time budget ran out. */
export class TimeoutError extends IopathError {
  constructor(what: string, ms: number, cause?: unknown) {
    super(`${what} did not finish within ${(ms / 1000).toFixed(1)} s`, { exitCode: ExitCode.timeout, cause });
  }
}

/** A host tool failed: exited early, died, or misbehaved. */
export class ToolError extends IopathError {
  constructor(message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.tool });
  }
}

/** A command exited badly. Carries what is needed to understand why without re-running it. */
export class CommandError extends ToolError {
  readonly argv: readonly string[];
  readonly status: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;

  constructor(argv: readonly string[], status: number | null, signal: string | null, stderr: string, fix?: string) {
    const tail = tailLines(stderr, 12);
    const how = signal !== null ? `was killed by ${signal}` : `exited with status ${status}${describeStatus(status)}`;
    super(`${argv.join(' ')} ${how}${tail ? `\n${indent(tail)}` : ''}`, fix === undefined ? {} : { fix });
    this.argv = argv;
    this.status = status;
    this.signal = signal;
    this.stderrTail = tail;
  }
}

/** A tool's output could not be parsed. The raw text is kept (and saved by the caller) for diagnosis. */
export class ParseError extends ToolError {
  readonly raw: string;
  constructor(what: string, detail: string, raw: string) {
    super(`could not parse ${what}: ${detail}`);
    this.raw = raw;
  }
}

/** Something inside a guest went wrong (it did not boot, its agent reported an error or never answered). */
export class GuestError extends IopathError {
  constructor(message: string, options: { fix?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.guest });
  }
}

/** iopath broke its own contract (a method called out of order): a bug, exit 1. */
export class InternalError extends IopathError {}

function describeStatus(status: number | null): string {
  if (status === 126) return ' (found but not executable)';
  if (status === 127) return ' (command not found)';
  if (status !== null && status > 128) return ` (killed by signal ${status - 128})`;
  return '';
}

export function tailLines(text: string, n: number): string {
  const lines = text.trimEnd().split('\n');
  return lines.slice(-n).join('\n');
}

function indent(text: string): string {
  return text.replace(/^/gm, '  | ');
}

/**
 * Render any thrown value as the one message a user sees (and run.json records): the message and
 * the fix, never a stack trace. An error from outside the hierarchy (a bug, or a library's) is named
 * by its class so it can be told apart; its stack belongs in the log (`errorDetail`).
 */
export function describeError(err: unknown): string {
  if (err instanceof IopathError) {
    return err.fix ? `${err.message}\n  fix: ${err.fix}` : err.message;
  }
  if (err instanceof Error) return `${err.name === 'Error' ? 'unexpected error' : err.name}: ${err.message}`;
  return String(err);
}

/** Everything known about an error, stack and causes included, for a log file (never for run.json). */
export function errorDetail(err: unknown): string {
  const lines: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && depth < 5; depth++) {
    lines.push(depth === 0 ? '' : 'caused by:', e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines.filter(Boolean).join('\n');
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof IopathError ? err.exitCode : ExitCode.internal;
}
