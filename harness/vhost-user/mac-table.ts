// The L2 switch's forwarding database: source MACs learned per port, aged out, bounded in size so
// a guest spraying random source addresses cannot grow memory. MACs are 48-bit numbers (exact in a
// double) so lookups allocate nothing.

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
      e.seen = now;
      if (e.port !== port) {
        e.port = port;
        this.generation++;
      }
      return;
    }
    if (this.#map.size >= this.maxEntries) {
      this.expire(now);
      if (this.#map.size >= this.maxEntries) return;
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

  /** Forget everything learned on a port (it disconnected or broke). */
  forgetPort(port: number): void {
    for (const [mac, e] of this.#map) if (e.port === port) this.#map.delete(mac);
    this.generation++;
  }

  expire(now: number): void {
    for (const [mac, e] of this.#map) if (now - e.seen > this.ageMs) this.#map.delete(mac);
    this.generation++;
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
