// `iopath setup` (run by `npm test`): get the host and the project ready for every part of iopath
// and its tests: the Debian packages any path, collector, report format or test uses (installed
// when iopath may, see host/install.ts), the npm parts with native code, and the guest image.

import { ExitCode, type ExitCodeValue } from '../errors.ts';
import { provide } from '../host/install.ts';
import { testNeeds } from '../host/needs.ts';
import { ensureImage } from '../image/build.ts';

export async function setup(o: { install: boolean; signal: AbortSignal }): Promise<ExitCodeValue> {
  const log = (l: string) => process.stderr.write(`iopath setup: ${l}\n`);
  await provide(testNeeds(), { install: o.install, signal: o.signal, log });
  const image = await ensureImage({ signal: o.signal, log });
  log(`guest image ${image.hash} ${image.cached ? 'found in the cache' : 'built'} (kernel ${image.guestKernel})`);
  return ExitCode.ok;
}
