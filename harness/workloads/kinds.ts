// The names of the scenario kinds, kept apart from their implementations so the profile schema can
// validate them without loading the workloads.

export const scenarioKinds = ['tcp-stream', 'tcp-stream-no-offload', 'udp-small', 'latency'] as const;
export type ScenarioKind = (typeof scenarioKinds)[number];

export function isScenarioKind(k: string): k is ScenarioKind {
  return (scenarioKinds as readonly string[]).includes(k);
}
