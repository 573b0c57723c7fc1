#!/usr/bin/env node
// Entry point of the `iopath` command. Plain JavaScript, so that it can set the project up before any
// TypeScript or npm dependency is available: it installs the npm dependencies itself (npm ci, local
// to the project) without running their build scripts, which may need Debian packages the host does
// not have yet. The command then installs what it needs (harness/host/install.ts) and builds those
// native parts. Then it loads the sources through tsx and hands over to the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function ensureNodeModules() {
  const stamp = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(join(root, 'node_modules', 'tsx')) && existsSync(stamp)) return;
  process.stderr.write('iopath: installing the npm dependencies (npm ci --ignore-scripts, inside the project; their native parts are built next) ...\n');
  const started = Date.now();
  const r = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `status ${r.status}`;
    process.stderr.write(`iopath: npm ci failed (${why}).\n  fix: (cd ${root} && npm ci --ignore-scripts) and read its errors\n`);
    process.exit(3);
  }
  process.stderr.write(`iopath: npm dependencies installed in ${Math.round((Date.now() - started) / 1000)} s\n`);
}

ensureNodeModules();
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
