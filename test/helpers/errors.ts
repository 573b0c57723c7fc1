// The error a piece of bad input must raise: a UsageError, whose exit status is 2.
import { expect } from 'vitest';
import { ExitCode, UsageError } from '../../harness/errors.ts';

/** Run `fn`, which must throw a UsageError (exit 2); return it for a look at its message. */
export function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(ExitCode.usage);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}
