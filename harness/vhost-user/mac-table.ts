// The switch's forwarding database: source MACs learned per port, aged out, bounded in size so
// a guest spraying random source addresses cannot grow memory or time. MACs are 48-bit numbers
// (exact in a double) so lookups allocate nothing.
//
// Entries are kept in the order they were last refreshed (a Map iterates in insertion order, and a
// refresh re-inserts), so the oldest entry is always first: ageing looks only at the front and
// stops at the first live entry. A full table under a spray therefore costs O(1) per new address,
// never a scan of the whole table.

export const UNKNOWN = -1;

interface Entry {
  port: number;
  seen: number;
}

export class MacTable {
  readonly maxEntries: number;
  readonly ageMs: number;
  /** Bumped on every change, so per-port lookup caches know when to drop their answer. */
  generation = 0;
  /** Entries examined by ageing so far (stays proportional to the addresses learned). */
  scanned = 0;
  /** New addresses refused because the table was full of live entries. */
  refused = 0;
  #map = new Map<number, Entry>();

  constructor(maxEntries = 4096, ageMs = 300_000) {
    this.maxEntries = maxEntries;
    this.ageMs = ageMs;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Learn that `mac` lives behind `port` (ignored for multicast sources and when the table is full). */
  learn(mac: number, port: number, now: number): void {
    if (isMulticast(mac)) return;
    const e = this.#map.get(mac);
    if (e !== undefined) {
      // Refresh: move to the back so the front stays the oldest.
      this.#map.delete(mac);
      this.#map.set(mac, e);
      e.seen = now;
      if (e.port !== port) {
        e.port = port;
        this.generation++;
      }
      return;
    }
    if (this.#map.size >= this.maxEntries) {
      this.expire(now);
      if (this.#map.size >= this.maxEntries) {
        this.refused++;
        return;
      }
    }
    this.#map.set(mac, { port, seen: now });
    this.generation++;
  }

  /** The port behind `mac`, or UNKNOWN (also for multicast/broadcast and aged-out entries): flood. */
  lookup(mac: number, now: number): number {
    if (isMulticast(mac)) return UNKNOWN;
    const e = this.#map.get(mac);
    if (e === undefined) return UNKNOWN;
    if (now - e.seen > this.ageMs) {
      this.#map.delete(mac);
      this.generation++;
      return UNKNOWN;
    }
    return e.port;
  }

  /** Forget everything learned on a port (it disconnected or broke). Rare: a full pass is fine. */
  forgetPort(port: number): void {
    for (const [mac, e] of this.#map) if (e.port === port) this.#map.delete(mac);
    this.generation++;
  }

  /** Drop aged entries from the front (oldest first); stops at the first live one. */
  expire(now: number): void {
    let dropped = false;
    for (const [mac, e] of this.#map) {
      this.scanned++;
      if (now - e.seen <= this.ageMs) break;
      this.#map.delete(mac);
      dropped = true;
    }
    if (dropped) this.generation++;
  }
}

/** The 48-bit number of the MAC at b[at..at+6). */
export function macAt(b: Uint8Array, at: number): number {
  return ((b[at]! << 8) | b[at + 1]!) * 0x100000000 + (((b[at + 2]! << 24) | (b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!) >>> 0);
}

/** Group bit (I/G) of the first octet: broadcast and multicast. */
export function isMulticast(mac: number): boolean {
  return Math.floor(mac / 0x10000000000) % 2 === 1;
}

export function formatMac(mac: number): string {
  const hex = mac.toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}
