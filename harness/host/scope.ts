// Cleanup as a stack. Every resource registers its disposer the moment it exists; `close()` runs the
// disposers in reverse order, goes on past failures, runs once, and reports every error it met.

import { ExitCode, IopathError } from '../errors.ts';

export type Disposer = () => void | Promise<void>;

interface Entry {
  label: string;
  dispose: Disposer;
}

/** Teardown met errors: something may be left on the host (exit 3); each error is named with its resource. */
export class ScopeCloseError extends IopathError {
  readonly errors: readonly { label: string; error: unknown }[];
  constructor(scope: string, errors: readonly { label: string; error: unknown }[]) {
    super(
      `cleanup of ${scope} met ${errors.length} error(s):\n` +
        errors.map((e) => `  - ${e.label}: ${e.error instanceof Error ? e.error.message : String(e.error)}`).join('\n'),
      { exitCode: ExitCode.host, fix: 'iopath doctor --clean removes what a run left behind' },
    );
    this.errors = errors;
  }
}

export class Scope {
  readonly name: string;
  #entries: Entry[] = [];
  #closing: Promise<void> | undefined;

  constructor(name: string) {
    this.name = name;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Register a disposer; it runs before every disposer registered earlier. */
  defer(label: string, dispose: Disposer): void {
    if (this.#closing) {
      // The scope is already unwinding (for example after Ctrl-C): release the late resource at once
      // rather than leak it.
      void Promise.resolve().then(dispose).catch(() => undefined);
      return;
    }
    this.#entries.push({ label, dispose });
  }

  /** A nested scope that is closed (at the latest) when this one closes. */
  child(name: string): Scope {
    const child = new Scope(`${this.name}/${name}`);
    this.defer(`scope ${child.name}`, () => child.close());
    return child;
  }

  /** Run every disposer once, newest first. Throws a ScopeCloseError listing all failures. */
  close(): Promise<void> {
    this.#closing ??= this.#run();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const errors: { label: string; error: unknown }[] = [];
    while (this.#entries.length > 0) {
      const entry = this.#entries.pop()!;
      try {
        await entry.dispose();
      } catch (error) {
        if (error instanceof ScopeCloseError) errors.push(...error.errors);
        else errors.push({ label: entry.label, error });
      }
    }
    if (errors.length > 0) throw new ScopeCloseError(this.name, errors);
  }
}
