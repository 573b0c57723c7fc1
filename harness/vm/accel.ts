// Choosing the accelerator by trying it: /dev/kvm answering is not enough (a PVM or nested host may
// run firmware but hang a Linux kernel), so `auto` boots a probe guest under `-accel kvm` and uses
// KVM only when its agent reports ready within a short deadline.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HostError } from '../errors.ts';
import type { HostFacts } from '../host/facts.ts';
import { Scope } from '../host/scope.ts';
import type { AccelChoice } from '../run/record.ts';
import { Vm, type VmImage } from './vm.ts';

export interface ProbeOptions {
  preference: 'auto' | 'kvm' | 'tcg';
  host: HostFacts;
  qemuBinary: string;
  image: VmImage;
  runtimeDir: string;
  logDir: string;
  deadlineMs: number;
  signal?: AbortSignal;
}

export async function chooseAccel(o: ProbeOptions): Promise<AccelChoice> {
  if (o.preference === 'tcg') return { kind: 'tcg', reason: 'software emulation (TCG) requested by the profile or --accel' };
  if (!o.host.devKvm) {
    const reason = '/dev/kvm is absent or not accessible';
    if (o.preference === 'kvm') throw new HostError(`KVM was requested, but ${reason}`, 'modprobe kvm_intel (or kvm_amd), run as root, or use --accel tcg');
    return { kind: 'tcg', reason: `${reason}: software emulation (TCG)` };
  }
  const outcome = await probeBoot(o);
  if (outcome.ok) return { kind: 'kvm', reason: `a probe guest booted under KVM in ${(outcome.ms / 1000).toFixed(1)} s` };
  if (o.preference === 'kvm') {
    throw new HostError(`KVM was requested, but a Linux guest does not boot under -accel kvm here: ${outcome.why}`, 'use --accel tcg (or accel: auto in the profile)');
  }
  return { kind: 'tcg', reason: `/dev/kvm is present, but ${outcome.why}: software emulation (TCG)` };
}

async function probeBoot(o: ProbeOptions): Promise<{ ok: true; ms: number } | { ok: false; why: string }> {
  const scope = new Scope('kvm-probe');
  const runtimeDir = join(o.runtimeDir, 'probe');
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  const started = Date.now();
  try {
    const vm = await Vm.launch(scope, {
      name: 'probe',
      qemuBinary: o.qemuBinary,
      accel: 'kvm',
      memoryMiB: 256,
      vcpus: 1,
      image: o.image,
      runtimeDir,
      logDir: o.logDir,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    await vm.waitReady(o.deadlineMs, o.signal);
    return { ok: true, ms: Date.now() - started };
  } catch (err) {
    if (o.signal?.aborted) throw o.signal.reason;
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    const why = /did not become ready/.test(message)
      ? `a probe guest did not boot under -accel kvm within ${(o.deadlineMs / 1000).toFixed(0)} s`
      : `a probe guest failed under -accel kvm (${message})`;
    return { ok: false, why };
  } finally {
    await scope.close();
  }
}
