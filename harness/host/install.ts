// Getting the host ready for a command: the Debian packages it needs and lacks, installed in one
// apt transaction after saying which and why, with progress; then the npm parts with native code.
// Where iopath may not install (not root, no apt, --no-install, IOPATH_NO_INSTALL) it says the
// exact command instead, and stops when the command cannot start without them.

import { NO_INSTALL_ENV } from '../config/flags.ts';
import { HostError, type IopathError } from '../errors.ts';
import { readLabMarker } from '../lab/marker.ts';
import { installFix, onPath } from './facts.ts';
import { buildNativeParts, unbuiltNativeParts } from './native-parts.ts';
import { buildNeeds, mergeNeeds, type PackageNeed } from './needs.ts';
import { runCommand, runStreaming } from './proc.ts';

/** Set (to anything but "0") to keep iopath from installing Debian packages, as --no-install does. */
export const OPT_OUT_ENV = NO_INSTALL_ENV;

/** How long apt may take: refreshing the package lists, and downloading (unpacking is never cut short). */
const UPDATE_BUDGET_MS = 10 * 60_000;
const DOWNLOAD_BUDGET_MS = 30 * 60_000;
/** How long apt waits for another package manager to finish before it gives up. */
const LOCK_WAIT_SEC = 300;

export interface ProvideOptions {
  /** False with --no-install. */
  install: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Why iopath will not install packages here, or undefined when it may. */
export function installRefusal(install: boolean): string | undefined {
  if (!install) return '--no-install was given';
  const env = process.env[OPT_OUT_ENV];
  if (env !== undefined && env !== '' && env !== '0') return `${OPT_OUT_ENV}=${env} is set`;
  if (readLabMarker()) return 'this runs inside the iopath lab, which has no network and sees the host read-only (install on the host, then start the lab again)';
  if (process.getuid?.() !== 0) return 'iopath is not running as root';
  if (!onPath('apt-get')) return 'this host has no apt-get';
  return undefined;
}

/** The names among `names` that dpkg does not list as installed; undefined on a host without dpkg. */
export async function missingPackages(names: readonly string[]): Promise<string[] | undefined> {
  if (names.length === 0) return [];
  if (!onPath('dpkg-query')) return undefined;
  // Status 1: some names are unknown to dpkg (never installed); they are missing, not an error.
  const r = await runCommand(['dpkg-query', '-W', '-f=${Package} ${db:Status-Status}\n', ...names], { okStatuses: [0, 1] });
  const installed = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' installed')).map((l) => l.split(' ')[0]));
  return names.filter((n) => !installed.has(n));
}

/**
 * Make sure the host has the packages of `needs` (and, while the npm parts with native code are not
 * built, what they compile against), then build those parts. Throws a HostError (exit 3) when a
 * required package is missing and cannot be installed, or when apt fails.
 */
export async function provide(needs: readonly PackageNeed[], o: ProvideOptions): Promise<void> {
  const all = mergeNeeds([...needs, ...(unbuiltNativeParts().length ? buildNeeds() : [])]);
  const missingNames = await missingPackages(all.map((n) => n.name));
  if (missingNames === undefined) {
    o.log('cannot tell which Debian packages are installed (no dpkg-query on this host); each part of the run says what it lacks');
  } else if (missingNames.length > 0) {
    const missing = all.filter((n) => missingNames.includes(n.name));
    const refusal = installRefusal(o.install);
    if (refusal) refuse(missing, refusal, o.log);
    else await aptInstall(missing, o);
  }
  if (unbuiltNativeParts().length) await buildNativeParts(o);
}

/** Lines of a two-column table: package, why. */
export function needsTable(needs: readonly PackageNeed[]): string[] {
  const width = Math.max(...needs.map((n) => n.name.length));
  return [...needs].sort((a, b) => a.name.localeCompare(b.name)).map((n) => `  ${n.name.padEnd(width)}  ${n.why}`);
}

function refuse(missing: PackageNeed[], refusal: string, log: (line: string) => void): void {
  const names = missing.map((n) => n.name).sort();
  const fix = installFix(...names);
  const required = missing.filter((n) => n.required);
  const table = needsTable(missing).join('\n');
  if (required.length > 0) {
    throw new HostError(`Debian packages this command needs are not installed, and iopath does not install them (${refusal}):\n${table}`, `${fix}${process.getuid?.() === 0 ? '' : ' (as root)'}`);
  }
  log(`Debian packages that parts of this command need are not installed, and iopath does not install them (${refusal}); what needs them is skipped with the reason:`);
  for (const line of table.split('\n')) log(line);
  log(`to install them: ${fix}`);
}

