import type { PortOwner } from '../config/labels/types.ts';
import type { RoutingSnapshot } from '../pipeline/snapshot.ts';
import type { ProviderState } from '../providers/provider.ts';
import type { PortAssignment } from '../tcp/port-allocator.ts';

/** The allocator's side of `/ports`: every assignment and the range they come from. */
export interface PortAllocations {
  readonly allocations: readonly PortAssignment[];
  readonly range: { readonly from: number; readonly to: number };
}

/** One public port in `/ports`: the assignment, what it forwards to, and who asked for it. */
export interface PortEntry extends PortAssignment {
  /** Whether a router is served on it now (an assignment outlives a stopped container, so it comes back on the same port). */
  readonly active: boolean;
  /** The addresses it forwards to. */
  readonly targets: readonly string[];
  readonly service?: string;
  readonly repository?: string;
  readonly daemon?: string;
  readonly containers?: readonly string[];
}

/** A router that asked for a dynamic port and has none (the range is exhausted), and why. */
export interface UnassignedPort {
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  readonly service?: string;
  readonly repository?: string;
  readonly daemon?: string;
  readonly containers?: readonly string[];
  readonly errors: readonly string[];
}

/**
 * `/ports`: each public port from `edge.dynamicPorts` with its protocol, router, targets and owner
 * (service, repository, daemon, containers — as the provider reports them), and the routers left
 * without a port.
 */
export function portsReport(
  ports: PortAllocations,
  snap: RoutingSnapshot,
  providers: ReadonlyMap<string, ProviderState>,
): { range: PortAllocations['range']; allocations: PortEntry[]; unassigned: UnassignedPort[] } {
  const owners = new Map<string, PortOwner>();
  for (const [provider, state] of providers)
    for (const o of state.ports ?? []) owners.set(`${o.protocol} ${o.router}@${provider}`, o);
  const ownerFields = (
    o: PortOwner | undefined,
  ): Pick<PortEntry, 'service' | 'repository' | 'daemon' | 'containers'> =>
    o === undefined
      ? {}
      : {
          ...(o.service !== undefined ? { service: o.service } : {}),
          ...(o.repository !== undefined ? { repository: o.repository } : {}),
          daemon: o.daemon,
          containers: o.containers,
        };
  const allocations = ports.allocations.map((a): PortEntry => {
    const router = snap.config[a.protocol]?.routers?.[a.key];
    const service = router ? snap.config[a.protocol]?.services?.[router.service] : undefined;
    const targets = (service?.loadBalancer?.servers ?? []).map((s) => s.address ?? '').filter((s) => s !== '');
    const served = router !== undefined && snap.elements.get(a.key)?.status !== 'disabled';
    return { ...a, active: served, targets, ...ownerFields(owners.get(`${a.protocol} ${a.key}`)) };
  });
  const assigned = new Set(ports.allocations.map((a) => `${a.protocol} ${a.key}`));
  const unassigned: UnassignedPort[] = [];
  for (const [key, o] of owners) {
    if (assigned.has(key)) continue;
    const name = key.slice(key.indexOf(' ') + 1);
    unassigned.push({
      key: name,
      protocol: o.protocol,
      ...ownerFields(o),
      errors: snap.elements.get(name)?.errors ?? [],
    });
  }
  return { range: ports.range, allocations, unassigned };
}
