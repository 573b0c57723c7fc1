// What every stage of a run shares: the plan, the result tree and the store, the host, the image,
// the accelerator, the abort signal, the reporter, and the injected seams (paths, guest launcher,
// collectors) that a unit test replaces with fakes.

import type { NicBackend } from '../backends/types.ts';
import type { RunPlan } from '../config/plan.ts';
import type { HostFacts } from '../host/facts.ts';
import type { HostProbeReading } from '../host/speed-probe.ts';
import type { GuestImage } from '../image/build.ts';
import type { CollectorFactory, GuestLauncher } from './launcher.ts';
import type { Placer, RunPlacement } from './placement-step.ts';
import type { Reporter } from './progress.ts';
import type { AccelChoice } from './record.ts';
import type { RunStore } from './store.ts';
import type { RunTree } from './tree.ts';

/** The parts of a run that touch the machine, each replaceable (unit tests run the whole logic on fakes). */
export interface RunSeams {
  /** The path descriptors by id (the registry, or a test's own). */
  paths: ReadonlyMap<string, NicBackend>;
  launcher: GuestLauncher;
  collectors: CollectorFactory;
  /** Pins a path's threads to cores (CPU placement) and reads host readiness. */
  placer: Placer;
  /** Reads how fast the host is just now (before and after each measured repetition). */
  speedProbe: () => HostProbeReading;
}

export interface RunEnv extends RunSeams {
  plan: Readonly<RunPlan>;
  tree: RunTree;
  store: RunStore;
  tag: string;
  runtimeDir: string;
  host: HostFacts;
  image: GuestImage;
  accel: AccelChoice;
  signal: AbortSignal;
  reporter: Reporter;
  /** CPU placement across the run's paths (the run's CPUs, what is in force, iopath's own affinity). */
  placement: RunPlacement;
  /**
   * Boot a path's guests one after the other, each once its agent answers (the nested lab: there a
   * second guest started while the first still boots died before its kernel spoke, 4 times in 8).
   */
  bootOneByOne?: boolean;
}
