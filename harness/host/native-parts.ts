// The npm parts that compile native code when installed: canvas (chart rendering) and the switch's
// addon. bin/iopath.js installs the npm dependencies without running their build scripts (nothing
// to compile with may be installed yet); these are built here once the build packages are present.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { HostError, tailLines } from '../errors.ts';
import { projectRoot } from '../paths.ts';
import { runStreaming } from './proc.ts';
import { addonPath } from '../vhost-user/native.ts';

/** Each native part and the file its build leaves behind. */
export const nativeParts = [
  { name: 'canvas (chart rendering)', built: join(projectRoot, 'node_modules', 'canvas', 'build', 'Release', 'canvas.node') },
  { name: 'the vhost-user switch\'s addon', built: addonPath },
] as const;

export function unbuiltNativeParts(): string[] {
  return nativeParts.filter((p) => !existsSync(p.built)).map((p) => p.name);
}

/**
 * Run the npm dependencies' build scripts and the project's own (`npm rebuild`, inside the project).
 * Its output goes to `log` as it comes; a failure is a HostError with the tail of it.
 */
export async function buildNativeParts(o: { log: (line: string) => void; signal: AbortSignal }): Promise<void> {
  o.log(`building the npm parts with native code (${unbuiltNativeParts().join(', ')}): npm rebuild`);
  const started = Date.now();
  const r = await runStreaming(['npm', 'rebuild', '--no-audit', '--no-fund'], { cwd: projectRoot, signal: o.signal });
  const still = unbuiltNativeParts();
  if (r.status !== 0 || still.length > 0) {
    const output = [r.stdout, r.stderr].join('\n').split('\n').filter((l) => l.trim() && !l.startsWith('gyp info'));
    throw new HostError(
      `npm rebuild ${r.status !== 0 ? `failed (status ${r.status})` : `did not build ${still.join(', ')}`}:\n${tailLines(output.join('\n'), 15).replace(/^/gm, '  | ')}`,
      `(cd ${projectRoot} && npm rebuild) and read its errors`,
    );
  }
  o.log(`npm parts built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}
