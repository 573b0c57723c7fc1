import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/errors.ts';
import { checkoutShare, isInside, outputFolders, writableShares } from '../../../harness/lab/shares.ts';

describe('what the command inside the lab may write', () => {
  it('adds the folders its output flags name, relative to its working directory', () => {
    const args = ['bench', '--results-dir', 'out/results', '--reports-dir=/srv/reports', '--profile', 'lab'];
    expect(outputFolders(args, '/srv/iopath', ['/srv/iopath/results'])).toEqual(['/srv/iopath/results', '/srv/iopath/out/results', '/srv/reports']);
    expect(outputFolders(['compare', 'a', 'b', '--out', 'cmp'], '/w', [])).toEqual(['/w/cmp']);
  });

  it('shares each folder once, leaves out folders inside another, and creates missing ones', () => {
    const base = mkdtempSync(join(tmpdir(), 'iopath-shares-'));
    const shares = writableShares([join(base, 'results', 'x'), join(base, 'results'), join(base, 'reports'), join(base, 'results')]);
    expect(shares.map((s) => s.hostPath)).toEqual([join(base, 'results'), join(base, 'reports')]);
    expect(shares.map((s) => s.tag)).toEqual(['rw0', 'rw1']);
    expect(shares.every((s) => !s.readonly && s.mountPath === s.hostPath && existsSync(s.hostPath))).toBe(true);
  });

  it('refuses to make the root writable', () => {
    expect(() => writableShares(['/'])).toThrow(UsageError);
  });

  it('shares a checkout that the tmpfs inside would hide, read-only at its own path, and no other', () => {
    expect(checkoutShare('/tmp/ci/iopath')).toEqual({ tag: 'checkout', hostPath: '/tmp/ci/iopath', mountPath: '/tmp/ci/iopath', readonly: true });
    expect(checkoutShare('/var/tmp/iopath')?.readonly).toBe(true);
    expect(checkoutShare('/srv/iopath')).toBeUndefined();
    expect(isInside('/tmpx/a', '/tmp')).toBe(false);
  });
});
