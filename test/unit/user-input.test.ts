// What iopath reads because a user named it: only regular files of sane size, refused before a
// byte is read otherwise; image recipes checked by their schema; bench flags checked by the very
// schema of the profile field they override, and the other commands' flags by their limits.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkNumber, checkSwitchArgs, overheadLimits, switchLimits } from '../../harness/config/flags.ts';
import { loadProfile } from '../../harness/config/load.ts';
import { resolvePlan, type PlanOverrides } from '../../harness/config/plan.ts';
import { profileSchema } from '../../harness/config/schema.ts';
import { MAX_BYTES, readUserFile, requireDirectory } from '../../harness/config/user-file.ts';
import { UsageError } from '../../harness/errors.ts';
import { loadRecipe, readRecipeFile } from '../../harness/image/recipe.ts';
import { projectRoot } from '../../harness/paths.ts';
import { usageErrorOf } from '../helpers/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'iopath-input-'));
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};


describe('readUserFile', () => {
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const sub = join(dir, 'sub');
  mkdirSync(sub);

  it('reads a regular file, through a symbolic link too', () => {
    const path = file('p.yaml', 'scenarios: []\n');
    symlinkSync(path, join(dir, 'link.yaml'));
    expect(readUserFile(join(dir, 'link.yaml'), { what: 'profile', maxBytes: 100 }).toString()).toBe('scenarios: []\n');
  });

  it.each([
    ['a FIFO', fifo, /is a FIFO \(named pipe\), not a regular file/],
    ['a directory', sub, /is a directory, not a regular file/],
    ['a character device', '/dev/zero', /is a character device, not a regular file/],
    ['a missing file', join(dir, 'nope'), /cannot be read: ENOENT/],
  ])('refuses %s at once, naming it', (_what, path, message) => {
    const started = performance.now();
    const err = usageErrorOf(() => readUserFile(path, { what: 'profile', maxBytes: MAX_BYTES.profile, fix: 'give a file' }));
    expect(err.message).toMatch(message);
    expect(err.message).toContain(path);
    expect(err.fix).toBe('give a file');
    // Refused without reading: far below any blocking read or a read of /dev/zero up to a cap.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses a socket', async () => {
    const path = join(dir, 's.sock');
    const server = createServer().listen(path);
    await new Promise((r) => server.once('listening', r));
    try {
      expect(usageErrorOf(() => readUserFile(path, { what: 'run record', maxBytes: 100 })).message).toMatch(/is a socket, not a regular file/);
    } finally {
      server.close();
    }
  });

  it('refuses a file above the cap of its kind, and reads one at the cap', () => {
    expect(usageErrorOf(() => readUserFile(file('big', Buffer.alloc(101)), { what: 'profile', maxBytes: 100 })).message).toMatch(/is 101 bytes, more than the 100 bytes a profile may have/);
    expect(readUserFile(file('exact', Buffer.alloc(100, 1)), { what: 'profile', maxBytes: 100 }).length).toBe(100);
  });

  it('bounds files whose size stat does not tell (procfs)', () => {
    // /proc files report size 0; the read itself stops past the cap.
    expect(usageErrorOf(() => readUserFile('/proc/self/maps', { what: 'profile', maxBytes: 8 })).message).toMatch(/grew past the 8 bytes/);
  });

  it('requireDirectory accepts a folder and refuses anything else', () => {
    expect(() => requireDirectory(sub, 'run folder')).not.toThrow();
    expect(usageErrorOf(() => requireDirectory(fifo, 'run folder')).message).toMatch(/the run folder \S+fifo is a FIFO \(named pipe\), not a directory/);
    expect(usageErrorOf(() => requireDirectory(join(dir, 'gone'), 'run folder')).message).toMatch(/does not exist/);
  });
});

