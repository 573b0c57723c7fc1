// A killed hand run is cleaned up by the same recovery as a bench: its QEMU process groups (a
// `sleep` of our own stands in for QEMU), its network namespace (listed and removed through fakes:
// the host's own namespaces are never touched here) and its runtime directory. A live hand run is
// left alone, and it holds the host lock like a bench.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BusyError } from '../../../harness/errors.ts';
import { handNetns } from '../../../harness/handrun/bare-pair.ts';
import { claimHost } from '../../../harness/handrun/host.ts';
import { netnsName, tagOfNetns } from '../../../harness/host/identity.ts';
import { startDaemon } from '../../../harness/host/proc.ts';
import { recoverDeadRuns } from '../../../harness/host/recovery.ts';
import { isAlive, readOwner, selfIdentity, writeOwner } from '../../../harness/host/registry.ts';
import { Scope } from '../../../harness/host/scope.ts';

let scratch: string;
let root: string;
let scopes: Scope[];

beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'iopath-handrun-recovery-'));
  root = join(scratch, 'runtime');
  scopes = [];
});

afterEach(async () => {
  for (const s of scopes.reverse()) await s.close().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

function scope(name: string): Scope {
  const s = new Scope(name);
  scopes.push(s);
  return s;
}

/** The host's namespaces as a list the test owns. */
function fakeNamespaces(names: string[]) {
  const removed: string[] = [];
  return {
    removed,
    list: async () => names.filter((n) => !removed.includes(n)),
    remove: async (name: string) => void removed.push(name),
  };
}

const recoverWith = (ns: ReturnType<typeof fakeNamespaces>) => (r: string) => recoverDeadRuns(r, { namespaces: ns });

describe('the hand pair\'s namespace', () => {
  it('is named by the tap paths\' rule, the run\'s tag last, so recovery reads the tag from it', () => {
    expect(handNetns('a1b2c3', 'e1000')).toBe('iopath-hand-e1000-a1b2c3');
    expect(handNetns('a1b2c3', 'virtio-net')).toBe(netnsName('a1b2c3', 'hand-virtio-net'));
    expect(tagOfNetns(handNetns('a1b2c3', 'virtio-net'))).toBe('a1b2c3');
  });
});

describe('a hand run on the host', () => {
  it('registers like a bench: a runtime directory named like a run\'s, its owner file, the host lock', async () => {
    const s = scope('hand run');
    const host = await claimHost(s, { resultsDir: scratch, root, recover: recoverWith(fakeNamespaces([])) });
    expect(host.runtimeDir).toBe(join(root, host.run));
    expect(host.run).toMatch(new RegExp(`^\\d{8}-\\d{6}-${host.tag}$`));
    expect(readOwner(host.runtimeDir)).toMatchObject({ ...selfIdentity(), run: host.run, tag: host.tag, resultsDir: scratch });
    await expect(claimHost(scope('second'), { resultsDir: scratch, root, recover: recoverWith(fakeNamespaces([])) })).rejects.toBeInstanceOf(BusyError);
    await s.close();
    expect(existsSync(host.runtimeDir)).toBe(false);
    expect(existsSync(join(root, 'bench.lock'))).toBe(false);
  });

  it('killed, leaves nothing that recovery does not find: its process groups, its namespace, its runtime directory', async () => {
    const ns = fakeNamespaces([]);
    const host = await claimHost(scope('hand run'), { resultsDir: scratch, root, recover: recoverWith(ns) });
    const pairScope = scope('hand pair');
    // Started while recording, and never stopped: as when the hand run is killed mid-session.
    const qemu = await host.recording(async () => startDaemon(pairScope, { name: 'hand-run qemu a', argv: ['sleep', '600'] }));
    expect(readdirSync(join(host.runtimeDir, 'pids'))).toEqual([`${qemu.pid}.json`]);

    // A live bench beside it, with its own path's namespace, and a namespace that is not iopath's.
    const live = join(root, '20250101-000000-abcdef');
    mkdirSync(live, { recursive: true });
    writeOwner(live, { ...selfIdentity(), run: '20250101-000000-abcdef', tag: 'abcdef', resultsDir: scratch, startedAt: 't' });
    const names = [handNetns(host.tag, 'e1000'), netnsName('abcdef', 'virtio-net'), 'someone-elses'];

    // While the hand run lives, recovery leaves it alone.
    const whileAlive = fakeNamespaces(names);
    const untouched = await recoverDeadRuns(root, { namespaces: whileAlive });
    expect(untouched.runs).toEqual([]);
    expect(whileAlive.removed).toEqual([]);
    expect(qemu.running).toBe(true);

    // Its process dies without tearing down: the owner file now names a process that is gone.
    writeOwner(host.runtimeDir, { ...readOwner(host.runtimeDir)!, pid: spawnSync('true').pid!, start: 1 });
    const afterDeath = fakeNamespaces(names);
    const report = await recoverDeadRuns(root, { namespaces: afterDeath });
    expect(report.runs).toEqual([host.run]);
    expect(report.processGroups).toBe(1);
    expect(await qemu.exited).toMatchObject({ signal: 'SIGTERM' });
    expect(afterDeath.removed).toEqual([handNetns(host.tag, 'e1000')]);
    expect(report.netns).toEqual([handNetns(host.tag, 'e1000')]);
    expect(existsSync(host.runtimeDir)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(isAlive(readOwner(live)!)).toBe(true);
  });
});
