// Small helpers every collector uses to turn probe failures into an Availability that says why,
// and to refuse work when a collector is not available.

import { IopathError } from '../errors.ts';
import type { Availability } from './types.ts';

/** An Availability from a probe failure; the error's own fix wins over the generic one. */
export function unavailableFrom(err: unknown, fix?: string): Availability {
  const reason = err instanceof Error ? err.message.split('\n').slice(0, 4).join(' / ') : String(err);
  const ownFix = err instanceof IopathError ? err.fix : undefined;
  return unavailable(reason, ownFix ?? fix);
}

export function unavailable(reason: string, fix?: string): Availability {
  return fix === undefined ? { available: false, reason } : { available: false, reason, fix };
}

/** Throw when a collector is started although it said it is not available. */
export async function requireAvailable(id: string, availability: Promise<Availability>): Promise<void> {
  const a = await availability;
  if (!a.available) throw new IopathError(`${id} is not available: ${a.reason}`, a.fix === undefined ? {} : { fix: a.fix });
}

export const TCG_NO_EXITS =
  'the guests run under TCG (software emulation): there are no KVM exits (the tcg-trace collector counts device accesses instead)';
