// The issue-3 paths without touching the host: testpmd's command line and counters, the MSI-X
// workaround rule, and the vhost-net requirement.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backends, pathPackages } from '../../harness/backends/registry.ts';
import { parsePortStats, switchApp, testpmdArgv } from '../../harness/backends/testpmd.ts';
import { countersToSamples } from '../../harness/backends/vhost-user-testpmd.ts';
import { needsMsixWorkaround, vhostUserNic } from '../../harness/backends/vhost-user-common.ts';
import { ParseError } from '../../harness/errors.ts';
import type { HostFacts } from '../../harness/host/facts.ts';
import { guestIdentity } from '../../harness/host/identity.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', 'fixtures', 'testpmd', name), 'utf8');

describe('testpmd', () => {
  const sockets = ['/run/iopath/r/s0.sock', '/run/iopath/r/s1.sock'];
  const base = { lcores: [0, 1], filePrefix: 'iopath-abc123', vdevs: sockets.map((s, i) => `net_vhost${i},iface=${s},queues=1`), memoryMiB: 1024, app: switchApp({ mbufs: 16384, forwardingCores: 1 }) };

  it('runs without hugepages on ordinary memory, keeping shared config files out of /var/run', () => {
    expect(testpmdArgv(base)).toEqual([
      'dpdk-testpmd', '-l', '0,1', '--file-prefix', 'iopath-abc123', '--no-pci', '--no-telemetry', '-m', '1024', '--no-huge', '--no-shconf',
      '--vdev', 'net_vhost0,iface=/run/iopath/r/s0.sock,queues=1', '--vdev', 'net_vhost1,iface=/run/iopath/r/s1.sock,queues=1',
      '--', '-i', '--forward-mode=io', '--auto-start', '--total-num-mbufs=16384', '--nb-cores=1',
    ]);
  });

  it('uses mounted hugepages in memory only, so no hugepage file outlives it', () => {
    const argv = testpmdArgv({ ...base, hugepages: '/dev/hugepages' });
    expect(argv).toEqual(expect.arrayContaining(['--in-memory', '--huge-dir', '/dev/hugepages']));
    expect(argv).not.toContain('--no-huge');
  });

  it('gives every port as many receive and transmit queues as the guests have queue pairs', () => {
    expect(switchApp({ mbufs: 16384, forwardingCores: 1, queues: 2 })).toEqual(['--forward-mode=io', '--auto-start', '--total-num-mbufs=16384', '--nb-cores=1', '--rxq=2', '--txq=2']);
    expect(switchApp({ mbufs: 16384, forwardingCores: 1, queues: 1 }).join(' ')).not.toMatch(/--rxq|--txq/);
  });

  it('names the main lcore only when it is not the lowest', () => {
    expect(testpmdArgv({ ...base, lcores: [1, 0] }).slice(1, 5)).toEqual(['-l', '1,0', '--main-lcore', '1']);
    expect(testpmdArgv(base)).not.toContain('--main-lcore');
  });

  it('maps two lcores onto one CPU with --lcores when placement gives them the same core', () => {
    const argv = testpmdArgv({ ...base, lcores: [1, 1] });
    expect(argv.slice(1, 3)).toEqual(['--lcores', '0@1,1@1']);
    expect(argv).not.toContain('-l');
  });

  it('reads the receive rate too, where testpmd prints it', () => {
    expect(parsePortStats(fixture('show-port-stats-all_after-traffic.txt')).map((s) => s.rxPps)).toEqual([362, 362]);
  });

  it('parses the port counters testpmd printed after real traffic', () => {
    const stats = parsePortStats(fixture('show-port-stats-all_after-traffic.txt'));
    expect(stats.map((s) => s.port)).toEqual([0, 1]);
    expect(stats[1]).toMatchObject({ rxPackets: 695890, rxBytes: 792935472, txPackets: 13082, txBytes: 806529, rxMissed: 0, txErrors: 0 });
    expect(stats[0]).toMatchObject({ rxPackets: 13083, txPackets: 665380 });
  });

  it('says what is missing when the output has no port block', () => {
    expect(() => parsePortStats(fixture('startup.txt'))).toThrow(ParseError);
  });

  it('turns two snapshots into window deltas, counting packets lost on the way out to a full guest ring', () => {
    const after = parsePortStats(fixture('show-port-stats-all_after-traffic.txt'));
    const before = after.map((s) => ({ ...s, rxPackets: 0, txPackets: 0, rxBytes: 0, txBytes: 0 }));
    const samples = countersToSamples(before, after);
    const get = (metric: string, port: string, direction: string) => samples.find((s) => s.metric === metric && s.dims?.port === port && s.dims?.direction === direction)?.value;
    expect(get('switchPackets', '1', 'rx')).toBe(695890);
    expect(get('switchPackets', '0', 'tx')).toBe(665380);
    // 695890 arrived on port 1 for port 0, 665380 left on port 0.
    expect(get('switchDrops', '0', 'tx')).toBe(695890 - 665380);
    expect(get('switchDrops', '1', 'tx')).toBe(1);
    expect(samples.every((s) => s.source === 'testpmd')).toBe(true);
  });
});

