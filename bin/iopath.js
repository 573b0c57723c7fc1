#!/usr/bin/env node
// Entry point of the `iopath` command. Plain JavaScript, so that it can set the project up before any
// TypeScript or npm dependency is available: with the Debian build libraries present it installs the
// npm dependencies itself (npm ci, local to the project); without them it stops and prints the one
// command that installs them. Then it loads the sources through tsx and hands over to the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function missingDebianPackages(names) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...names], { encoding: 'utf8' });
  if (r.error) return []; // not a Debian-like host: let the build itself say what is missing
  const installed = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
  return names.filter((n) => !installed.has(n));
}

function ensureNodeModules() {
  const stamp = join(root, 'node_modules', '.package-lock.json');
  if (existsSync(join(root, 'node_modules', 'tsx')) && existsSync(stamp)) return;
  const packages = JSON.parse(readFileSync(join(root, 'harness', 'host', 'debian-packages.json'), 'utf8'));
  const missing = missingDebianPackages([...packages.build, ...packages.bench]);
  if (missing.length > 0) {
    process.stderr.write(
      `iopath: the npm dependencies are not installed, and building them needs Debian packages that are missing: ${missing.join(', ')}\n` +
        `  fix: apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}\n`,
    );
    process.exit(3);
  }
  process.stderr.write('iopath: installing the npm dependencies (npm ci) ...\n');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`iopath: npm ci failed (status ${r.status}).\n  fix: (cd ${root} && npm ci) and read its errors\n`);
    process.exit(3);
  }
}

ensureNodeModules();
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../harness/cli.ts');
process.exitCode = await main(process.argv.slice(2));
