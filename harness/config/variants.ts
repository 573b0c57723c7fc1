// Variants of a path (profile `variants`): each is measured as a series of its own, with the id
// `<path>~<name>`, beside the path itself. Here: the ids, the plan's entries, and the check of
// every device property against what the host's QEMU lists for the path's NIC device (names,
// types, values), which runs before anything of the run exists; its errors name the profile field.

import type { NicBackend } from '../backends/types.ts';
import { UsageError } from '../errors.ts';
import { guestIdentity } from '../host/identity.ts';
import { coerceValue, settable, type DeviceHelp } from '../vm/device-help.ts';
import type { PropValue } from '../vm/qemu-args.ts';
import { formatPath } from './load.ts';
import type { VariantSpec } from './schema.ts';

/** Between a path's id and a variant's name in a series id. */
export const VARIANT_SEPARATOR = '~';

/** One variant in the plan. */
export interface VariantPlan {
  /** The series id: `<path>~<name>`, used wherever a path id is (samples, run.json, reports, compare). */
  id: string;
  /** The path it varies. */
  of: string;
  name: string;
  description?: string;
  /** Properties appended to the NIC's `-device`, in command-line form (on/off written as booleans). */
  device: Record<string, PropValue>;
  /** Guest MTU (and the tap's, the switch's); the path's default 1500 when absent. */
  mtu?: number;
  /** NIC queue pairs for this series; the profile's guest.queues when absent. */
  queues?: number;
}

export function variantId(path: string, name: string): string {
  return `${path}${VARIANT_SEPARATOR}${name}`;
}

/** `<path>~<name>` -> path `<path>`, variant `<name>`; a plain path id has no variant. */
export function splitSeriesId(id: string): { path: string; variant?: string } {
  const i = id.indexOf(VARIANT_SEPARATOR);
  return i < 0 ? { path: id } : { path: id.slice(0, i), variant: id.slice(i + 1) };
}

/** The plan's entry of a profile's variant; `on`/`off` are read as booleans, which QEMU's command line writes the same way. */
export function variantPlan(path: string, v: VariantSpec): VariantPlan {
  const device: Record<string, PropValue> = {};
  for (const [k, value] of Object.entries(v.device)) device[k] = value === 'on' ? true : value === 'off' ? false : value;
  return {
    id: variantId(path, v.name),
    of: path,
    name: v.name,
    ...(v.description ? { description: v.description } : {}),
    device,
    ...(v.mtu !== undefined ? { mtu: v.mtu } : {}),
    ...(v.queues !== undefined ? { queues: v.queues } : {}),
  };
}

/** The variant's changes in a few words, e.g. `event_idx=off, mtu 9000`. */
export function describeVariant(v: Pick<VariantPlan, 'device' | 'mtu' | 'queues'>): string {
  const parts = Object.entries(v.device).map(([k, value]) => `${k}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value)}`);
  if (v.queues !== undefined) parts.push(`${v.queues} queue pair${v.queues > 1 ? 's' : ''}`);
  if (v.mtu !== undefined) parts.push(`mtu ${v.mtu}`);
  return parts.join(', ');
}

/**
 * The NIC device a path gives its guests, and the properties the path sets on it itself (with one
 * queue pair and with several, so that the multi-queue ones count): those belong to the path, and a
 * variant may not set them.
 */
export function pathDevice(path: NicBackend): { driver: string; own: string[] } {
  const g = guestIdentity(0, '000000');
  const env = { runtimeDir: '/run/iopath/check', accel: 'kvm' as const, qemuVersion: { major: 8, minor: 0, micro: 0 } };
  const one = path.guestArgs(g, { ...env, queues: 1 }).devices[0];
  const many = path.guestArgs(g, { ...env, queues: 2 }).devices[0];
  if (!one) return { driver: '', own: [] };
  return { driver: one.driver, own: [...new Set([...Object.keys(one.props), ...Object.keys(many?.props ?? {})])] };
}

/** What to write instead of a property the path sets itself. */
const INSTEAD: Readonly<Record<string, string>> = {
  mq: 'set the variant\'s queues instead (mq, vectors and the back-end\'s queues follow it)',
  vectors: 'set the variant\'s queues instead (the path derives the MSI-X vectors from them)',
};

/**
 * Check every variant's device properties against `help(driver)` (what the host's QEMU lists for the
 * path's NIC device) and return the plan's variants with their values in command-line form. Every
 * problem names its profile field (`variants.<path>[0].device.foo`); all of them make one
 * UsageError (exit 2), in the format of the profile's other errors.
 */
export function checkVariants(
  file: string,
  variants: readonly VariantPlan[],
  paths: ReadonlyMap<string, NicBackend>,
  help: (driver: string) => DeviceHelp,
  qemuVersion?: string,
): VariantPlan[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const indexOf = new Map<string, number>();
  const out = variants.map((v) => {
    const i = indexOf.get(v.of) ?? 0;
    indexOf.set(v.of, i + 1);
    const at = (...rest: (string | number)[]) => ['variants', v.of, i, ...rest];
    const path = paths.get(v.of);
    if (!path) {
      problems.push({ path: at(), message: `unknown path "${v.of}"` });
      return v;
    }
    const { driver, own } = pathDevice(path);
    const qemu = `QEMU${qemuVersion ? ` ${qemuVersion}` : ''}`;
    const listed = help(driver);
    const allowed = [...listed.properties.values()].filter((p) => settable(p) && !own.includes(p.name)).map((p) => p.name);
    const device: Record<string, PropValue> = {};
    for (const [name, value] of Object.entries(v.device)) {
      const prop = listed.properties.get(name);
      if (own.includes(name)) {
        problems.push({ path: at('device', name), message: `"${name}" is set by the ${v.of} path itself (${own.join(', ')}); ${INSTEAD[name] ?? 'a variant may not change it'}` });
      } else if (!prop || !settable(prop)) {
        problems.push({ path: at('device', name), message: `${driver} of ${qemu} has no property "${name}"; allowed: ${allowed.join(', ')}` });
      } else {
        const c = coerceValue(prop, value);
        if ('error' in c) problems.push({ path: at('device', name), message: `bad value for ${driver} property ${name} (${prop.type}): ${c.error}` });
        else device[name] = c.value;
      }
    }
    if ((v.queues ?? 1) > 1 && !listed.properties.has('mq')) {
      problems.push({ path: at('queues'), message: `${driver} of ${qemu} has one queue pair (it lists no mq property)` });
    }
    return { ...v, device };
  });
  if (problems.length) {
    const lines = problems.map((p) => `  ${formatPath(p.path)}: ${p.message}`);
    throw new UsageError(`${file}: invalid profile (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${lines.join('\n')}`);
  }
  return out;
}
