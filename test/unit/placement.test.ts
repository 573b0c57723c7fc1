// The auto placement policy on 1, 2, 4 and 16 cores, with and without a busy-polling helper, and the
// CPU list format the kernel uses.

import { describe, expect, it } from 'vitest';
import { formatCpuList, helperCores, parseCpuList, planPlacement, type PlacementInput, type PlacementPlan } from '../../harness/host/placement.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const guests = [
  { name: 'a', vcpus: 1 },
  { name: 'b', vcpus: 1 },
];
const busy = { role: 'testpmd', busyPoll: true, lightThreads: true };
const eventDriven = { role: 'switch', busyPoll: false };

/** unit id -> cpu */
function where(plan: PlacementPlan): Record<string, number> {
  return Object.fromEntries(plan.units.map((u) => [u.id, u.cpu]));
}

function plan(cores: number, o: Partial<PlacementInput> = {}): PlacementPlan {
  return planPlacement({ cpus: range(cores), guests, helpers: [], ...o });
}

describe('auto placement', () => {
  it('1 core: everything shares it, and the plan says so', () => {
    const p = plan(1, { helpers: [busy] });
    expect(new Set(p.units.map((u) => u.cpu))).toEqual(new Set([0]));
    expect(p.shared).toHaveLength(1);
    expect(p.shared[0]!.units).toEqual(expect.arrayContaining(['vCPU 0 of guest a', 'vCPU 0 of guest b', 'testpmd (busy-polling)', 'iopath and the host tools it starts (iperf3/sockperf servers, perf)']));
    expect(p.units.every((u) => !u.alone)).toBe(true);
  });

  it('2 cores, no helper: a guest per core, iopath on core 0 with guest b', () => {
    const p = plan(2);
    expect(p.housekeeping).toBe(0);
    expect(where(p)).toEqual({ 'vcpu a/0': 1, 'vcpu b/0': 0, 'io a': 1, 'io b': 0, host: 0 });
    expect(p.shared.map((s) => s.cpu)).toEqual([0, 1]);
  });

  it('2 cores, busy-polling helper: no core to spare, it shares the least loaded core (guest a\'s)', () => {
    const p = plan(2, { helpers: [busy] });
    expect(where(p)).toMatchObject({ 'vcpu a/0': 1, 'vcpu b/0': 0, 'helper testpmd': 1, 'light testpmd': 0, host: 0 });
    expect(p.shared.find((s) => s.cpu === 1)!.units).toEqual(['vCPU 0 of guest a', 'testpmd (busy-polling)', 'QEMU I/O threads of guest a (main loop, iothreads)']);
    expect(helperCores(p, 'testpmd')).toEqual({ light: 0, busy: [1] });
  });

  it('2 cores, event-driven switch: it goes where the load is least', () => {
    const p = plan(2, { helpers: [eventDriven] });
    expect(where(p)['helper switch']).toBe(1);
    expect(helperCores(p, 'switch')).toEqual({ light: 0, busy: [1] });
  });

  it('4 cores, no helper: vCPUs and I/O threads each get a core; core 0 keeps iopath and guest b\'s I/O', () => {
    const p = plan(4);
    expect(where(p)).toEqual({ 'vcpu a/0': 1, 'vcpu b/0': 2, 'io a': 3, 'io b': 0, host: 0 });
    expect(p.units.filter((u) => u.alone).map((u) => u.id)).toEqual(['vcpu a/0', 'vcpu b/0', 'io a']);
  });

  it('4 cores, busy-polling helper: the poller gets the spare core, I/O threads go with their vCPU', () => {
    const p = plan(4, { helpers: [busy] });
    expect(where(p)).toEqual({ 'vcpu a/0': 1, 'vcpu b/0': 2, 'helper testpmd': 3, 'io a': 1, 'io b': 2, 'light testpmd': 0, host: 0 });
    expect(p.units.find((u) => u.id === 'helper testpmd')!.alone).toBe(true);
  });

  it('16 cores, busy helper and vhost workers: every unit alone, core 0 only iopath and light threads', () => {
    const p = plan(16, { helpers: [busy], vhostWorkers: true });
    expect(where(p)).toEqual({ 'vcpu a/0': 1, 'vcpu b/0': 2, 'helper testpmd': 3, 'vhost a': 4, 'vhost b': 5, 'io a': 6, 'io b': 7, 'light testpmd': 0, host: 0 });
    expect(p.shared).toEqual([{ cpu: 0, units: ['testpmd: threads that do little (main lcore, control threads)', 'iopath and the host tools it starts (iperf3/sockperf servers, perf)'] }]);
  });

  it('16 cores, no helper, 4 vCPUs per guest: vCPUs interleave by guest on their own cores', () => {
    const p = planPlacement({ cpus: range(16), guests: guests.map((g) => ({ ...g, vcpus: 4 })), helpers: [] });
    expect(p.units.filter((u) => u.kind === 'vcpu').map((u) => `${u.guest}${u.vcpu}@${u.cpu}`)).toEqual(['a0@1', 'b0@2', 'a1@3', 'b1@4', 'a2@5', 'b2@6', 'a3@7', 'b3@8']);
    expect(p.shared.map((s) => s.cpu)).toEqual([]);
    expect(where(p)).toMatchObject({ 'io a': 9, 'io b': 10, host: 0 });
  });

  it('more vCPUs than cores wrap round the fill order', () => {
    const p = planPlacement({ cpus: range(2), guests: guests.map((g) => ({ ...g, vcpus: 2 })), helpers: [] });
    expect(p.units.filter((u) => u.kind === 'vcpu').map((u) => u.cpu)).toEqual([1, 0, 1, 0]);
  });

  it('isolated CPUs take the busy units; housekeeping is the first CPU not isolated', () => {
    const p = planPlacement({ cpus: range(8), isolated: [4, 5, 6, 7], guests, helpers: [busy] });
    expect(p.housekeeping).toBe(0);
    expect(where(p)).toMatchObject({ 'vcpu a/0': 4, 'vcpu b/0': 5, 'helper testpmd': 6, 'io a': 7, 'io b': 1 });
  });

  it('works on the CPUs it is given, not 0..n-1', () => {
    const p = planPlacement({ cpus: [2, 3, 6], guests, helpers: [] });
    expect(p.housekeeping).toBe(2);
    expect(where(p)).toMatchObject({ 'vcpu a/0': 3, 'vcpu b/0': 6, host: 2 });
  });
});

describe('CPU lists', () => {
  it('parse and format as the kernel writes them', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(formatCpuList([11, 0, 1, 2, 3, 8, 10])).toBe('0-3,8,10-11');
    expect(formatCpuList([])).toBe('');
    expect(parseCpuList('')).toEqual([]);
    expect(() => parseCpuList('0-x')).toThrow(/not a CPU list: "0-x"/);
  });
});
