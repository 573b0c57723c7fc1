// Host readiness: whether this host is set up for repeatable numbers, as a benchmark recipe (DPDK's
// PVP test, say) expects of it: CPU frequency governor, boost, SMT siblings, isolated CPUs, IRQ
// affinity, other load, hugepages. Each item has a status (`unknown` when the host does not expose
// it, as in most VMs) and the command that fixes it. Read from /sys and /proc under a root folder,
// so unit tests run it on captured text (test/fixtures/host/).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCpuList, parseCpuList } from './placement.ts';

export type ReadinessStatus = 'ok' | 'not-ready' | 'unknown';

export interface ReadinessItem {
  id: string;
  title: string;
  status: ReadinessStatus;
  detail: string;
  fix?: string;
}

/** The files readiness reads, relative to a root (`/` on a live host). */
export interface HostFiles {
  read(path: string): string | undefined;
  list(dir: string): string[] | undefined;
}

export function hostFilesAt(root = '/'): HostFiles {
  return {
    read: (p) => {
      try {
        return readFileSync(join(root, p), 'utf8');
      } catch {
        return undefined;
      }
    },
    list: (d) => {
      try {
        return readdirSync(join(root, d));
      } catch {
        return undefined;
      }
    },
  };
}

const SYS_CPU = 'sys/devices/system/cpu';

/** Online CPUs, from the CPU folders (`cpu0`, `cpu1`, ...). */
function cpuIds(f: HostFiles): number[] {
  const online = f.read(`${SYS_CPU}/online`);
  if (online !== undefined) return parseCpuList(online);
  return (f.list(SYS_CPU) ?? []).flatMap((e) => (/^cpu\d+$/.test(e) ? [Number(e.slice(3))] : [])).sort((a, b) => a - b);
}

export function governorItem(f: HostFiles): ReadinessItem {
  const title = 'CPU frequency governor';
  const byGov = new Map<string, number[]>();
  for (const c of cpuIds(f)) {
    const g = f.read(`${SYS_CPU}/cpu${c}/cpufreq/scaling_governor`)?.trim();
    if (g) byGov.set(g, [...(byGov.get(g) ?? []), c]);
  }
  if (byGov.size === 0) return { id: 'governor', title, status: 'unknown', detail: 'unknown (no cpufreq on this host: a VM, or no frequency driver)' };
  const detail = [...byGov].map(([g, cs]) => `${g} on CPU ${formatCpuList(cs)}`).join('; ');
  if (byGov.size === 1 && byGov.has('performance')) return { id: 'governor', title, status: 'ok', detail };
  return { id: 'governor', title, status: 'not-ready', detail: `${detail}: the clock changes with load, and so do the numbers`, fix: 'cpupower frequency-set -g performance  (Debian package linux-cpupower)' };
}

export function boostItem(f: HostFiles): ReadinessItem {
  const title = 'CPU boost / turbo';
  const noTurbo = f.read(`${SYS_CPU}/intel_pstate/no_turbo`)?.trim();
  if (noTurbo !== undefined) {
    return noTurbo === '1'
      ? { id: 'boost', title, status: 'ok', detail: 'turbo off (intel_pstate/no_turbo = 1)' }
      : { id: 'boost', title, status: 'not-ready', detail: 'turbo on (intel_pstate): the clock depends on temperature and on how many cores are busy', fix: 'echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo' };
  }
  const boost = f.read(`${SYS_CPU}/cpufreq/boost`)?.trim();
  if (boost !== undefined) {
    return boost === '0'
      ? { id: 'boost', title, status: 'ok', detail: 'boost off (cpufreq/boost = 0)' }
      : { id: 'boost', title, status: 'not-ready', detail: 'boost on: the clock depends on temperature and on how many cores are busy', fix: 'echo 0 > /sys/devices/system/cpu/cpufreq/boost' };
  }
  return { id: 'boost', title, status: 'unknown', detail: 'unknown (no boost control on this host: a VM, or no frequency driver)' };
}