describe('profiles that are not files', () => {
  it('a FIFO, a directory or a device as --profile is refused before it is read', () => {
    const fifo = join(dir, 'profile.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(usageErrorOf(() => loadProfile(fifo)).message).toMatch(/the profile \S+profile\.yaml is a FIFO/);
    expect(usageErrorOf(() => loadProfile(`${dir}/`)).message).toMatch(/is a directory/);
    expect(usageErrorOf(() => loadProfile('/dev/zero')).message).toMatch(/is a character device/);
    expect(usageErrorOf(() => loadProfile(file('huge.yaml', `# ${'x'.repeat(MAX_BYTES.profile)}\n`))).message).toMatch(/more than the 1\.0 MiB a profile may have/);
  });
});

describe('bench flags use the limits of the profile fields they override', () => {
  const base = { backends: ['e1000'], scenarios: [{ kind: 'tcp-stream' }] };
  const loaded = loadProfile(file('base.json', JSON.stringify(base)));
  const cases: [keyof PlanOverrides, (v: unknown) => Record<string, unknown>, unknown[]][] = [
    ['reps', (v) => ({ repetitions: v }), [0, 1, 1000, 1001, 99999999999, 1.5, -1, Number.NaN, Infinity]],
    ['warmup', (v) => ({ warmup: v }), [-1, 0, 100, 101, 2.5, Number.NaN]],
    ['duration', (v) => ({ scenarios: [{ kind: 'tcp-stream', durationSec: v }] }), [0, 1, 3600, 3601, 0.5, Number.NaN]],
    ['accel', (v) => ({ accel: v }), ['auto', 'kvm', 'tcg', 'xen', '']],
  ];
  for (const [flag, field, values] of cases) {
    it(`--${flag} accepts exactly what the profile accepts`, () => {
      for (const v of values) {
        const inProfile = profileSchema.safeParse({ ...base, ...field(v) }).success;
        let asFlag = true;
        try {
          resolvePlan(loaded, { [flag]: v });
        } catch (err) {
          expect(err).toBeInstanceOf(UsageError);
          expect((err as Error).message).toMatch(new RegExp(`^--${flag} `));
          asFlag = false;
        }
        expect({ value: v, asFlag }).toEqual({ value: v, asFlag: inProfile });
      }
    });
  }

  it('names the flag, the value and the limit', () => {
    expect(usageErrorOf(() => resolvePlan(loaded, { reps: 99999999999 })).message).toBe('--reps 99999999999: Too big: expected number to be <=1000 (the limits of the profile field repetitions)');
  });
});

describe('limits of the other commands\' flags', () => {
  it('overhead --rounds and --goal', () => {
    expect(checkNumber('rounds', 3, overheadLimits.rounds)).toBe(3);
    expect(usageErrorOf(() => checkNumber('rounds', 1e9, overheadLimits.rounds)).message).toMatch(/^--rounds 1000000000: Too big/);
    expect(usageErrorOf(() => checkNumber('goal', 1.5, overheadLimits.goal)).message).toMatch(/^--goal 1\.5: Too big/);
    expect(usageErrorOf(() => checkNumber('goal', 0, overheadLimits.goal)).message).toMatch(/^--goal 0: Too small/);
  });

  it('switch sockets, counters file and interval', () => {
    expect(() => checkSwitchArgs([join(dir, 'a.sock'), join(dir, 'b.sock')], join(dir, 'stats.json'), 1000)).not.toThrow();
    expect(usageErrorOf(() => checkSwitchArgs([`/tmp/${'s'.repeat(110)}.sock`], undefined, undefined)).message).toMatch(/more than the 107 a UNIX socket path may have/);
    expect(usageErrorOf(() => checkSwitchArgs([file('taken', 'data')], undefined, undefined)).message).toMatch(/exists and is a regular file, not a socket/);
    expect(usageErrorOf(() => checkSwitchArgs([join(dir, 'x.sock'), join(dir, 'x.sock')], undefined, undefined)).message).toMatch(/the same path is given twice/);
    expect(usageErrorOf(() => checkSwitchArgs([join(dir, 'y.sock')], dir, undefined)).message).toMatch(/--stats \S+: the path exists and is a directory/);
    expect(() => checkSwitchArgs([join(dir, 'y.sock')], file('stats-before.json', '{}'), undefined)).not.toThrow();
    expect(usageErrorOf(() => checkSwitchArgs([join(dir, 'y.sock')], undefined, 0)).message).toMatch(/^--stats-interval-ms 0: Too small/);
    expect(switchLimits.statsIntervalMs.safeParse(Number.NaN).success).toBe(false);
  });
});

describe('image recipes', () => {
  const recipeDir = (recipe: unknown, files: Record<string, string> = {}) => {
    const d = mkdtempSync(join(dir, 'images-'));
    writeFileSync(join(d, 'recipe.json'), typeof recipe === 'string' ? recipe : JSON.stringify(recipe));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(d, name, '..'), { recursive: true });
      writeFileSync(join(d, name), text);
    }
    return d;
  };
  const good = { kernelPackage: 'linux-image-amd64', packages: ['busybox-static'], modules: ['e1000'], programs: { '/bin/busybox': 'bin/busybox' }, files: { '/init': 'guest/init' }, cmdline: 'quiet' };

  it('the project\'s recipe passes', () => {
    expect(loadRecipe(join(projectRoot, 'images')).kernelPackage).toBe('linux-image-amd64');
  });

  it('refuses what would reach apt\'s command line or the disk unchecked', () => {
    expect(usageErrorOf(() => loadRecipe(recipeDir({ ...good, packages: ['-oAPT::Get::AllowUnauthenticated=1'] }))).message).toMatch(/packages\[0\]: not a Debian package name/);
    expect(usageErrorOf(() => loadRecipe(recipeDir({ ...good, files: { '/init': '../../etc/shadow' } }))).message).toMatch(/files\.\/init: must be a relative path that stays inside its folder/);
    expect(usageErrorOf(() => loadRecipe(recipeDir({ ...good, files: { 'init': 'guest/init' } }))).message).toMatch(/files.init: the guest path must be an absolute path/);
    expect(usageErrorOf(() => loadRecipe(recipeDir({ ...good, extra: 1 }))).message).toMatch(/invalid image recipe.*\n.*unrecognized|Unrecognized key/i);
    expect(usageErrorOf(() => loadRecipe(recipeDir('{ not json'))).message).toMatch(/recipe\.json: not valid JSON/);
  });

  it('refuses a recipe folder that is not a folder, and recipe files that are not files', () => {
    expect(usageErrorOf(() => loadRecipe(file('not-a-dir', 'x'))).message).toMatch(/the guest image folder \S+not-a-dir is a regular file, not a directory/);
    const d = recipeDir(good);
    mkdirSync(join(d, 'guest', 'init'), { recursive: true });
    expect(usageErrorOf(() => readRecipeFile(d, 'guest/init')).message).toMatch(/is a directory, not a regular file/);
  });
});
