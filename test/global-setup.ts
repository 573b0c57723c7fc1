// Every temporary folder a test run makes (fake results, agent sockets, run directories, Chromium
// profiles) goes under one folder of its own, removed when the run ends: test files need not each
// clean up after themselves, and a run leaves nothing in /tmp. Workers and the processes tests
// start inherit TMPDIR, which os.tmpdir() and mktemp both read.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'iopath-tests-'));
  // Open to every user as /tmp is (sticky: each removes only its own): tests run iopath as an
  // unprivileged user too, whose tsx writes its cache under TMPDIR.
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (err) {
      process.stderr.write(`test run: could not remove its temporary folder ${root}: ${(err as Error).message}\n`);
    }
  };
}
