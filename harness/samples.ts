// The measurement vocabulary shared by workloads, collectors, the results store, statistics and
// reports, as one schema: a Sample is what a producer writes, a SampleRecord is one line of
// samples.ndjson, and the store checks what it writes with the same schema the report reads with.
// Metric names are the closed catalogue of metrics.ts, and a metric never changes its unit.

import { z } from 'zod';
import { metricNames, metrics, type MetricName } from './metrics.ts';

export const UNITS = ['bit/s', 'pkt/s', 'us', '%', 'count', 'bytes', 's', 'count/GB', 'count/pkt', 'cpu-s/(Gbit/s)', 'cpu-s/Mpps'] as const;
/** Units that may appear in samples.ndjson. */
export type Unit = (typeof UNITS)[number];

const dimsSchema = z.record(z.string(), z.union([z.string(), z.number()]));
/** Dimensions that qualify a sample beyond backend/scenario/rep (e.g. `guest`, `payloadBytes`, `reason`). */
export type Dims = z.infer<typeof dimsSchema>;

const sampleShape = {
  metric: z.enum(metricNames),
  value: z.number().refine(Number.isFinite, 'must be a finite number'),
  unit: z.enum(UNITS),
  /** Which tool the value came from, e.g. `iperf3`, `perf`, `qmp`, `tcg-trace`, `proc`. */
  source: z.string().optional(),
  dims: dimsSchema.optional(),
};

const unitOfMetric = (s: { metric: MetricName; unit: Unit }) => metrics[s.metric].unit === s.unit;
const unitMessage = { message: 'unit is not the unit metrics.ts gives this metric', path: ['unit'] };

/** One measured value, as a workload or collector produces it. */
export const sampleSchema = z.object(sampleShape).refine(unitOfMetric, unitMessage);
export type Sample = z.infer<typeof sampleSchema>;

/** One line of results/<run>/samples.ndjson: a Sample with the coordinates of its repetition. */
export const sampleRecordSchema = z
  .object({
    ...sampleShape,
    run: z.string(),
    backend: z.string().min(1),
    scenario: z.string().min(1),
    /** 0-based repetition index; warm-up repetitions count separately from 0 too. */
    rep: z.number().int().nonnegative(),
    warmup: z.boolean(),
    /** ISO time at which the sample was recorded. */
    time: z.string(),
    /** Host that measured it (hostname), so runs from several hosts can be merged. */
    host: z.string().optional(),
  })
  .refine(unitOfMetric, unitMessage);
export type SampleRecord = z.infer<typeof sampleRecordSchema>;

/** A stable key for a measured series: everything but rep, warm-up flag, time and value. */
export function seriesKey(r: { backend: string; scenario: string; metric: string; dims?: Dims | undefined; host?: string | undefined }): string {
  const dims = r.dims
    ? Object.keys(r.dims)
        .sort()
        .map((k) => `${k}=${r.dims![k]}`)
        .join(',')
    : '';
  return [r.host ?? '', r.backend, r.scenario, r.metric, dims].join('|');
}

/** The first few problems zod found, each with the path of the field, in one line. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(top)'}: ${i.message}`)
    .join('; ');
}
