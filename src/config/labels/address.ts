/**
 * Which address berth uses to reach a container (SPEC §3): the rediacc service IP, else the IP on
 * the chosen network, else a network shared with berth's own container, else the first network by
 * name; host networking without a service IP means loopback.
 */
import type { ContainerView } from './types.ts';

/** The container's address, or undefined when it has none berth can reach. */
export function containerAddress(c: ContainerView, network: string | undefined, ownNetworks: readonly string[] = []): string | undefined {
  const serviceIp = c.labels['rediacc.service_ip']?.trim();
  if (serviceIp) return serviceIp;
  if (network !== undefined && network !== '') {
    const ip = c.networks[network];
    if (ip) return ip;
  }
  if (c.networkMode === 'host') return '127.0.0.1';
  const names = Object.keys(c.networks).sort();
  for (const n of names) {
    if (ownNetworks.includes(n) && c.networks[n]) return c.networks[n];
  }
  for (const n of names) {
    if (c.networks[n]) return c.networks[n];
  }
  return undefined;
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

/** With `useBindPortIP`: the host binding of `port`, when it has a concrete host IP. */
export function boundAddress(c: ContainerView, port: number): { ip: string; port: number } | undefined {
  for (const p of c.ports) {
    if (p.port !== port || p.hostPort === undefined) continue;
    if (p.hostIp === undefined || p.hostIp === '' || p.hostIp === '0.0.0.0' || p.hostIp === '::') return undefined;
    return { ip: p.hostIp, port: p.hostPort };
  }
  return undefined;
}
