// The host side shared by the tap paths: the run's network namespace with a bridge (which also
// carries the host-side address for the guest-to-host topology) and one tap per guest.

import { HOST_SIDE_IP, PREFIX, bridgeName, netnsName } from '../host/identity.ts';
import { Netns } from '../host/netns.ts';
import type { Scope } from '../host/scope.ts';
import type { HostFacts } from '../host/facts.ts';
import type { GuestIdentity } from '../host/identity.ts';
import type { DeviceOpt, Props } from '../vm/qemu-args.ts';
import type { BackendContext, BackendInstance, NicBackend, PathPresentation, Requirement } from './types.ts';

export interface TapTopology {
  netns: string;
  bridge: string;
  hostAddress: string;
}

/**
 * The path's own namespace (`path` is its id; a variant's is `<path>-<variant>`): in rounds, every
 * tap path and variant is up at the same time. Taps and bridge carry the guests' MTU when it is not 1500.
 */
export async function setUpTapBridge(scope: Scope, ctx: BackendContext, path: string, queues = 1): Promise<TapTopology> {
  const ns = await Netns.create(scope, netnsName(ctx.tag, ctx.variant ? `${path}-${ctx.variant}` : path), ctx.signal);
  const bridge = bridgeName(ctx.tag);
  const mtu = ctx.mtu !== undefined && ctx.mtu !== 1500 ? ctx.mtu : undefined;
  await ns.addBridge(scope, bridge, `${HOST_SIDE_IP}/${PREFIX}`, ctx.signal, mtu);
  for (const g of ctx.guests) await ns.addTap(scope, g.tap, bridge, ctx.signal, queues > 1, mtu);
  return { netns: ns.name, bridge, hostAddress: HOST_SIDE_IP };
}

/** What every tap path needs: root (for namespaces and taps) and /dev/net/tun. */
export function tapRequirements(host: HostFacts): Requirement[] {
  return [
    {
      what: 'network namespaces and tap devices (root or CAP_NET_ADMIN)',
      ok: host.netAdmin,
      detail: host.netAdmin ? (host.root ? 'running as root' : 'CAP_NET_ADMIN') : 'not root and no CAP_NET_ADMIN',
      reason: 'iopath is not running as root, so it cannot create a network namespace and tap devices',
      fix: 'sudo npm run bench',
    },
    {
      what: '/dev/net/tun',
      ok: host.devNetTun,
      detail: host.devNetTun ? 'present' : 'missing',
      reason: '/dev/net/tun is missing',
      fix: 'modprobe tun',
    },
  ];
}

/** What distinguishes one tap path from another: the guest device and the tap's own options. */
export interface TapPathSpec {
  id: string;
  title: string;
  summary: string;
  presentation: PathPresentation;
  hostProbes?: NicBackend['hostProbes'];
  /** Requirements beyond the tap basics (e.g. a device node). */
  extraRequirements?: (host: HostFacts) => Requirement[];
  /** Extra properties of `-netdev tap` (e.g. `vhost`). */
  tapProps: Props;
  /** The device can have several queue pairs (virtio-net-pci); others always get one. */
  multiQueue?: boolean;
  /** The kernel's vhost workers serve the queues (see NicBackend.vhostWorkers). */
  vhostWorkers?: boolean;
  device: (guest: GuestIdentity, queues: number) => DeviceOpt;
}

export function defineTapBackend(spec: TapPathSpec): NicBackend {
  return {
    id: spec.id,
    title: spec.title,
    summary: spec.summary,
    presentation: spec.presentation,
    // A tap path itself needs nothing beyond every run's basics. The server that the guest-to-host
    // topology runs at its host end is the scenario's own (`ScenarioImpl.hostPackages`), needed only
    // by scenarios of that topology.
    debianPackages: [],
    ...(spec.hostProbes ? { hostProbes: spec.hostProbes } : {}),
    ...(spec.vhostWorkers ? { vhostWorkers: true } : {}),
    requirements: (host) => [...tapRequirements(host), ...(spec.extraRequirements?.(host) ?? [])],
    guestArgs: (g, env) => {
      const queues = spec.multiQueue ? (env.queues ?? 1) : 1;
      return {
        chardevs: [],
        // QEMU opens the tap that set-up created in the run's namespace (it runs in that namespace).
        netdevs: [{ type: 'tap', id: 'net0', props: { ifname: g.tap, script: 'no', downscript: 'no', ...spec.tapProps, queues: queues > 1 ? queues : undefined } }],
        devices: [spec.device(g, queues)],
        sharedMemory: false,
      };
    },
    async setUp(scope, ctx): Promise<BackendInstance> {
      // A multi-queue tap must be created so: QEMU opens one file per queue pair.
      const topo = await setUpTapBridge(scope, ctx, spec.id, spec.multiQueue ? (ctx.queues ?? 1) : 1);
      return {
        netns: topo.netns,
        hostEnd: { netns: topo.netns, address: topo.hostAddress },
        notes: [],
      };
    },
  };
}
