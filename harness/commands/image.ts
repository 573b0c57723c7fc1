// `iopath image build`: build the guest image (or report the cached one).

import { ExitCode, type ExitCodeValue } from '../errors.ts';
import { ensureImage } from '../image/build.ts';

export async function imageBuild(o: { force: boolean; signal: AbortSignal; imagesDir?: string }): Promise<ExitCodeValue> {
  const image = await ensureImage({ force: o.force, signal: o.signal, log: (l) => process.stderr.write(`${l}\n`), ...(o.imagesDir ? { imagesDir: o.imagesDir } : {}) });
  process.stdout.write(
    `${image.cached ? 'cached' : 'built'} guest image ${image.hash}: kernel ${image.guestKernel}\n  ${image.kernel}\n  ${image.initrd}\n`,
  );
  return ExitCode.ok;
}
