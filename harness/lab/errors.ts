// The lab's own failure: L1 did not boot, its init could not start the command, or it died or hung
// before the command ended. Nothing inside could be measured, so it maps to exit status 5.

import { ExitCode, IopathError } from '../errors.ts';

export class LabError extends IopathError {
  constructor(message: string, fix?: string) {
    super(message, { exitCode: ExitCode.failed, ...(fix === undefined ? {} : { fix }) });
  }
}
