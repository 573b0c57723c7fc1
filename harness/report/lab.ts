// What a report says about runs made inside the nested KVM lab (`iopath lab`): in its header, that
// the guests ran under a KVM that QEMU emulates, and beside every rate that it is not
// representative, while exits, exit reasons and host-CPU attribution are real. Pure functions of
// the ReportModel, shared by the HTML and Markdown renderers.

import type { LabProvenance } from '../lab/marker.ts';
import type { FigureSection } from './figure-spec.ts';
import type { ReportModel, RunView } from './model.ts';

/** Rates measured at emulated speed in a lab: throughput, packet rates, latency. */
const RATE_METRICS = /^(throughput|throughputSender|packetRate|latency\w*)$/;

export function isRate(metric: string): boolean {
  return RATE_METRICS.test(metric);
}

/** The current runs made in a lab, with their lab provenance. */
export function labRuns(model: Pick<ReportModel, 'runs'>): { run: RunView; lab: LabProvenance }[] {
  return model.runs.filter((r) => r.current && r.provenance?.lab).map((run) => ({ run, lab: run.provenance!.lab! }));
}

/** Whether the series of this host come from a lab run. */
export function hostIsLab(model: Pick<ReportModel, 'runs'>, host: string): boolean {
  return labRuns(model).some((x) => x.run.host === host);
}

/** Figures of rates (the ratio figures compare throughput). */
export const LAB_RATE_SECTIONS: ReadonlySet<FigureSection> = new Set(['throughput', 'ratio', 'packet-rate', 'latency']);

/** The words put beside every rate measured in a lab. */
export const LAB_RATE_NOTE = 'nested lab: not representative';

/** The header's statement, one per lab run; empty when no run was made in a lab. */
export function labStatements(model: Pick<ReportModel, 'runs'>): string[] {
  return labRuns(model).map(
    ({ run, lab }) =>
      `Nested lab${model.runs.filter((r) => r.current).length > 1 ? ` (run ${run.id})` : ''}: the guests ran under KVM inside a lab VM (L1: kernel ${lab.l1.kernel}, ${lab.l1.cpus} vCPU, ${lab.l1.memoryMiB} MiB) that QEMU ${lab.l0.qemuVersion} emulates with TCG on ${lab.l0.hostname} (${lab.l0.cpuModel}); its KVM is ${lab.virtualisation}. ` +
      `Real here: ${lab.real.join(', ')}. Not representative of any real host: ${lab.notRepresentative.join(', ')} (every such figure is marked "${LAB_RATE_NOTE}").`,
  );
}

/** The verdict of a lab run says first that its speeds are emulated; exit counts it may quote as they are. */
export function labVerdict(model: Pick<ReportModel, 'runs'>, verdict: string): string {
  if (labRuns(model).length === 0) return verdict;
  return `Nested KVM lab: exits, exit reasons and host-CPU attribution are real, speeds are not representative. ${verdict}`;
}
