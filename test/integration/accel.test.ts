// The accelerator is chosen by booting a probe guest, not by looking at /dev/kvm.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { probeHost } from '../../harness/host/facts.ts';
import { ensureImage } from '../../harness/image/build.ts';
import { chooseAccel } from '../../harness/vm/accel.ts';
import { leftovers, needs, whyNoGuests } from '../helpers/host.ts';

const guests = needs('KVM probe', whyNoGuests());

describe('accelerator probe', () => {
  guests.it('chooses KVM only when a guest boots under it, and says why', async () => {
    const host = await probeHost();
    const image = await ensureImage();
    const dir = mkdtempSync(join(tmpdir(), 'iopath-probe-'));
    mkdirSync(join(dir, 'rt'), { mode: 0o700 });
    const choice = await chooseAccel({ preference: 'auto', host, qemuBinary: host.qemu!.path, image, runtimeDir: join(dir, 'rt'), logDir: dir, deadlineMs: 20_000 });
    console.log(`accelerator: ${choice.kind} (${choice.reason})`);
    if (!host.devKvm) expect(choice).toEqual({ kind: 'tcg', reason: expect.stringMatching(/\/dev\/kvm is absent/) });
    else if (choice.kind === 'tcg') expect(choice.reason).toMatch(/\/dev\/kvm is present, but a probe guest/);
    else expect(choice.reason).toMatch(/a probe guest booted under KVM in [\d.]+ s/);
    expect(leftovers().processes.filter((p) => p.includes('guest=probe'))).toEqual([]);
    await expect(chooseAccel({ preference: 'tcg', host, qemuBinary: host.qemu!.path, image, runtimeDir: dir, logDir: dir, deadlineMs: 1 })).resolves.toMatchObject({ kind: 'tcg', reason: expect.stringMatching(/requested/) });
  }, 120_000);
});
