import { describe, expect, it } from 'vitest';
import { consequence, groupWarnings, type Warning } from '../../../harness/stats/warnings.ts';

const w = (code: Warning['code'], backend?: string, scenario?: string, severity: Warning['severity'] = 'warning'): Warning => ({
  code,
  severity,
  subject: { host: 'h', ...(backend ? { run: 'r', backend } : {}), ...(scenario ? { scenario } : {}) },
  message: `${code}${backend ? ` of ${backend}` : ''}${scenario ? ` ${scenario}` : ''}`,
  advice: `fix ${code}`,
});
const paths = ['e1000', 'virtio-net', 'vhost-user-ts'];
const pathOrder = (a: string, b: string) => paths.indexOf(a) - paths.indexOf(b);

describe('groupWarnings', () => {
  it('makes one entry per path and scenario that lists its findings, most consequential first', () => {
    const ws = [w('outlier', 'e1000', 'udp-small'), w('high-cv', 'e1000', 'udp-small'), w('rep-note', 'e1000', 'udp-small', 'note'), w('failed-rep', 'e1000', 'udp-small'), w('high-cv', 'e1000', 'tcp-stream')];
    const out = groupWarnings(ws, { pathOrder });
    expect(out).toHaveLength(2);
    const entry = out.find((x) => x.subject.scenario === 'udp-small')!;
    expect(entry.findings!.map((x) => x.code)).toEqual(['failed-rep', 'high-cv', 'outlier', 'rep-note']);
    expect(entry).toMatchObject({ code: 'failed-rep', severity: 'warning', subject: { host: 'h', run: 'r', backend: 'e1000', scenario: 'udp-small' } });
    expect(entry.message).toBe('failed-rep of e1000 udp-small; high-cv of e1000 udp-small; outlier of e1000 udp-small; rep-note of e1000 udp-small');
    expect(entry.advice).toBe('fix failed-rep; fix high-cv; fix outlier; fix rep-note');
    // A single finding stays as it was.
    expect(out.find((x) => x.subject.scenario === 'tcp-stream')).toEqual(ws[4]);
  });

  it('orders by consequence: errors, then a failed repetition or a starved path, then noise, then an outlier, then notes; by path within a class', () => {
    const ws = [
      w('collector-unavailable', undefined, undefined, 'note'),
      w('outlier', 'e1000', 'udp-small'),
      w('cpu-starved', 'vhost-user-ts'),
      w('high-cv', 'e1000', 'tcp-stream'),
      w('failed-rep', 'virtio-net', 'tcp-stream'),
      w('partial-run', undefined, undefined, 'error'),
      w('failed-rep', 'e1000', 'tcp-stream'),
    ];
    const out = groupWarnings(ws, { pathOrder });
    expect(out.map((x) => x.message)).toEqual([
      'partial-run',
      'failed-rep of e1000 tcp-stream; high-cv of e1000 tcp-stream',
      'failed-rep of virtio-net tcp-stream',
      'cpu-starved of vhost-user-ts',
      'outlier of e1000 udp-small',
      'collector-unavailable',
    ]);
  });

  it('keeps a finding about a whole path apart from those of its scenarios, and orders scenarios as asked', () => {
    const out = groupWarnings([w('high-cv', 'e1000', 'udp-small'), w('high-cv', 'e1000', 'tcp-stream'), w('backend-failed', 'e1000', undefined, 'error')], {
      pathOrder,
      scenarioOrder: (a, b) => (a === 'tcp-stream' ? -1 : b === 'tcp-stream' ? 1 : 0),
    });
    expect(out.map((x) => x.message)).toEqual(['backend-failed of e1000', 'high-cv of e1000 tcp-stream', 'high-cv of e1000 udp-small']);
  });

  it('never lets a note outrank a warning', () => {
    expect(consequence(w('rep-note', 'e1000', undefined, 'note'))).toBeGreaterThan(consequence(w('outlier', 'e1000', 'x')));
    expect(consequence(w('failed-rep', 'e1000', 'x'))).toBeLessThan(consequence(w('outlier', 'e1000', 'x')));
  });
});
