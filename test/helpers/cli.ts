// Run the real `iopath` CLI (or npm) as a child process without blocking the test worker's event
// loop, so vitest keeps hearing from the worker during a long run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../harness/paths.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(file: string, args: string[], options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd ?? projectRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGINT'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export function iopath(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  return run(process.execPath, [join(projectRoot, 'bin/iopath.js'), ...args], options);
}

export interface ProfileBench {
  /** The temporary folder holding the profile, `results/` and whatever the test adds. */
  dir: string;
  status: number | null;
  stderr: string;
  /** The run folder, when the bench wrote one. */
  runDir?: string;
}

/** `iopath bench` on a profile written from `yaml` into a fresh temporary folder, without a report. */
export async function benchProfile(yaml: string, name: string): Promise<ProfileBench> {
  const dir = mkdtempSync(join(tmpdir(), `iopath-${name}-`));
  const profile = join(dir, `${name}.yaml`);
  writeFileSync(profile, yaml);
  const results = join(dir, 'results');
  const r = await iopath(['bench', '--profile', profile, '--results-dir', results, '--no-report']);
  const runs = existsSync(results) ? readdirSync(results) : [];
  return { dir, status: r.status, stderr: r.stderr, ...(runs[0] ? { runDir: join(results, runs[0]) } : {}) };
}
