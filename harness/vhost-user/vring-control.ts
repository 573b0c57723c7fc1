// The control-plane state of one vring, beside the data-plane state in the port's SplitQueue: what
// the front-end has set (size, addresses, base, kick/call/err fds, enable), where the ring stands
// (started, placed, waiting for addresses), and the listening on its kick fd, which pauses a ring
// that keeps kicking for nothing (T23: a kick storm costs a bounded share of a core).

import { ProtocolViolation } from './protocol/codec.ts';
import { closeQuietly, native, type Poller } from './native.ts';
import type { SplitQueue } from './virtqueue.ts';

/** Kicks in a row that ask for nothing before a ring's kick fd is paused (T23: a kick storm). */
const IDLE_KICKS_BEFORE_PAUSE = 16;
/** How long such a ring's kicks are ignored; the forwarder still polls it whenever it runs. */
const KICK_PAUSE_MS = 10;

export interface KickHooks {
  /** The kick fd reported an error. */
  failed: (status: number) => void;
  /** Wake the data path. */
  wake: () => void;
  /** A kick arrived on q; false when it asked for nothing. Without it every kick wakes. */
  kicked?: (q: SplitQueue) => boolean;
}

/** Control-plane state of one vring; the data-plane state lives in the port's SplitQueue. */
export class VringControl {
  num = 0;
  desc = -1;
  avail = -1;
  used = -1;
  base = 0;
  /** undefined = not received yet; null = NOFD. */
  kickFd: number | null | undefined = undefined;
  callFd: number | null | undefined = undefined;
  errFd: number | null = null;
  enabled = false;
  started = false;
  needStart = false;
  /** Placement must be (re)computed: addresses, size or memory changed. */
  dirty = true;
  /** SET_VRING_ADDR just arrived: check the front-end's new addresses now, even on a stopped ring. */
  checkNow = false;
  /** A new memory table no longer maps this running ring: wait for SET_VRING_ADDR (or another table). */
  waitAddr = false;
  poller: Poller | undefined;
  /** Kicks in a row that found nothing to do, and the timer of a paused kick fd. */
  idleKicks = 0;
  pause: NodeJS.Timeout | undefined;

  /** Start polling `fd` for kicks of queue `q`; the caller stores the poller once the old one is dropped. */
  listen(fd: number, q: SplitQueue, hooks: KickHooks): Poller {
    let poller: Poller | undefined;
    try {
      const p = new (native().Poller)(
        fd,
        (status) => {
          if (status < 0) return hooks.failed(status);
          q.kicks++;
          if (hooks.kicked === undefined) return hooks.wake();
          if (hooks.kicked(q)) {
            this.idleKicks = 0;
          } else if (++this.idleKicks >= IDLE_KICKS_BEFORE_PAUSE) {
            // Stop listening for a while; frames the ring really sends still go out, because the
            // forwarder polls every ring whenever it runs.
            this.idleKicks = 0;
            p.stop();
            this.pause = setTimeout(() => {
              this.pause = undefined;
              if (this.poller === p) p.start();
              hooks.wake();
            }, KICK_PAUSE_MS);
          }
        },
        true,
      );
      poller = p;
      p.start();
      return p;
    } catch (err) {
      poller?.close();
      throw new ProtocolViolation(`SET_VRING_KICK: fd cannot be polled: ${(err as Error).message}`);
    }
  }

  /** Stop listening for kicks and close the kick fd. */
  dropKick(): void {
    clearTimeout(this.pause);
    this.pause = undefined;
    this.idleKicks = 0;
    this.poller?.close(); // libuv: stop polling before the fd is closed
    this.poller = undefined;
    if (typeof this.kickFd === 'number') closeQuietly(this.kickFd);
    this.kickFd = undefined;
  }
}
