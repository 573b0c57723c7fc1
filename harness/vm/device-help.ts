// What properties a QEMU device has, by asking the QEMU binary itself (`-device <driver>,help`), and
// whether a value fits a property's type. Variants of a path (profile `variants`) are checked with
// this before anything starts, so a property this QEMU lacks is a profile error, not a guest that
// fails to boot. The answer is cached per binary (its real path, size and modification time).

import { execFileSync } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { ToolError } from '../errors.ts';
import type { PropValue } from './qemu-args.ts';

export interface DeviceProperty {
  name: string;
  /** QEMU's type name: `bool`, `uint16`, `uint32`, `int32`, `str`, `OnOffAuto`, `child<...>`, ... */
  type: string;
  /** The default as QEMU prints it (quotes removed), when it prints one. */
  default?: string;
}

export interface DeviceHelp {
  driver: string;
  properties: ReadonlyMap<string, DeviceProperty>;
}

/**
 * Parse `qemu-system-x86_64 -device <driver>,help`: a heading `<driver> options:` then one line per
 * property, `  name=<type>  - description (default: value)`.
 */
export function parseDeviceHelp(driver: string, text: string): DeviceHelp {
  const properties = new Map<string, DeviceProperty>();
  for (const line of text.split('\n')) {
    const m = /^\s+([A-Za-z0-9_.-]+)=<([^>]+(?:>[^>\s]*)*)>/.exec(line);
    if (!m) continue;
    const def = /\(default: "?([^")]*)"?\)\s*$/.exec(line)?.[1];
    properties.set(m[1]!, { name: m[1]!, type: m[2]!, ...(def !== undefined ? { default: def } : {}) });
  }
  if (properties.size === 0) throw new ToolError(`QEMU listed no property for device ${driver}: ${text.split('\n')[0] ?? ''}`);
  return { driver, properties };
}

const cache = new Map<string, DeviceHelp>();

/** Ask `binary` for the properties of `driver`; cached per binary and driver for the life of the process. */
export function queryDeviceHelp(binary: string, driver: string): DeviceHelp {
  let key: string;
  try {
    const real = realpathSync(binary);
    const st = statSync(real);
    key = `${real}:${st.size}:${st.mtimeMs}:${driver}`;
  } catch {
    key = `${binary}:${driver}`;
  }
  const hit = cache.get(key);
  if (hit) return hit;
  let text: string;
  try {
    text = execFileSync(binary, ['-nodefaults', '-machine', 'none', '-device', `${driver},help`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new ToolError(`${binary} -device ${driver},help failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`);
  }
  const help = parseDeviceHelp(driver, text);
  cache.set(key, help);
  return help;
}

/** Properties that cannot be given a value on the command line (children and links of the QOM tree). */
export function settable(p: DeviceProperty): boolean {
  return !/^(child|link)</.test(p.type);
}

const INT_RANGES: Record<string, [number, number]> = {
  uint8: [0, 0xff],
  uint16: [0, 0xffff],
  uint32: [0, 0xffffffff],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  int8: [-0x80, 0x7f],
  int16: [-0x8000, 0x7fff],
  int32: [-0x80000000, 0x7fffffff],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  size: [0, Number.MAX_SAFE_INTEGER],
};

/**
 * A value written in a profile, checked against the property's type and put in the form QEMU's
 * command line takes (`renderProps` writes booleans as on/off). Returns the reason when it does not fit.
 */
export function coerceValue(p: DeviceProperty, value: unknown): { value: PropValue } | { error: string } {
  const t = p.type;
  if (t === 'bool') {
    if (typeof value === 'boolean') return { value };
    if (value === 'on' || value === 'off') return { value: value === 'on' };
    return { error: `${show(value)} is not a boolean; write on or off (true or false)` };
  }
  if (t === 'OnOffAuto') {
    if (typeof value === 'boolean') return { value: value ? 'on' : 'off' };
    if (value === 'on' || value === 'off' || value === 'auto') return { value };
    return { error: `${show(value)} is not one of on, off, auto` };
  }
  const range = INT_RANGES[t];
  if (range) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== 'number' || !Number.isInteger(n)) return { error: `${show(value)} is not an integer (${t})` };
    if (n < range[0] || n > range[1]) return { error: `${n} is out of range for ${t} (${range[0]} to ${range[1]})` };
    return { value: n };
  }
  if (t === 'str') {
    if (typeof value === 'string' || typeof value === 'number') return { value: String(value) };
    return { error: `${show(value)} is not a string` };
  }
  return { error: `properties of type ${t} cannot be set from a profile` };
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}
