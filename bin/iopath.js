#!/usr/bin/env node
// Entry point of the `iopath` command: load the TypeScript sources through tsx, then hand over to
// the CLI. Kept in plain JavaScript so that it can explain a missing `npm ci` instead of crashing.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'node_modules', 'tsx'))) {
  process.stderr.write(`iopath: the npm dependencies are not installed.\n  fix: (cd ${root} && npm ci)\n`);
  process.exit(3);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
