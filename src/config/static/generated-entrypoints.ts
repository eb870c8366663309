/**
 * Entrypoints berth generates from `edge.publicIPv4` / `edge.publicIPv6`, one set per configured
 * family: `web` (redirects to `websecure`), `websecure`, `tcp-{port}` for the preconfigured and extra
 * TCP ports and the dynamic range, `udp-{port}` for UDP 53 and the extra UDP ports; IPv6 names carry
 * a `-v6` suffix. They are produced in the user-facing shape so they are decoded and defaulted exactly
 * like entrypoints written in the file.
 */
import { formatListenAddress } from './address.ts';
import type { EdgeConfig } from './types.ts';

/** TCP ports that always get an entrypoint (MySQL, PostgreSQL, Redis, MongoDB, Memcached, RabbitMQ, Kafka). */
export const PRECONFIGURED_TCP_PORTS: readonly number[] = [3306, 5432, 6379, 27017, 11211, 5672, 9092];
/** UDP ports that always get an entrypoint (DNS). */
export const PRECONFIGURED_UDP_PORTS: readonly number[] = [53];

/** An entrypoint definition as a user would write it under `entryPoints`. */
export interface GeneratedEntryPoint {
  readonly name: string;
  readonly raw: { address: string; http?: Record<string, unknown> };
}

/** The entrypoints `edge` asks for, in a stable order (IPv4 set first). Empty without public IPs. */
export function generateEntryPoints(edge: EdgeConfig): GeneratedEntryPoint[] {
  const out: GeneratedEntryPoint[] = [];
  const families: [string | undefined, string][] = [[edge.publicIPv4, ''], [edge.publicIPv6, '-v6']];
  for (const [ip, suffix] of families) {
    if (ip === undefined || ip === '') continue;
    out.push({
      name: `web${suffix}`,
      raw: {
        address: formatListenAddress(ip, edge.webPort),
        http: { redirections: { entryPoint: { to: `websecure${suffix}`, scheme: 'https', permanent: true } } },
      },
    });
    // Every router on the HTTPS port is a TLS router; certificates come from the store and resolvers.
    out.push({ name: `websecure${suffix}`, raw: { address: formatListenAddress(ip, edge.websecurePort), http: { tls: {} } } });
    for (const p of tcpPorts(edge)) out.push({ name: `tcp-${p}${suffix}`, raw: { address: formatListenAddress(ip, p) } });
    for (const p of udpPorts(edge)) out.push({ name: `udp-${p}${suffix}`, raw: { address: formatListenAddress(ip, p, 'udp') } });
  }
  return out;
}

/** Preconfigured TCP ports, then the dynamic range, then `edge.tcpPorts`, without duplicates. */
export function tcpPorts(edge: EdgeConfig): number[] {
  const ports = new Set<number>(PRECONFIGURED_TCP_PORTS);
  for (let p = edge.dynamicPorts.from; p <= edge.dynamicPorts.to; p++) ports.add(p);
  for (const p of edge.tcpPorts) ports.add(p);
  return [...ports];
}

/** Preconfigured UDP ports, then `edge.udpPorts`, without duplicates. */
export function udpPorts(edge: EdgeConfig): number[] {
  return [...new Set<number>([...PRECONFIGURED_UDP_PORTS, ...edge.udpPorts])];
}