export function smtItem(f: HostFiles): ReadinessItem {
  const title = 'SMT siblings';
  const control = f.read(`${SYS_CPU}/smt/control`)?.trim();
  const groups = new Set<string>();
  for (const c of cpuIds(f)) {
    const s = f.read(`${SYS_CPU}/cpu${c}/topology/thread_siblings_list`)?.trim();
    if (s && parseCpuList(s).length > 1) groups.add(s);
  }
  if (groups.size > 0) {
    return {
      id: 'smt',
      title,
      status: 'not-ready',
      detail: `SMT ${control ?? 'on'}: CPUs ${[...groups].slice(0, 4).join('; ')}${groups.size > 4 ? ' ...' : ''} are hyper-threads of one core, so two "cores" of a placement may share one`,
      fix: 'echo off > /sys/devices/system/cpu/smt/control',
    };
  }
  if (control !== undefined) return { id: 'smt', title, status: 'ok', detail: `SMT ${control}: every CPU is a core of its own` };
  return { id: 'smt', title, status: 'unknown', detail: 'unknown (no CPU topology in /sys)' };
}

/** CPUs kept from the scheduler's general use: /sys isolated and nohz_full, else the kernel command line. */
export function isolatedCpus(f: HostFiles): { isolated: number[]; nohzFull: number[] } {
  const fromCmdline = (key: string) => {
    const m = new RegExp(`(?:^|\\s)${key}=(\\S+)`).exec(f.read('proc/cmdline') ?? '');
    // isolcpus may carry flags before the list: isolcpus=domain,managed_irq,2-7
    return m ? parseCpuList(m[1]!.split(',').filter((p) => /^\d/.test(p)).join(',')) : [];
  };
  const sys = (name: string) => {
    const t = f.read(`${SYS_CPU}/${name}`);
    // A kernel built with NO_HZ_FULL but booted without nohz_full= prints "(null)": no CPUs.
    return t === undefined ? undefined : t.trim() === '(null)' ? [] : parseCpuList(t);
  };
  return { isolated: sys('isolated') ?? fromCmdline('isolcpus'), nohzFull: sys('nohz_full') ?? fromCmdline('nohz_full') };
}

export function isolationItem(f: HostFiles): ReadinessItem {
  const title = 'isolated CPUs (isolcpus, nohz_full)';
  const cpus = cpuIds(f);
  const { isolated, nohzFull } = isolatedCpus(f);
  if (isolated.length || nohzFull.length) {
    return { id: 'isolation', title, status: 'ok', detail: `isolcpus ${formatCpuList(isolated) || 'none'}, nohz_full ${formatCpuList(nohzFull) || 'none'}: placement puts the busy threads there` };
  }
  if (cpus.length < 2) return { id: 'isolation', title, status: 'unknown', detail: 'one CPU: nothing to isolate' };
  const rest = formatCpuList(cpus.slice(1));
  return {
    id: 'isolation',
    title,
    status: 'not-ready',
    detail: 'no CPU is isolated: kernel threads, timers and other tasks may run on the cores the guests are pinned to',
    fix: `add "isolcpus=${rest} nohz_full=${rest} rcu_nocbs=${rest}" to GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub and reboot`,
  };
}

/** Where interrupts may land: every IRQ whose affinity reaches beyond the housekeeping CPUs counts against. */
export function irqItem(f: HostFiles, o: { irqbalance?: boolean } = {}): ReadinessItem {
  const title = 'IRQ affinity';
  const cpus = cpuIds(f);
  const { isolated } = isolatedCpus(f);
  const housekeeping = isolated.length ? cpus.filter((c) => !isolated.includes(c)) : cpus.slice(0, 1);
  const irqs = (f.list('proc/irq') ?? []).filter((e) => /^\d+$/.test(e));
  const lists = irqs.flatMap((irq) => {
    const t = f.read(`proc/irq/${irq}/smp_affinity_list`);
    return t === undefined ? [] : [{ irq, cpus: parseCpuList(t) }];
  });
  if (lists.length === 0) return { id: 'irq', title, status: 'unknown', detail: 'unknown (/proc/irq cannot be read)' };
  const wide = lists.filter((l) => l.cpus.some((c) => !housekeeping.includes(c)));
  const balance = o.irqbalance ? '; irqbalance is running and moves them' : '';
  const fixCpus = formatCpuList(housekeeping);
  if (wide.length === 0 && !o.irqbalance) return { id: 'irq', title, status: 'ok', detail: `all ${lists.length} IRQs are kept on CPU ${fixCpus}` };
  return {
    id: 'irq',
    title,
    status: 'not-ready',
    detail: `${wide.length} of ${lists.length} IRQs may run on CPUs beyond ${fixCpus} (e.g. IRQ ${wide[0]?.irq ?? '-'} on ${formatCpuList(wide[0]?.cpus ?? [])})${balance}`,
    fix: `systemctl stop irqbalance; for f in /proc/irq/*/smp_affinity_list; do echo ${fixCpus} > $f; done  (some IRQs refuse: that is fine)`,
  };
}