describe('vhost-user guests', () => {
  const v72 = { major: 7, minor: 2, micro: 22 };
  it('avoid MSI-X only under TCG with QEMU before 8.0', () => {
    expect(needsMsixWorkaround({ accel: 'tcg', qemuVersion: v72 })).toBe(true);
    expect(needsMsixWorkaround({ accel: 'kvm', qemuVersion: v72 })).toBe(false);
    expect(needsMsixWorkaround({ accel: 'tcg', qemuVersion: { major: 8, minor: 0, micro: 0 } })).toBe(false);
  });

  it('get shared memory and a vhost-user netdev on the socket', () => {
    const g = guestIdentity(1, 'abc123');
    const tcg = vhostUserNic(g, '/run/s1.sock', { accel: 'tcg', qemuVersion: v72 });
    expect(tcg.sharedMemory).toBe(true);
    expect(tcg.chardevs).toEqual([{ backend: 'socket', id: 'vhostuser0', props: { path: '/run/s1.sock' } }]);
    expect(tcg.devices[0]!.props).toMatchObject({ netdev: 'net0', mac: g.mac, vectors: 0 });
    const kvm = vhostUserNic(g, '/run/s1.sock', { accel: 'kvm', qemuVersion: v72 });
    expect(kvm.devices[0]!.props.vectors).toBeUndefined();
  });
});

describe('requirements', () => {
  const host = { netAdmin: true, devNetTun: true, devices: { '/dev/vhost-net': false }, tools: {}, cpuCount: 2, hugepagesMount: undefined } as unknown as HostFacts;
  it('skip vhost-net without /dev/vhost-net, naming the module to load', () => {
    const unmet = backends['vhost-net'].requirements(host).filter((r) => !r.ok);
    expect(unmet).toHaveLength(1);
    expect(unmet[0]).toMatchObject({ what: '/dev/vhost-net', fix: 'modprobe vhost_net' });
    expect(backends['vhost-net'].requirements({ ...host, devices: { '/dev/vhost-net': true } }).every((r) => r.ok)).toBe(true);
  });

  it('skip vhost-user-testpmd without dpdk-testpmd, naming the package; hugepages are advice only', () => {
    const reqs = backends['vhost-user-testpmd'].requirements(host);
    expect(reqs.filter((r) => !r.ok && !r.optional).map((r) => r.fix)).toEqual([expect.stringContaining('dpdk-dev')]);
    expect(reqs.find((r) => r.what === 'hugepages')).toMatchObject({ ok: false, optional: true, detail: expect.stringContaining('--no-huge') });
    const installed = { ...host, tools: { 'dpdk-testpmd': { path: 'dpdk-testpmd', version: '22.11.4' } } };
    expect(backends['vhost-user-testpmd'].requirements(installed).filter((r) => !r.ok && !r.optional)).toEqual([]);
  });

  it('use vhost=on for vhost-net and vhost=off for virtio-net', () => {
    const env = { runtimeDir: '/r', accel: 'kvm' as const, qemuVersion: { major: 7, minor: 2, micro: 0 } };
    const g = guestIdentity(0, 'abc123');
    expect(backends['vhost-net'].guestArgs(g, env).netdevs[0]!.props.vhost).toBe(true);
    expect(backends['virtio-net'].guestArgs(g, env).netdevs[0]!.props.vhost).toBe(false);
  });
});

describe('Debian packages', () => {
  it('debian-packages.json keeps no copy of what the paths declare: their descriptors are the one word on it', () => {
    const json = JSON.parse(readFileSync(join(import.meta.dirname, '../../harness/host/debian-packages.json'), 'utf8')) as Record<string, unknown>;
    const listed = Object.entries(json).filter(([k]) => !k.startsWith('$')).flatMap(([, v]) => v as string[]);
    expect(pathPackages()).toContain('dpdk-dev');
    expect(listed.filter((name) => pathPackages().includes(name))).toEqual([]);
  });
});
