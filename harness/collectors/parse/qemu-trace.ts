// Counts QEMU trace-log lines (the `log` trace backend, written with `-D FILE`) by what they stand
// for: emulated device accesses by memory region (`memory_region_ops_read`/`_write`, which name the
// region, e.g. `<nic>-mmio`) and virtio notifications (`virtio_queue_notify`: the device handled a
// guest kick; `virtio_notify` / `virtio_notify_irqfd`: the device interrupted the guest). Streams, so
// a large log never has to fit in memory.

/** Trace events of device accesses, in QMP `trace-event-set-state` names. */
export const DEVICE_ACCESS_EVENTS = ['memory_region_ops_read', 'memory_region_ops_write'] as const;
/** A guest's kick the device handled (it comes through an ioeventfd, not the memory-region path). */
export const VIRTIO_KICK_EVENT = 'virtio_queue_notify';
/** The device interrupting the guest: the same interrupts as the MSI writes the memory-region events log. */
export const VIRTIO_INTERRUPT_EVENTS = ['virtio_notify', 'virtio_notify_irqfd'] as const;
/** Every virtio notification the counter reads: kicks, then interrupts (older logs have both). */
export const VIRTIO_NOTIFY_EVENTS = [VIRTIO_KICK_EVENT, ...VIRTIO_INTERRUPT_EVENTS] as const;

export interface TraceCounts {
  /**
   * Accesses (reads + writes) per memory region name, and notifications per virtio event name.
   * Accesses a device model made itself (`cpu -1`, e.g. MSI writes into `apic-msi`) are not guest
   * accesses and would not be exits: they are counted under `<region> (from device)`.
   */
  byRegion: Map<string, number>;
  reads: number;
  writes: number;
  lines: number;
  /** Lines of other events or other log output (guest errors, warnings). */
  otherLines: number;
}

// Optional `pid@sec.usec:` prefix (QEMU adds it with `-msg timestamp=on`).
const LINE = /^(?:\d+@\d+\.\d+:)?(\w+) (.*)$/;
const REGION = /^cpu (-?\d+) .* name '([^']*)'$/;
const VIRTIO = new Set<string>(VIRTIO_NOTIFY_EVENTS);

/** Incremental counter: feed chunks in order, then call `end()`. */
export class TraceLineCounter {
  readonly counts: TraceCounts = { byRegion: new Map(), reads: 0, writes: 0, lines: 0, otherLines: 0 };
  #partial = '';

  push(chunk: string): void {
    const text = this.#partial + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      this.#line(text.slice(start, nl));
      start = nl + 1;
    }
    this.#partial = text.slice(start);
  }

  end(): TraceCounts {
    if (this.#partial !== '') this.#line(this.#partial);
    this.#partial = '';
    return this.counts;
  }

  #line(line: string): void {
    if (line === '') return;
    this.counts.lines++;
    const m = LINE.exec(line);
    const event = m?.[1];
    if (event === 'memory_region_ops_read' || event === 'memory_region_ops_write') {
      const r = REGION.exec(m![2]!);
      if (r) {
        this.#add(r[1] === '-1' ? `${r[2]} (from device)` : r[2]!);
        if (event === 'memory_region_ops_read') this.counts.reads++;
        else this.counts.writes++;
        return;
      }
    } else if (event !== undefined && VIRTIO.has(event)) {
      this.#add(event);
      return;
    }
    this.counts.otherLines++;
  }

  #add(key: string): void {
    this.counts.byRegion.set(key, (this.counts.byRegion.get(key) ?? 0) + 1);
  }
}

/** Count a whole log held in memory. */
export function countTraceLines(text: string): TraceCounts {
  const counter = new TraceLineCounter();
  counter.push(text);
  return counter.end();
}
