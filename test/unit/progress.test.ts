// The bench's console lines: a path the host cannot run is named once with its reason and fix, and
// its variants skipped for the same reason share one line instead of repeating the paragraph.

import { describe, expect, it } from 'vitest';
import type { BackendOutcome } from '../../harness/run/record.ts';
import { ConsoleReporter } from '../../harness/run/progress.ts';

function console_(): { out: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const out = { isTTY: false, write: (s: string) => void chunks.push(s) } as unknown as NodeJS.WriteStream;
  return { out, text: () => chunks.join('') };
}

const skipped = (id: string, reason: string, fix?: string) => ({ id, title: id, status: 'skipped', reason, ...(fix ? { fix } : {}) }) as unknown as BackendOutcome;

describe('ConsoleReporter', () => {
  it('names the variants skipped like their path on one line, and a variant skipped for its own reason on its own', () => {
    const c = console_();
    const r = new ConsoleReporter(c.out);
    const why = 'there is no /dev/vhost-net';
    r.backendSkipped(skipped('vhost-net', why, 'modprobe vhost_net'));
    r.backendSkipped(skipped('vhost-net~no-csum', why, 'modprobe vhost_net'));
    r.backendSkipped(skipped('vhost-net~mq2', why, 'modprobe vhost_net'));
    r.backendSkipped(skipped('virtio-net~packed', 'QEMU lacks packed'));
    r.backendStarted({ id: 'virtio-net', title: 'virtio-net (QEMU userspace)' } as unknown as BackendOutcome);
    expect(c.text().split('\n')).toEqual([
      '- vhost-net: skipped: there is no /dev/vhost-net',
      '    fix: modprobe vhost_net',
      "- vhost-net's 2 variants (no-csum, mq2): skipped, for the same reason",
      '- virtio-net~packed: skipped: QEMU lacks packed',
      '- virtio-net (virtio-net (QEMU userspace))',
      '',
    ]);
  });

  it('a variant whose path was skipped for another reason keeps its own paragraph', () => {
    const c = console_();
    const r = new ConsoleReporter(c.out);
    r.backendSkipped(skipped('p', 'one reason'));
    r.backendSkipped(skipped('p~v', 'another reason'));
    r.phase('done');
    expect(c.text()).toBe('- p: skipped: one reason\n- p~v: skipped: another reason\n  done\n');
  });
});
