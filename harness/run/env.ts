// What every phase of a run shares: the plan, the store, the host, the image, the accelerator, the
// abort signal and the reporter; and the timing of phases into run.json.

import type { RunPlan } from '../config/plan.ts';
import type { HostFacts } from '../host/facts.ts';
import type { GuestImage } from '../image/build.ts';
import type { Reporter } from './progress.ts';
import type { AccelChoice, PhaseTiming, RunRecord } from './record.ts';
import type { RunStore } from './store.ts';

export interface RunEnv {
  plan: Readonly<RunPlan>;
  store: RunStore;
  record: RunRecord;
  tag: string;
  runtimeDir: string;
  host: HostFacts;
  image: GuestImage;
  accel: AccelChoice;
  signal: AbortSignal;
  reporter: Reporter;
}

/** Time a phase into run.json, whether it succeeds or not. */
export function phaseTimer(record: RunRecord, store: RunStore) {
  return async <T>(phase: PhaseTiming['phase'], backend: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await fn();
    } finally {
      record.phases.push({ phase, ...(backend ? { backend } : {}), ms: Date.now() - started });
      store.save();
    }
  };
}
