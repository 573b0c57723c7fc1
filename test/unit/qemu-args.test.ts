import { describe, expect, it } from 'vitest';
import { backendIds, backends } from '../../harness/backends/registry.ts';
import { variantPath } from '../../harness/backends/variant.ts';
import { guestIdentity } from '../../harness/host/identity.ts';
import { qemuArgv, renderProps, type PropValue } from '../../harness/vm/qemu-args.ts';

const base = {
  name: 'a',
  binary: 'qemu-system-x86_64',
  memoryMiB: 512,
  vcpus: 1,
  kernel: '/img/vmlinuz',
  initrd: '/img/initrd.img',
  append: 'console=ttyS0 quiet',
  qmpSocket: '/run/iopath/r/x/a.qmp',
  agentSocket: '/run/iopath/r/x/a.agent',
  serialLog: '/results/r/x/serial-a.log',
};

describe('QEMU argv', () => {
  for (const id of backendIds) {
    for (const accel of ['tcg', 'kvm'] as const) {
      it(`${id} under ${accel} renders the same argv as recorded`, () => {
        const g = guestIdentity(0, 'abc123');
        const nic = backends[id].guestArgs(g, { runtimeDir: '/run/iopath/r/x', accel, qemuVersion: { major: 7, minor: 2, micro: 22 } });
        expect(qemuArgv({ ...base, accel, nic })).toMatchSnapshot();
      });
    }
  }

  it('gives every virtio-net path the queue pairs asked for, with their MSI-X vectors, and e1000 one queue', () => {
    const g = guestIdentity(0, 'abc123');
    for (const id of backendIds) {
      for (const accel of ['tcg', 'kvm'] as const) {
        const nic = backends[id].guestArgs(g, { runtimeDir: '/run/iopath/r/x', accel, qemuVersion: { major: 7, minor: 2, micro: 22 }, queues: 2 });
        const argv = qemuArgv({ ...base, vcpus: 2, accel, nic }).join(' ');
        if (!argv.includes('virtio-net-pci')) {
          expect(argv).not.toMatch(/queues=|mq=/);
          continue;
        }
        expect(argv, id).toMatch(/-netdev \S*queues=2/);
        expect(argv, id).toMatch(/virtio-net-pci,\S*mq=on/);
        // QEMU 7.2 under TCG keeps vhost-user on INTx (vectors=0); elsewhere 2 per pair + config + control.
        expect(argv, id).toMatch(nic.sharedMemory && accel === 'tcg' ? /vectors=0/ : /vectors=6/);
      }
    }
  });

  it('appends a variant\'s device properties to the NIC of every virtio path, after the path\'s own', () => {
    const g = guestIdentity(0, 'abc123');
    for (const id of backendIds) {
      const device: Record<string, PropValue> = id === 'e1000' ? { mitigation: false } : { event_idx: false, packed: true, rx_queue_size: 1024 };
      const path = variantPath(backends[id], { id: `${id}~v`, of: id, name: 'v', device });
      const nic = path.guestArgs(g, { runtimeDir: '/run/iopath/r/x', accel: 'tcg', qemuVersion: { major: 7, minor: 2, micro: 22 } });
      const argv = qemuArgv({ ...base, accel: 'tcg', nic });
      expect(argv, id).toMatchSnapshot();
      const dev = argv[argv.findIndex((a, i) => argv[i - 1] === '-device' && /^(virtio-net-pci|e1000),/.test(a))]!;
      expect(dev, id).toMatch(id === 'e1000' ? /,mitigation=off$/ : /,event_idx=off,packed=on,rx_queue_size=1024$/);
    }
  });

  it('escapes commas in property values and renders booleans as on/off', () => {
    expect(renderProps('file', { id: 'x', path: '/a,b', share: true, wait: false, skip: undefined })).toBe('file,id=x,path=/a,,b,share=on,wait=off');
  });

  it('adds a shareable memfd backend only when the NIC asks for shared memory', () => {
    const shared = qemuArgv({ ...base, accel: 'tcg', nic: { chardevs: [], netdevs: [], devices: [], sharedMemory: true } });
    expect(shared).toContain('memory-backend-memfd,id=mem,size=512M,share=on');
    expect(shared[shared.indexOf('-machine') + 1]).toBe('pc,memory-backend=mem');
    const plain = qemuArgv({ ...base, accel: 'tcg' });
    expect(plain.join(' ')).not.toContain('memory-backend');
  });

  it('keeps default devices out and names threads for CPU accounting', () => {
    const argv = qemuArgv({ ...base, accel: 'tcg' });
    expect(argv).toContain('-nodefaults');
    expect(argv[argv.indexOf('-vga') + 1]).toBe('none');
    expect(argv[argv.indexOf('-name') + 1]).toBe('guest=a,debug-threads=on');
  });
});
