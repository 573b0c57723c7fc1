// `iopath lab`: run one iopath command inside the nested KVM lab. On the host: take the bench lock
// (L1 uses every CPU it is given), clean up after dead runs, prepare everything L1 needs (guest
// image, lab image: there is no network inside), boot L1, stream its console, forward Ctrl-C and
// SIGTERM to the command inside, and return its exit status. Nothing of L1 outlives the call.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, copyFileSync, writeFileSync } from 'node:fs';
import { hostname as osHostname, release, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { pathList } from '../backends/registry.ts';
import { InterruptedError, TimeoutError, UsageError, type ExitCodeValue } from '../errors.ts';
import { installFix, packageOf, probeHost } from '../host/facts.ts';
import { acquireHostLock, recoverDeadRuns } from '../host/recovery.ts';
import { recordChildrenIn, selfIdentity, writeOwner } from '../host/registry.ts';
import { Scope } from '../host/scope.ts';
import { ensureImage } from '../image/build.ts';
import { ensureLabImage } from '../image/lab-build.ts';
import { defaultReportsDir, defaultResultsDir, projectRoot, runtimeRoot } from '../paths.ts';
import { newRunId } from '../run/provenance.ts';
import { markRunInterrupted } from '../run/recover.ts';
import { LabError } from './errors.ts';
import { argvFile, chrootCommand, mountsFile, type Share } from './l1-args.ts';
import { LabVm, describeExit } from './l1.ts';
import { LAB_SCHEMA, LAB_VIRTUALISATION, readLabMarker, type LabMarker } from './marker.ts';
import { planHostReport, renderOnHost } from './host-report.ts';
import { checkoutShare, outputFolders, writableShares } from './shares.ts';

export interface LabOptions {
  /** The iopath command and its flags, e.g. `['bench', '--profile', 'lab']`. */
  args: readonly string[];
  /** Get the host ready for the command inside (its Debian packages), once the arguments are checked. */
  prepare?: () => Promise<void>;
  /**
   * For diagnosis only: a whole argv run in L1's chroot instead of this checkout's iopath (its
   * environment is not cleaned). `args` then only names it in messages.
   */
  rawCommand?: readonly string[];
  cpus?: number;
  memoryMiB?: number;
  /** Keep L1's whole console log after a successful command (it is always kept after a failure). */
  keepConsole: boolean;
  /** Time budget of the whole command inside, in minutes. */
  timeoutMin: number;
  /** TCG threading of L1 (see L1Config.tcgThread). */
  tcgThread?: 'single' | 'multi';
  /** How long L1 may take to boot and start the command. */
  bootTimeoutSec?: number;
  /** How long the command inside gets to stop after Ctrl-C, SIGTERM or the time budget. */
  graceSec?: number;
  signal: AbortSignal;
  /** L1's console output, as it arrives (the command's output among it). */
  output: (text: string) => void;
  /** The lab's own progress lines. */
  log: (line: string) => void;
  /** Whether the user's side is a terminal (the command inside then draws for one). */
  tty: boolean;
}

/** Environment variables handed to the command inside; everything else is left behind. */
const PASSED_ENV = ['PATH', 'TERM', 'LANG', 'LC_ALL', 'CI', 'NO_COLOR', 'FORCE_COLOR', 'COLUMNS'] as const;
const DEFAULT_MEMORY_MIB = 3072;

export async function runLab(o: LabOptions): Promise<ExitCodeValue> {
  const args = [...o.args];
  if (args.length === 0) throw new UsageError('say which iopath command to run in the lab', 'iopath lab -- bench --profile lab');
  if (args[0] === 'lab') throw new UsageError('a lab cannot run inside a lab: the lab VM has no emulation fast enough for a third level', 'iopath lab -- bench --profile lab');
  const broken = args.find((a) => /[\n\r\0]/.test(a));
  if (broken !== undefined) throw new UsageError(`an argument holds a line break, which the lab cannot pass on: ${JSON.stringify(broken)}`);
  if (readLabMarker()) throw new UsageError('this already runs inside an iopath lab; run the command directly', `iopath ${args.join(' ')}`);
  await o.prepare?.();
  const host = await probeHost();
  if (!host.qemu) throw new LabError('qemu-system-x86_64 is not installed', installFix(packageOf.qemu));
  if (!host.root) throw new UsageError('the lab needs root (the command inside creates network namespaces and taps, and reads KVM statistics)', `sudo npx iopath lab -- ${args.join(' ')}`);
  // One vCPU unless asked: with two, L1's kernel hung in a soft lockup (a CPU waiting on the other
  // for ever) in 2 of 4 lab benches on 2-core hosts; with one the lab bench ran through.
  const cpus = o.cpus ?? 1;
  const memoryMiB = o.memoryMiB ?? Math.min(DEFAULT_MEMORY_MIB, host.memoryMiB - 1024);
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > host.cpuCount) throw new UsageError(`--cpus ${o.cpus}: must be a whole number from 1 to ${host.cpuCount} (the host's CPUs)`);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1024 || memoryMiB > host.memoryMiB - 512) {
    throw new UsageError(`--memory-mib ${o.memoryMiB}: must be a whole number from 1024 to ${host.memoryMiB - 512} (the host has ${host.memoryMiB} MiB)`);
  }
  const cwd = process.cwd();
  const shares = writableShares(outputFolders(args, cwd, [defaultResultsDir, defaultReportsDir]));
  const hostReport = planHostReport(args, cwd, { resultsRoot: defaultResultsDir, reportsRoot: defaultReportsDir });

  const { run: id, tag } = newRunId();
  // The lab holds the host for its whole life: its guests' KVM runs on the host's CPUs.
  const releaseLock = acquireHostLock(id, runtimeRoot, 'lab');
  const scope = new Scope(`lab ${id}`);
  scope.defer('release the host lock', releaseLock);
  const before = new Map([...shares.map((s) => s.hostPath), ...(hostReport.render ? [hostReport.render.resultsRoot] : [])].map((d) => [d, new Set(safeList(d))]));
  let consoleLog: string | undefined;
  let keep = o.keepConsole;
  try {
    const recovered = await recoverDeadRuns(runtimeRoot, { markInterrupted: markRunInterrupted, paths: pathList });
    if (recovered.runs.length || recovered.netns.length) o.log(`removed what ${recovered.runs.length + recovered.netns.length} dead run(s) left behind`);

    // Everything the command inside needs is prepared here: L1 has no network.
    const guest = await ensureImage({ log: o.log, signal: o.signal });
    const lab = await ensureLabImage(guest, { log: o.log, signal: o.signal });

    const runtimeDir = join(runtimeRoot, id);
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    scope.defer(`remove runtime directory ${runtimeDir}`, () => rmSync(runtimeDir, { recursive: true, force: true }));
    // Runs after L1 has stopped (registered before it) and before the runtime folder goes.
    scope.defer("keep the lab VM's console log", () => {
      if (!keep || !consoleLog || !existsSync(consoleLog)) return;
      const kept = join(shares[0]!.hostPath, `lab-${id}.console.log`);
      copyFileSync(consoleLog, kept);
      const extra = [
        [join(runtimeDir, 'share', 'dmesg.txt'), 'its kernel log', 'dmesg'],
        [join(runtimeDir, 'qemu-debug.log'), "QEMU's log of its CPU resets", 'qemu-debug'],
      ].filter(([from]) => existsSync(from!));
      for (const [from, , name] of extra) copyFileSync(from!, join(shares[0]!.hostPath, `lab-${id}.${name}.log`));
      o.log(`the lab VM's console is in ${kept}${extra.map(([, what, name]) => `; ${what} in lab-${id}.${name}.log`).join('')}`);
    });
    writeOwner(runtimeDir, { ...selfIdentity(), run: id, tag, resultsDir: shares[0]!.hostPath, startedAt: new Date().toISOString() });
    recordChildrenIn(join(runtimeDir, 'pids'));
    scope.defer('stop recording child processes', () => recordChildrenIn(undefined));

    const exchange = join(runtimeDir, 'share');
    mkdirSync(exchange, { mode: 0o700 });
    const marker: LabMarker = {
      schema: LAB_SCHEMA,
      lab: id,
      startedAt: new Date().toISOString(),
      virtualisation: LAB_VIRTUALISATION,
      l0: { hostname: host.hostname, kernel: release(), cpuModel: host.cpuModel, cpuCount: host.cpuCount, memoryMiB: host.memoryMiB, qemuVersion: host.qemu.version, accel: 'tcg' },
      l1: { kernel: lab.kernelRelease, cpus, memoryMiB, image: lab.hash },
      guestImage: { imagesDir: join(projectRoot, 'images'), hash: guest.hash },
    };
    const env: Record<string, string> = { HOME: '/tmp' };
    for (const k of PASSED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    const command = o.rawCommand ? [...o.rawCommand] : chrootCommand({ node: process.execPath, entry: join(projectRoot, 'bin', 'iopath.js'), cwd, env, args: hostReport.args });
    writeFileSync(join(exchange, 'argv'), argvFile(command));
    // Mounted in this order: the checkout (when the tmpfs inside would hide it) before the output
    // folders that may lie inside it.
    const checkout = checkoutShare(projectRoot);
    const mounted: Share[] = [...(checkout ? [checkout] : []), ...shares, await compileCache(args)];
    writeFileSync(join(exchange, 'mounts'), mountsFile(mounted));
    writeFileSync(join(exchange, 'hostname'), `${osHostname()}-lab\n`);
    writeFileSync(join(exchange, 'tty'), o.tty ? '1\n' : '0\n');
    writeFileSync(join(exchange, 'lab.json'), JSON.stringify(marker, null, 2) + '\n');

    const allShares: Share[] = [{ tag: 'host', hostPath: '/', readonly: true }, { tag: 'lab', hostPath: exchange, readonly: false }, ...mounted];
    consoleLog = join(runtimeDir, 'console.log');
    o.log(`lab ${id}: booting the lab VM: ${cpus} vCPU, ${memoryMiB} MiB, kernel ${lab.kernelRelease}, under TCG with -cpu max (${LAB_VIRTUALISATION})`);
    const vm = await LabVm.launch(
      scope,
      {
        config: { binary: host.qemu.path, cpus, memoryMiB, kernel: lab.kernel, initrd: lab.initrd, append: lab.cmdline, shares: allShares, ...(o.tcgThread ? { tcgThread: o.tcgThread } : {}) },
        runtimeDir,
        consoleLog,
        qemuLog: join(runtimeDir, 'qemu.log'),
        debugLog: join(runtimeDir, 'qemu-debug.log'),
        onConsole: o.output,
      },
      o.signal,
    );
    const started = Date.now();
    await vm.waitReady((o.bootTimeoutSec ?? 180) * 1000, o.signal);
    o.log(`the lab VM is up after ${((Date.now() - started) / 1000).toFixed(1)} s; running: iopath ${args.join(' ')}`);

    const exit = await waitForCommand(vm, o);
    const statusFile = join(exchange, 'status');
    if (!existsSync(statusFile)) {
      keep = true;
      // With -no-reboot a reset of L1 (a triple fault, or a kernel panic) ends QEMU with status 0.
      throw new LabError(
        `the lab VM stopped (${describeExit(exit)}) without the command's exit status: it ${exit.code === 0 ? 'reset itself (a kernel panic or a triple fault of L1)' : 'died'}; last console lines:\n${vm.consoleTail()}`,
      );
    }
    const status = Number(readFileSync(statusFile, 'utf8').trim());
    if (!Number.isInteger(status)) throw new LabError(`the lab VM wrote an exit status that is not a number: ${readFileSync(statusFile, 'utf8').slice(0, 40)}`);
    if (status !== 0) keep = true;
    o.log(`the command in the lab exited with status ${status} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const render = hostReport.render;
    if (!render) return status as ExitCodeValue;
    const seen = before.get(render.resultsRoot) ?? new Set<string>();
    const runs = safeList(render.resultsRoot)
      .filter((e) => !seen.has(e) && existsSync(join(render.resultsRoot, e, 'run.json')))
      .map((e) => join(render.resultsRoot, e));
    return await renderOnHost(runs, render.reportsRoot, status as ExitCodeValue, o.log);
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    await scope.close().catch((err: Error) => o.log(`cleanup: ${err.message}`));
    // A run inside that did not get to finish its record is marked interrupted, like any dead run.
    for (const [dir, seen] of before) {
      for (const entry of safeList(dir).filter((e) => !seen.has(e))) {
        markRunInterrupted(join(dir, entry), `the lab VM (${id}) ended before this run finished`);
      }
    }
  }
}

/** A soft lockup of L1 this long is a hang: nothing inside moves on (seen for 20 min and more). */
const STUCK_LIMIT_SEC = 120;

/**
 * Wait for L1 to power off after the command ended. Ctrl-C, SIGTERM and the time budget are sent
 * on to the command inside, which tears down its own guests; if it does not end within the grace
 * period, L1 is stopped from outside (scope close).
 */
async function waitForCommand(vm: LabVm, o: LabOptions): Promise<NonNullable<Awaited<ReturnType<LabVm['exitWithin']>>>> {
  const budgetMs = o.timeoutMin * 60_000;
  const graceMs = (o.graceSec ?? 240) * 1000;
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    o.log(`the command in the lab did not finish within ${o.timeoutMin} min: stopping it (it gets ${graceMs / 1000} s to clean up)`);
    void vm.forward('INT');
  }, budgetMs);
  const onAbort = () => {
    const sig = o.signal.reason instanceof InterruptedError && o.signal.reason.signal === 'SIGTERM' ? 'TERM' : 'INT';
    o.log(`forwarding SIG${sig} to the command in the lab (it gets ${graceMs / 1000} s to clean up)`);
    void vm.forward(sig);
  };
  o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.signal.aborted) onAbort();
  try {
    for (;;) {
      const exit = await vm.exitWithin(1000);
      if (exit) return exit;
      const stuck = vm.stuck;
      if (stuck && stuck.sec >= STUCK_LIMIT_SEC) {
        throw new LabError(
          `the lab VM hangs: its kernel reports CPU#${stuck.cpu} stuck for ${stuck.sec} s (a soft lockup); the lab VM is stopped and runs inside are marked interrupted`,
          'try the lab with one vCPU: iopath lab --cpus 1 -- ...',
        );
      }
      if (!expired && !o.signal.aborted) continue;
      const more = await vm.exitWithin(graceMs);
      if (more) {
        if (expired) throw new TimeoutError(`the command in the lab (time budget ${o.timeoutMin} min; it was stopped)`, budgetMs);
        return more;
      }
      if (expired) throw new TimeoutError(`the command in the lab (time budget ${o.timeoutMin} min; L1 was then stopped from outside)`, budgetMs);
      throw o.signal.reason ?? new InterruptedError('SIGINT');
    }
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The TypeScript loader's compile cache, shared with L1 at the same path (L1 covers /tmp with
 * tmpfs): every node process inside would otherwise compile every module again at emulated speed,
 * some 10 s a process. Warmed here first with the modules the command inside loads.
 */
async function compileCache(args: readonly string[]): Promise<Share> {
  const dir = join(tmpdir(), `tsx-${process.geteuid?.() ?? userInfo().username}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const warm = [`../commands/${args[0]}.ts`, ...(args[0] === 'bench' ? ['../vhost-user/switch-main.ts'] : [])];
  await Promise.all(warm.map((m) => import(m).catch(() => undefined)));
  return { tag: 'tsx', hostPath: dir, mountPath: dir, readonly: false };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
