// The switch's own command line (switch-main.ts run directly): repeated --socket, tuning flags,
// usage errors for what cannot work.

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../harness/errors.ts';
import { parseSwitchArgs } from '../../../harness/vhost-user/switch-main.ts';

describe('parseSwitchArgs', () => {
  it('keeps every --socket in order, and the tuning flags', () => {
    expect(parseSwitchArgs(['--socket', '/r/a.sock', '--socket', '/r/b.sock', '--stats', '/r/s.json', '--spin-us', '0', '--hold-ms', '20', '--burst', '64'])).toEqual({
      sockets: ['/r/a.sock', '/r/b.sock'],
      statsFile: '/r/s.json',
      spinUs: 0,
      holdMs: 20,
      burst: 64,
      verbose: false,
    });
  });

  it('refuses no socket, unknown flags and bad numbers', () => {
    expect(() => parseSwitchArgs([])).toThrow(UsageError);
    expect(() => parseSwitchArgs(['--socket', 'a', '--bogus'])).toThrow();
    expect(() => parseSwitchArgs(['--socket', 'a', '--spin-us', 'fast'])).toThrow(/non-negative number/);
  });
});
