// The lab marker: what a run inside the nested KVM lab must know about where it runs. `iopath lab`
// writes it on the host; L1's init puts it at <runtime root>/lab.json, where a nested run finds it
// instead of the host's bench lock (which stays held by `iopath lab` on the host). Provenance,
// doctor and the KVM probe read it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeRoot } from '../paths.ts';
import type { LabProvenance } from '../run/record.ts';

export const LAB_SCHEMA = 'iopath.lab/1';

/** How L1 gets its KVM: the only way these hosts have one. */
export const LAB_VIRTUALISATION = 'AMD SVM with nested paging, emulated by QEMU TCG (-cpu max)';

/** What is real in a lab run and what is not, said once for run.json, the report and doctor. */
export const LAB_REAL = ['VM exits', 'exit reasons', 'host CPU attribution (which threads work for a path)'] as const;
export const LAB_NOT_REPRESENTATIVE = ['throughput', 'packet rates', 'latency'] as const;

/** Seconds the KVM probe guest gets inside the lab (its nested boot takes about 20 s on 2 cores). */
export const LAB_PROBE_SEC = 120;

export interface LabMarker {
  schema: typeof LAB_SCHEMA;
  /** Id of the `iopath lab` session (same shape as a run id). */
  lab: string;
  startedAt: string;
  /** How L1's KVM works. */
  virtualisation: string;
  /** The real host, which runs L1 under software emulation. */
  l0: { hostname: string; kernel: string; cpuModel: string; cpuCount: number; memoryMiB: number; qemuVersion: string; accel: 'tcg' };
  /** The lab VM whose KVM the nested run's guests use. */
  l1: { kernel: string; cpus: number; memoryMiB: number; image: string };
  /** The guest image prepared on the host for the runs inside (its recipe folder and hash). */
  guestImage?: { imagesDir: string; hash: string };
}

/** What run.json records about the lab (Provenance.lab); its schema is part of run.json's. */
export type { LabProvenance };

export function labProvenance(m: LabMarker): LabProvenance {
  const { schema: _schema, ...rest } = m;
  return { nested: true, ...rest, real: [...LAB_REAL], notRepresentative: [...LAB_NOT_REPRESENTATIVE] };
}

export function labMarkerPath(root = runtimeRoot): string {
  return join(root, 'lab.json');
}

/** The marker when this process runs inside the lab, else undefined. */
export function readLabMarker(path = labMarkerPath()): LabMarker | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  const m = raw as Partial<LabMarker> | null;
  return m?.schema === LAB_SCHEMA && m.l0 && m.l1 ? (m as LabMarker) : undefined;
}

/** One line for consoles and doctor: where this runs. */
export function describeLab(m: LabMarker): string {
  return (
    `nested KVM lab ${m.lab}: L1 (kernel ${m.l1.kernel}, ${m.l1.cpus} vCPU, ${m.l1.memoryMiB} MiB) on ${m.l0.hostname} under QEMU ${m.l0.qemuVersion} TCG; ` +
    `KVM is ${LAB_VIRTUALISATION}. ${LAB_REAL.join(', ')} are real; ${LAB_NOT_REPRESENTATIVE.join(', ')} are not representative of any real host`
  );
}
