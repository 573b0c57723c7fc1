// The measurement vocabulary shared by workloads, collectors, the results store, statistics and
// reports. Units are spelled the same everywhere; a metric name never changes its unit.

/** Units that may appear in samples.ndjson. */
export type Unit =
  | 'bit/s'
  | 'pkt/s'
  | 'us'
  | '%'
  | 'count'
  | 'bytes'
  | 's'
  | 'count/GB'
  | 'count/pkt'
  | 'cpu-s/(Gbit/s)'
  | 'cpu-s/Mpps';

/** Dimensions that qualify a sample beyond backend/scenario/rep (e.g. `guest`, `payloadBytes`, `reason`). */
export type Dims = Record<string, string | number>;

/** One measured value, as a workload or collector produces it. */
export interface Sample {
  metric: string;
  value: number;
  unit: Unit;
  /** Which tool the value came from, e.g. `iperf3`, `perf`, `qmp`, `tcg-trace`, `proc`. */
  source?: string;
  dims?: Dims;
}

/** One line of results/<run>/samples.ndjson: a Sample with the coordinates of its repetition. */
export interface SampleRecord extends Sample {
  run: string;
  backend: string;
  scenario: string;
  /** 0-based repetition index; warm-up repetitions count separately from 0 too. */
  rep: number;
  warmup: boolean;
  /** ISO time at which the sample was recorded. */
  time: string;
  /** Host that measured it (hostname), so runs from several hosts can be merged. */
  host?: string;
}

/** A stable key for a measured series: everything but rep, warm-up flag, time and value. */
export function seriesKey(r: Pick<SampleRecord, 'backend' | 'scenario' | 'metric' | 'dims'> & { host?: string }): string {
  const dims = r.dims
    ? Object.keys(r.dims)
        .sort()
        .map((k) => `${k}=${r.dims![k]}`)
        .join(',')
    : '';
  return [r.host ?? '', r.backend, r.scenario, r.metric, dims].join('|');
}
