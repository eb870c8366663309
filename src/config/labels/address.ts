/**
 * Which address berth uses to reach a container (SPEC §3, Traefik's `getIPAddress`): the rediacc
 * service IP, else the IP on the chosen network, else — for a container sharing another's network
 * stack (`network_mode: container:…`) — that container's address, else a network shared with berth's
 * own container, else the first network by name; host networking without a service IP means loopback.
 */
import type { ContainerView } from './types.ts';

/** How deep `container:` network modes may chain before berth gives up. */
const MAX_SHARED_DEPTH = 4;

/** The container's address, or undefined when it has none berth can reach. */
export function containerAddress(
  c: ContainerView,
  network: string | undefined,
  ownNetworks: readonly string[] = [],
  depth = 0,
): string | undefined {
  const serviceIp = c.labels['rediacc.service_ip']?.trim();
  if (serviceIp) return serviceIp;
  if (network !== undefined && network !== '') {
    const ip = c.networks[network];
    if (ip) return ip;
  }
  if (c.networkMode === 'host') return '127.0.0.1';
  if (c.networkMode.startsWith('container:')) {
    // Traefik: the other container's traefik.docker.network, else this one's network, on the other's networks.
    const other = c.sharesNetworkOf;
    if (other === undefined || depth >= MAX_SHARED_DEPTH) return undefined;
    return containerAddress(other, dockerNetworkLabel(other) ?? network, ownNetworks, depth + 1);
  }
  const names = Object.keys(c.networks).sort();
  for (const n of names) {
    if (ownNetworks.includes(n) && c.networks[n]) return c.networks[n];
  }
  for (const n of names) {
    if (c.networks[n]) return c.networks[n];
  }
  return undefined;
}

/**
 * Whether `network` was asked for but the container is not on it (Traefik warns, then falls back to
 * another network): a compose network name without its project prefix is the usual cause.
 */
export function missingNetwork(c: ContainerView, network: string | undefined): boolean {
  if (network === undefined || network === '' || c.labels['rediacc.service_ip']?.trim()) return false;
  if (c.networkMode === 'host' || c.networkMode.startsWith('container:')) return false;
  return !c.networks[network];
}

/** `traefik.docker.network` of a container (label keys are case-insensitive), if set. */
export function dockerNetworkLabel(c: ContainerView): string | undefined {
  for (const [k, v] of Object.entries(c.labels)) if (k.toLowerCase() === 'traefik.docker.network' && v !== '') return v;
  return undefined;
}

/**
 * The container another one names in `network_mode: container:<ref>`, among the containers of the
 * same daemon: by id, unique id prefix, or name, as the Docker API resolves it.
 */
export function findSharedNetworkContainer(
  c: ContainerView,
  sameDaemon: readonly ContainerView[],
): ContainerView | undefined {
  if (!c.networkMode.startsWith('container:')) return undefined;
  const ref = c.networkMode.slice('container:'.length).replace(/^\//, '');
  if (ref === '') return undefined;
  const exact = sameDaemon.find((o) => o.id === ref || o.name === ref);
  if (exact !== undefined) return exact === c ? undefined : exact;
  const prefixed = sameDaemon.filter((o) => o.id.startsWith(ref));
  return prefixed.length === 1 && prefixed[0] !== c ? prefixed[0] : undefined;
}

/** `host:port` with IPv6 literals bracketed. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Traefik's port choice when no `loadbalancer.server.port` label is given: the lowest exposed port
 * (any protocol), or undefined when the container exposes none.
 */
export function defaultPort(c: ContainerView): number | undefined {
  let best: number | undefined;
  for (const p of c.ports) if (best === undefined || p.port < best) best = p.port;
  return best;
}

/**
 * With `useBindPortIP`: the host binding of `port`, unless its host IP is unspecified. As in Traefik,
 * only an empty IP and `0.0.0.0` send berth back to the container's own address and port; a binding on
 * `::` is used as it is.
 */
export function boundAddress(c: ContainerView, port: number): { ip: string; port: number } | undefined {
  for (const p of c.ports) {
    if (p.port !== port || p.hostPort === undefined) continue;
    if (p.hostIp === undefined || p.hostIp === '' || p.hostIp === '0.0.0.0') return undefined;
    return { ip: p.hostIp, port: p.hostPort };
  }
  return undefined;
}
