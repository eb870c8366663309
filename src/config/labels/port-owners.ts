import type { DynamicConfig } from '../dynamic/types.ts';
import { repositoryOf } from './auto-routes.ts';
import type { SourcedContribution } from './merge.ts';
import type { PortOwner } from './types.ts';

/**
 * Who stands behind each router that gets a port from `edge.dynamicPorts` and is served: its
 * daemon, repository, rediacc service name and containers — what `/ports` shows next to the port.
 */
export function dynamicPortOwners(contributions: readonly SourcedContribution[], config: DynamicConfig): PortOwner[] {
  const owners = new Map<string, { -readonly [K in keyof PortOwner]: PortOwner[K] }>();
  for (const { container: c, elements } of contributions) {
    for (const e of elements) {
      const protocol = e.section === 'tcp.routers' ? 'tcp' : e.section === 'udp.routers' ? 'udp' : undefined;
      const eps = e.value['entryPoints'];
      if (protocol === undefined || !Array.isArray(eps) || !eps.includes(`${protocol}-dynamic`)) continue;
      if (config[protocol]?.routers?.[e.name] === undefined) continue;
      const key = `${protocol} ${e.name}`;
      const o = owners.get(key);
      if (o !== undefined) {
        if (o.daemon === c.daemon && !o.containers.includes(c.name)) o.containers = [...o.containers, c.name];
        continue;
      }
      const repository = repositoryOf(c);
      const service = (c.labels['rediacc.service_name'] ?? '').trim();
      owners.set(key, {
        router: e.name,
        protocol,
        daemon: c.daemon,
        containers: [c.name],
        ...(repository !== undefined ? { repository } : {}),
        ...(service !== '' ? { service } : {}),
      });
    }
  }
  return [...owners.values()];
}
