// `iopath setup`: install or build everything the project keeps locally (the guest image; the npm
// dependencies were already ensured by bin/iopath.js), and say which Debian packages the host still
// lacks for the paths, collectors and reports, with the one command that installs them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathPackages } from '../backends/registry.ts';
import { ExitCode, type ExitCodeValue } from '../errors.ts';
import { installFix } from '../host/facts.ts';
import { runCommand } from '../host/proc.ts';
import { ensureImage } from '../image/build.ts';
import { projectRoot } from '../paths.ts';

/**
 * debian-packages.json: what must be installed before the project's own code can run (`build`,
 * `bench`), and a copy of what the paths, collectors and report need, for `.ci/run`, which reads it
 * before `npm ci`. The paths' own descriptors are the word on their packages (a unit test keeps the
 * copy in step).
 */
interface DebianPackages {
  build: string[];
  bench: string[];
  paths: string[];
  collectors: string[];
  report: string[];
}

export function debianPackages(): DebianPackages {
  return JSON.parse(readFileSync(join(projectRoot, 'harness', 'host', 'debian-packages.json'), 'utf8')) as DebianPackages;
}

export async function missingPackages(names: string[]): Promise<string[]> {
  try {
    const r = await runCommand(['dpkg-query', '-W', '-f=${Package} ${db:Status-Status}\n', ...names], { okStatuses: [0, 1] });
    const installed = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
    return names.filter((n) => !installed.has(n));
  } catch {
    return [];
  }
}

export async function setup(o: { signal: AbortSignal }): Promise<ExitCodeValue> {
  const pkgs = debianPackages();
  const missingBench = await missingPackages(pkgs.bench);
  if (missingBench.length) {
    process.stderr.write(`iopath setup: missing Debian packages needed to run guests: ${missingBench.join(', ')}\n  fix: ${installFix(...missingBench)}\n`);
    return ExitCode.host;
  }
  const image = await ensureImage({ signal: o.signal, log: (l) => process.stderr.write(`iopath setup: ${l}\n`) });
  process.stderr.write(`iopath setup: guest image ${image.hash} ${image.cached ? 'found in the cache' : 'built'} (kernel ${image.guestKernel})\n`);
  const optional = await missingPackages([...new Set([...pathPackages(), ...pkgs.collectors, ...pkgs.report])]);
  if (optional.length) {
    process.stderr.write(
      `iopath setup: optional packages missing (the paths, collectors or report parts that need them are skipped with a reason): ${optional.join(', ')}\n  to install them: ${installFix(...optional)}\n`,
    );
  }
  return ExitCode.ok;
}
