// sockperf's full log on a real capture (sockperf 3.7, ping-pong over UDP on loopback, --time 2:
// 59,368 round trips, of which the fixture keeps the first 4,000 rows and the closing line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../harness/errors.ts';
import { exactPercentiles } from '../../harness/stats/percentiles.ts';
import { parseSockperfFullLog } from '../../harness/workloads/sockperf-log.ts';

const NAME = 'sockperf-3.7_ping-pong_udp_loopback_full-log_first-4000-of-59368.csv';
const text = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'sockperf', NAME), 'utf8');
const rows = text.split('\n').filter((l) => /^\d+, /.test(l)).map((l) => l.split(',').map((x) => x.trim()));

describe('parseSockperfFullLog', () => {
  it('reads every row as a whole round trip, from the two times in nanoseconds', () => {
    const log = parseSockperfFullLog(text);
    expect(log.roundTripsUs).toHaveLength(4000);
    expect(log).toMatchObject({ dropped: 0, truncated: false, observations: 59_368 });
    // Row 0: 2.620067409 s out, 2.620083800 s back; sockperf prints half of it (8.195).
    expect(rows[0]).toEqual(['0', '2.620067409', '2.620083800', '8.195']);
    expect(log.roundTripsUs[0]).toBeCloseTo(16.391, 9);
    // Every row agrees with sockperf's half round trip within its rounding (1 ns each way).
    rows.forEach((r, i) => expect(Math.abs(log.roundTripsUs[i]! - 2 * Number(r[3]))).toBeLessThanOrEqual(0.0021));
  });

  it('keeps the first rows up to the cap and counts the others', () => {
    const log = parseSockperfFullLog(text, 1000);
    expect(log.roundTripsUs).toHaveLength(1000);
    expect(log.dropped).toBe(3000);
    // 21 lines of summary and header, then the rows kept.
    expect(log.keptLines).toBe(21 + 1000);
    expect(parseSockperfFullLog(text).keptLines).toBe(21 + 4000);
    expect(log.roundTripsUs[999]).toBeCloseTo((Number(rows[999]![2]) - Number(rows[999]![1])) * 1e6, 3);
  });

  it('says when the file was cut before its closing line', () => {
    const cut = text.split('\n').slice(0, 521).join('\n') + '\n';
    const log = parseSockperfFullLog(cut);
    expect(log.truncated).toBe(true);
    expect(log.roundTripsUs).toHaveLength(500);
  });

  it('rejects a file without the table, an empty table and a malformed row', () => {
    expect(() => parseSockperfFullLog('sockperf: Test ended\n')).toThrow(ParseError);
    const head = text.slice(0, text.indexOf('0, 2.620067409'));
    expect(() => parseSockperfFullLog(`${head}------------------------------\n`)).toThrow(/no rows/);
    expect(() => parseSockperfFullLog(`${head}0, 2.620067409, 2.62008380, 8.195\n`)).toThrow(/row \d+ is not/);
    expect(() => parseSockperfFullLog(`${head}0, 2.620083800, 2.620067409, -8.195\n`)).toThrow(/before the request left/);
  });
});

describe('percentiles of the captured round trips', () => {
  it('match the sorted rows, and p99.9 needs more than 4,000 of them', () => {
    const log = parseSockperfFullLog(text);
    const r = exactPercentiles(log.roundTripsUs)!;
    const sorted = rows.map((x) => Math.round((Number(x[2]) - Number(x[1])) * 1e9) / 1e3).sort((a, b) => a - b);
    expect(r.n).toBe(4000);
    expect(r.percentiles.map((p) => p.percent)).toEqual([50, 90, 99]);
    for (const p of r.percentiles) expect(p.value).toBeCloseTo(sorted[Math.ceil((Math.round(p.percent * 1000) * 4000) / 100_000) - 1]!, 6);
    expect(r.percentiles.map((p) => p.beyond)).toEqual([2000, 400, 40]);
    expect(r.unsupported).toEqual([99.9, 99.99]);
    expect(r.max).toBeCloseTo(sorted.at(-1)!, 6);
    expect(r.percentiles[0]!.value).toBeLessThanOrEqual(r.percentiles[1]!.value);
  });
});
