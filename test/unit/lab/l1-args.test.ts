import { describe, expect, it } from 'vitest';
import { argvFile, chrootCommand, l1Argv, mountsFile, type Share } from '../../../harness/lab/l1-args.ts';

const shares: Share[] = [
  { tag: 'host', hostPath: '/', readonly: true },
  { tag: 'lab', hostPath: '/run/iopath/20261202-120000-abcdef/share', readonly: false },
  { tag: 'rw0', hostPath: '/srv/iopath/results', mountPath: '/srv/iopath/results', readonly: false },
  { tag: 'rw1', hostPath: '/srv/my reports', mountPath: '/srv/my reports', readonly: false },
];

describe('the lab VM command line', () => {
  const argv = l1Argv({
    binary: 'qemu-system-x86_64',
    cpus: 2,
    memoryMiB: 3072,
    kernel: '/k/vmlinuz',
    initrd: '/k/lab.img',
    append: 'console=ttyS0 quiet',
    consoleSocket: '/r/console.sock',
    controlSocket: '/r/control.sock',
    qmpSocket: '/r/qmp.sock',
    debugLog: '/r/qemu-debug.log',
    shares,
  });

  it('renders every option in order', () => {
    expect(argv).toMatchSnapshot();
  });

  it('emulates a CPU with SVM under TCG, without a NIC', () => {
    expect(argv.slice(argv.indexOf('-accel'), argv.indexOf('-accel') + 4)).toEqual(['-accel', 'tcg', '-cpu', 'max']);
    expect(argv).toContain('-nodefaults');
    expect(argv.join(' ')).toMatch(/-nic none/);
  });

  it('shares the host root read-only and the rest writable, each with remapped device ids', () => {
    const fsdevs = argv.filter((_, i) => argv[i - 1] === '-fsdev');
    expect(fsdevs[0]).toBe('local,id=host,path=/,security_model=none,readonly=on,multidevs=remap');
    expect(fsdevs.slice(1).every((f) => !f.includes('readonly') && f.endsWith('multidevs=remap'))).toBe(true);
    expect(argv.filter((a) => a.startsWith('virtio-9p-pci'))).toHaveLength(4);
  });
});

describe("files for L1's init", () => {
  it('lists the shares with a mount path, read-only or writable, spaces kept', () => {
    expect(mountsFile(shares)).toBe('rw0 rw /srv/iopath/results\nrw1 rw /srv/my reports\n');
    expect(mountsFile([{ tag: 'checkout', hostPath: '/tmp/c', mountPath: '/tmp/c', readonly: true }, { tag: 'host', hostPath: '/', readonly: true }])).toBe('checkout ro /tmp/c\n');
  });

  it('writes one argument per line and refuses a line break inside one', () => {
    expect(argvFile(['bench', '--profile', 'a b', "it's"])).toBe("bench\n--profile\na b\nit's\n");
    expect(() => argvFile(['bench', 'x\ny'])).toThrow(/line break/);
  });

  it('runs node on the checkout in a clean environment and the same working directory', () => {
    expect(chrootCommand({ node: '/usr/bin/node', entry: '/srv/iopath/bin/iopath.js', cwd: '/srv/iopath', env: { HOME: '/tmp', PATH: '/usr/bin:/bin' }, args: ['doctor', '--json'] })).toEqual([
      '/usr/bin/env',
      '-i',
      '--chdir=/srv/iopath',
      'HOME=/tmp',
      'PATH=/usr/bin:/bin',
      '/usr/bin/node',
      '/srv/iopath/bin/iopath.js',
      'doctor',
      '--json',
    ]);
  });
});
