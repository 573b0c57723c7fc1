// Least exposure, checked on the source itself: no command is ever run through a shell, and child
// processes are only started through the modules that own them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../harness/paths.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) return e === 'node_modules' || e === 'build' ? [] : sources(p);
    return /\.(ts|js)$/.test(e) ? [p] : [];
  });
}

const files = [...sources(join(projectRoot, 'harness')), ...sources(join(projectRoot, 'bin'))];

describe('no shell anywhere', () => {
  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('never asks for a shell or hands a command line to one', () => {
    const offenders: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        if (/shell:\s*true|\bexecSync\(|\bexec\(\s*['"`]|['"]sh['"],\s*['"]-c['"]|['"]bash['"],\s*['"]-c['"]|spawn\(\s*['"`][^'"`]*\s[^'"`]*['"`]\s*[,)]/.test(line)) {
          offenders.push(`${relative(projectRoot, f)}:${i + 1}: ${line.trim()}`);
        }
      });
      if (/from 'node:child_process'/.test(text) && /\bexec\b(?!File)/.test(text.match(/import \{([^}]*)\} from 'node:child_process'/)?.[1] ?? '')) {
        offenders.push(`${relative(projectRoot, f)}: imports exec from node:child_process`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('starts child processes only from the modules that own them', () => {
    const spawning = files.filter((f) => /from 'node:child_process'|from 'execa'/.test(readFileSync(f, 'utf8'))).map((f) => relative(projectRoot, f)).sort();
    expect(spawning).toEqual([
      'bin/iopath.js',
      'harness/collectors/kvm-stat-live.ts',
      'harness/host/proc.ts',
      'harness/vhost-user/bench.ts',
      // QEMU's own list of a device's properties, asked once per binary.
      'harness/vm/device-help.ts',
    ]);
  });

  it('passes the agent only single tokens, so guest-side word splitting cannot be abused', () => {
    const agent = readFileSync(join(projectRoot, 'harness/vm/agent.ts'), 'utf8');
    expect(agent).toMatch(/const TOKEN = \/\^\[A-Za-z0-9\._:\/=,\+@%-\]\+\$\//);
    const script = readFileSync(join(projectRoot, 'images/guest/agent.sh'), 'utf8');
    // Globbing is off while the agent splits arguments.
    expect(script).toMatch(/^set -f$/m);
    expect(script).not.toMatch(/\beval\b/);
  });
});
