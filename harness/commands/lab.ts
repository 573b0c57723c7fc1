// `iopath lab -- <command>`: an iopath command run inside the nested KVM lab. The command's output
// goes to stdout as L1 prints it, the lab's own lines to stderr; the exit status is the command's.

import type { ExitCodeValue } from '../errors.ts';
import { ConsoleSplitter } from '../lab/console.ts';
import { runLab } from '../lab/lab.ts';

export interface LabCommand {
  args: string[];
  /** Install what the command inside needs on the host, before the lab takes the host's lock. */
  prepare: () => Promise<void>;
  cpus?: number;
  memoryMiB?: number;
  keepConsole: boolean;
  timeoutMin: number;
  signal: AbortSignal;
}

export async function lab(o: LabCommand): Promise<ExitCodeValue> {
  const log = (line: string) => process.stderr.write(`iopath lab: ${line}\n`);
  const splitter = new ConsoleSplitter((text) => process.stdout.write(text), log);
  try {
    return await runLab({
      args: o.args,
      prepare: o.prepare,
      ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
      ...(o.memoryMiB !== undefined ? { memoryMiB: o.memoryMiB } : {}),
      keepConsole: o.keepConsole,
      timeoutMin: o.timeoutMin,
      signal: o.signal,
      output: (text) => splitter.write(text),
      log,
      tty: Boolean(process.stdout.isTTY),
    });
  } finally {
    splitter.end();
  }
}