export function hugepagesItem(f: HostFiles): ReadinessItem {
  const title = 'hugepages';
  const meminfo = f.read('proc/meminfo');
  if (meminfo === undefined) return { id: 'hugepages', title, status: 'unknown', detail: 'unknown (/proc/meminfo cannot be read)' };
  const field = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0);
  const total = field('HugePages_Total');
  const free = field('HugePages_Free');
  const sizeKiB = field('Hugepagesize');
  const mount = (f.read('proc/mounts') ?? '').split('\n').find((l) => l.split(' ')[2] === 'hugetlbfs')?.split(' ')[1];
  const fix = 'echo 1024 > /proc/sys/vm/nr_hugepages && mkdir -p /dev/hugepages && mount -t hugetlbfs none /dev/hugepages';
  if (total > 0 && mount) return { id: 'hugepages', title, status: 'ok', detail: `${total} pages of ${sizeKiB / 1024} MiB reserved (${free} free), hugetlbfs at ${mount}` };
  return {
    id: 'hugepages',
    title,
    status: 'not-ready',
    detail: total > 0 ? `${total} pages reserved but no hugetlbfs mounted` : `none reserved: DPDK runs with --no-huge${thpWords(f)}`,
    fix,
  };
}

/** Where the guests' RAM lands without hugetlbfs: on transparent huge pages when the kernel's THP mode lets QEMU ask for them. */
function thpWords(f: HostFiles): string {
  const mode = /\[(\w+)\]/.exec(f.read('sys/kernel/mm/transparent_hugepage/enabled') ?? '')?.[1];
  if (mode === undefined) return '';
  return mode === 'never' ? '; guest RAM is on 4 KiB pages (transparent huge pages: never)' : `; guest RAM is on transparent huge pages where the kernel finds them (THP: ${mode}, QEMU asks for them)`;
}

/** The load average against the CPU count, before a run: other work on the host makes numbers noisy. */
export function loadItem(f: HostFiles): ReadinessItem {
  const title = 'other load on the host';
  const text = f.read('proc/loadavg');
  const load1 = text === undefined ? NaN : Number(text.split(/\s+/)[0]);
  if (!Number.isFinite(load1)) return { id: 'load', title, status: 'unknown', detail: 'unknown (/proc/loadavg cannot be read)' };
  const cpus = Math.max(1, cpuIds(f).length);
  const detail = `load average ${load1.toFixed(2)} over the last minute on ${cpus} CPU${cpus > 1 ? 's' : ''}`;
  return load1 < LOAD_AVERAGE_LIMIT
    ? { id: 'load', title, status: 'ok', detail }
    : { id: 'load', title, status: 'not-ready', detail: `${detail}: other work is running`, fix: 'stop other work on the host (top -o %CPU shows what runs)' };
}

/** Other work above this many CPUs, on average, is worth a reader's attention. */
export const OTHER_LOAD_LIMIT_CPUS = 0.1;
/**
 * The load average counts tasks waiting to run as well as running ones, and an idle desktop sits at
 * 0.2-0.3; above half a CPU, something else is at work.
 */
const LOAD_AVERAGE_LIMIT = 0.5;

/**
 * Every item. `load` reads the load average (doctor, before a run); in a run, each path's own
 * measurement of other processes' CPU replaces it (see other-load.ts).
 */
export function checkReadiness(f: HostFiles = hostFilesAt(), o: { irqbalance?: boolean } = {}): ReadinessItem[] {
  return [governorItem(f), boostItem(f), smtItem(f), isolationItem(f), irqItem(f, o), loadItem(f), hugepagesItem(f)];
}

/** Whether a process named irqbalance runs (it would move IRQs back after they were pinned). */
export function irqbalanceRunning(proc = '/proc'): boolean {
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return false;
  }
  return entries.some((e) => {
    if (!/^\d+$/.test(e)) return false;
    try {
      return readFileSync(join(proc, e, 'comm'), 'utf8').trim() === 'irqbalance';
    } catch {
      return false;
    }
  });
}
