// A shell on a guest's serial console, driven the way a person types into it: QEMU runs with
// `-serial stdio`, commands are written to its stdin one line at a time, and the end of each
// command is recognised by a marker it echoes with its exit status. The marker is typed with quotes
// inside it (`@@"done"7`), so the terminal's echo of the typed line never matches what it prints
// (`@@done7`).

import { GuestError, TimeoutError } from '../errors.ts';
import type { Daemon } from '../host/proc.ts';

/** Console output kept for matching and diagnosis (the tail beyond this is dropped). */
const MAX_BUFFER = 4 * 1024 * 1024;

export interface ShellResult {
  status: number;
  /** What the command printed, without the typed line's echo and the marker. */
  output: string;
}

export class SerialShell {
  readonly guest: string;
  readonly #qemu: Daemon;
  #buffer = '';
  /** Offset in the buffer of text already consumed by a finished command. */
  #consumed = 0;
  #next = 1;
  #waiters: (() => void)[] = [];

  constructor(guest: string, qemu: Daemon) {
    this.guest = guest;
    this.#qemu = qemu;
    qemu.onOutput((text) => {
      this.#buffer += text;
      if (this.#buffer.length > MAX_BUFFER) {
        const drop = this.#buffer.length - MAX_BUFFER / 2;
        this.#buffer = this.#buffer.slice(drop);
        this.#consumed = Math.max(0, this.#consumed - drop);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
    void qemu.exited.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** The last lines the console printed (for error messages). */
  tail(lines = 8): string {
    return this.#buffer.split(/\r?\n/).slice(-lines).join('\n');
  }

  /** Wait until the shell answers, typing a probe every `everyMs` (keys typed during boot are lost). */
  async waitReady(timeoutMs: number, signal?: AbortSignal, everyMs = 1500): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const n = this.#next++;
      this.#type(`echo @@"up"${n}`);
      const seen = await this.#waitFor(new RegExp(`@@up(\\d+)`), Math.min(everyMs, deadline - Date.now()), signal).catch((err: unknown) => {
        if (err instanceof TimeoutError) return undefined;
        throw err;
      });
      if (seen) return;
    }
    throw new GuestError(`the shell on guest ${this.guest}'s serial console did not answer within ${(timeoutMs / 1000).toFixed(0)} s; last console lines:\n${this.tail()}`);
  }

  /** Type one command line and wait for it to finish. */
  async run(command: string, timeoutMs: number, signal?: AbortSignal): Promise<ShellResult> {
    if (/[\r\n]/.test(command)) throw new GuestError(`a console command must be one line: ${JSON.stringify(command)}`);
    const n = this.#next++;
    const start = this.#buffer.length;
    this.#type(`${command}; echo @@"done"${n} $?`);
    const m = await this.#waitFor(new RegExp(`@@done${n} (\\d+)`), timeoutMs, signal, start).catch((err: unknown) => {
      if (err instanceof TimeoutError) throw new GuestError(`guest ${this.guest}: \`${command}\` did not finish within ${(timeoutMs / 1000).toFixed(0)} s; last console lines:\n${this.tail()}`);
      throw err;
    });
    const text = this.#buffer.slice(start, m.index);
    // Drop the terminal's echo of the typed line, when there is one (a console echoes, a pipe does not).
    const echoed = text.indexOf(`@@"done"${n}`);
    const output = echoed < 0 ? text : text.slice(text.indexOf('\n', echoed) + 1 || text.length);
    return { status: Number(m.match[1]), output };
  }

  #type(line: string): void {
    if (!this.#qemu.running) throw new GuestError(`QEMU of guest ${this.guest} has exited; last console lines:\n${this.tail()}`);
    this.#qemu.write(`${line}\n`);
  }

  /** Resolve with the first match of `re` in the output after `from` (default: not yet consumed). */
  #waitFor(re: RegExp, timeoutMs: number, signal?: AbortSignal, from?: number): Promise<{ match: RegExpExecArray; index: number }> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => finish(() => reject(signal!.reason));
      const finish = (then: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        then();
      };
      const check = () => {
        const base = from ?? this.#consumed;
        const m = re.exec(this.#buffer.slice(base));
        if (m) {
          const index = base + m.index;
          this.#consumed = Math.max(this.#consumed, index + m[0].length);
          return finish(() => resolve({ match: m, index }));
        }
        if (!this.#qemu.running) return finish(() => reject(new GuestError(`QEMU of guest ${this.guest} exited; last console lines:\n${this.tail()}`)));
        this.#waiters.push(check);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        finish(() => reject(new TimeoutError(`console of guest ${this.guest}`, timeoutMs)));
      }, Math.max(1, timeoutMs));
      check();
    });
  }
}