async function aptInstall(missing: PackageNeed[], o: ProvideOptions): Promise<void> {
  const names = missing.map((n) => n.name).sort();
  const started = Date.now();
  o.log(`installing ${names.length} Debian package${names.length === 1 ? '' : 's'} in one apt transaction (to install nothing, pass --no-install or set ${OPT_OUT_ENV}=1):`);
  for (const line of needsTable(missing)) o.log(line);
  const env = { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none', NEEDRESTART_MODE: 'a' };
  const fix = `run it yourself to see what apt says: ${installFix(...names)}`;

  o.log('apt: refreshing the package lists (apt-get update)');
  const updateArgv = ['apt-get', 'update', '-q', '-o', `DPkg::Lock::Timeout=${LOCK_WAIT_SEC}`];
  const update = await withBudget(UPDATE_BUDGET_MS, o.signal, (signal) => runStreaming(updateArgv, { env, signal }), 'apt-get update', fix);
  const updateWarnings = aptMessages(update.stdout + '\n' + update.stderr);
  if (update.status !== 0) throw aptFailure(updateArgv, update, updateWarnings, fix);

  const installArgv = [
    'apt-get', 'install', '-y', '-q', '--no-install-recommends',
    '-o', 'APT::Status-Fd=3',
    '-o', `DPkg::Lock::Timeout=${LOCK_WAIT_SEC}`,
    // Keep the host's own configuration files whenever a package asks.
    '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold',
    ...names,
  ];
  const progress = aptProgress(o.log);
  const install = await withBudget(DOWNLOAD_BUDGET_MS, o.signal, (signal) =>
    runStreaming(installArgv, {
      env,
      signal,
      onStatusLine: progress.take,
      // While apt downloads, stopping it changes nothing; once dpkg unpacks, it must finish.
      stoppable: () => !progress.installing,
      onDeferredStop: () => o.log('apt: finishing the package installation first (stopping dpkg midway would leave packages half-configured)'),
    }),
    'apt-get install', fix, () => !progress.installing,
  );
  if (install.status !== 0) throw aptFailure(installArgv, install, [...updateWarnings, ...progress.errors], fix);
  const still = await missingPackages(names);
  if (still?.length) throw new HostError(`apt-get install succeeded, but dpkg does not list ${still.join(', ')} as installed`, installFix(...still));
  o.log(`installed ${names.length} Debian package${names.length === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/**
 * Run with a time budget; running out of it (not a user's Ctrl-C) becomes a HostError. The budget
 * is only enforced while `cuttable()` holds: once dpkg unpacks, apt is left to finish.
 */
async function withBudget<T>(ms: number, outer: AbortSignal, run: (signal: AbortSignal) => Promise<T>, what: string, fix: string, cuttable: () => boolean = () => true): Promise<T> {
  const budget = new AbortController();
  const timer = setTimeout(() => {
    if (cuttable()) budget.abort(new Error(`${what} ran out of time`));
  }, ms);
  try {
    return await run(AbortSignal.any([outer, budget.signal]));
  } catch (err) {
    if (budget.signal.aborted && !outer.aborted) throw new HostError(`${what} did not finish within ${ms / 60_000} minutes (a slow or unreachable package mirror?)`, fix);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** apt's own error and warning lines (E:, W:, Err:), in order. */
function aptMessages(text: string): string[] {
  return text.split('\n').filter((l) => /^(E|W|Err):/.test(l.trim()));
}

function aptFailure(argv: readonly string[], r: { status: number; signal: string | null; stdout: string; stderr: string }, earlier: string[], fix: string): IopathError {
  const own = aptMessages(r.stderr + '\n' + r.stdout);
  const shown = [...new Set([...earlier, ...own])];
  const text = shown.length ? shown : r.stderr.trim().split('\n').slice(-12);
  const how = r.signal ? `was killed by ${r.signal}` : `failed (status ${r.status})`;
  return new HostError(`${argv.slice(0, 2).join(' ')} ${how}; nothing further was done. apt says:\n${text.map((l) => `  | ${l}`).join('\n')}`, fix);
}

/**
 * apt's status lines (APT::Status-Fd) turned into a line per tenth of each phase:
 * `dlstatus:<n>:<percent>:<text>` while downloading, `pmstatus:<package>:<percent>:<text>` while
 * dpkg unpacks and configures, `pmerror:<package>:<percent>:<text>` when a package fails.
 */
export function aptProgress(log: (line: string) => void): { take: (line: string) => void; readonly installing: boolean; errors: string[] } {
  const shown = { dl: -1, pm: -1 };
  const state = { installing: false };
  const errors: string[] = [];
  const take = (line: string) => {
    const [kind, , percentText, ...rest] = line.split(':');
    const text = rest.join(':').trim();
    const percent = Number(percentText);
    if (kind === 'pmerror') {
      errors.push(`E: ${line.split(':')[1]}: ${text}`);
      return;
    }
    if ((kind !== 'dlstatus' && kind !== 'pmstatus') || !Number.isFinite(percent)) return;
    const phase = kind === 'dlstatus' ? 'dl' : 'pm';
    if (phase === 'pm') state.installing = true;
    const step = Math.floor(percent / 10);
    if (step <= shown[phase]) return;
    shown[phase] = step;
    log(`apt: ${phase === 'dl' ? 'downloading' : 'installing'} ${Math.floor(percent)}% (${text})`);
  };
  return {
    take,
    get installing() {
      return state.installing;
    },
    errors,
  };
}
