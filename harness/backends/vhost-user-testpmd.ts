// Path `vhost-user-testpmd`: each guest's virtio-net queues are served by DPDK testpmd through a
// vhost-user socket; testpmd busy-polls and forwards port 0 <-> port 1 (io mode). QEMU is off the
// data path; the switch burns a core polling.

import { cpus } from 'node:os';
import { join } from 'node:path';
import { installFix, packageOf } from '../host/facts.ts';
import { Testpmd, TestpmdCounters } from './testpmd.ts';
import type { NicBackend } from './types.ts';
import { MSIX_NOTE, needsMsixWorkaround, vhostUserNic } from './vhost-user-common.ts';

const socketOf = (runtimeDir: string, index: number) => join(runtimeDir, `vhost-user-${index}.sock`);

export const vhostUserTestpmd: NicBackend = {
  id: 'vhost-user-testpmd',
  title: 'vhost-user (DPDK testpmd)',
  summary: 'virtio-net-pci served over vhost-user by DPDK testpmd (busy-polling io forwarding between two vhost ports).',
  requirements: (host) => [
    { what: 'dpdk-testpmd', ok: host.testpmd !== undefined, reason: 'dpdk-testpmd is not installed', fix: installFix(packageOf.testpmd) },
    { what: 'two CPUs for testpmd lcores', ok: host.cpuCount >= 2, reason: `testpmd needs a main and a forwarding lcore; this host has ${host.cpuCount} CPU` },
  ],
  guestArgs: (g, env) => vhostUserNic(g, socketOf(env.runtimeDir, g.index), env),
  async setUp(scope, ctx) {
    const notes: string[] = [];
    const sockets = ctx.guests.map((g) => socketOf(ctx.runtimeDir, g.index));
    const lcores = cpus().slice(0, 2).map((_, i) => i);
    const testpmd = await Testpmd.start(
      scope,
      {
        lcores,
        filePrefix: `iopath-${ctx.tag}`,
        sockets,
        ...(ctx.host.hugepagesMount ? { hugepages: ctx.host.hugepagesMount } : {}),
        memoryMiB: 1024,
        mbufs: 16384,
        queues: ctx.queues ?? 1,
      },
      join(ctx.resultsDir, 'testpmd.log'),
      ctx.signal,
    );
    notes.push(`testpmd forwards with ${lcores.length - 1} busy-polling lcore(s) on CPU ${lcores.slice(1).join(',')}, ${ctx.host.hugepagesMount ? `hugepages from ${ctx.host.hugepagesMount}` : 'without hugepages (--no-huge)'}`);
    if (needsMsixWorkaround(ctx)) notes.push(MSIX_NOTE);
    const counters = new TestpmdCounters(testpmd);
    return {
      notes,
      processes: () => [{ role: 'testpmd', pid: testpmd.pid }],
      collectors: () => [counters],
    };
  },
};
