/**
 * Entrypoints berth generates from `edge.publicIPv4` / `edge.publicIPv6`, one set per configured
 * family: `web` (redirects to `websecure` when a certificate resolver is configured), `websecure`,
 * `tcp-{port}` for the preconfigured and extra TCP ports and the dynamic range, `udp-{port}` for UDP 53
 * and the extra UDP ports; IPv6 names carry a `-v6` suffix. The IPv4 set listens on
 * `edge.bindAddress` (the public address itself when the host has it). They are produced in the
 * user-facing shape so they are decoded and defaulted exactly like entrypoints written in the file;
 * so are the entrypoints opened while routers need them (dynamic and on-demand ports).
 */
import { decodeDocument } from '../schema/decode.ts';
import { formatListenAddress } from './address.ts';
import { bindHost } from './bind-address.ts';
import { entryPointSchema } from './entrypoint-schema.ts';
import type { EdgeConfig, EntryPointConfig } from './types.ts';

/** TCP ports that always get an entrypoint (MySQL, PostgreSQL, Redis, MongoDB, Memcached, RabbitMQ, Kafka). */
export const PRECONFIGURED_TCP_PORTS: readonly number[] = [3306, 5432, 6379, 27017, 11211, 5672, 9092];
/** UDP ports that always get an entrypoint (DNS). */
export const PRECONFIGURED_UDP_PORTS: readonly number[] = [53];

/** An entrypoint definition as a user would write it under `entryPoints`. */
export interface GeneratedEntryPoint {
  readonly name: string;
  readonly raw: { address: string; http?: Record<string, unknown>; forwardedHeaders?: { trustedIPs: string[] } };
}

/** What else, besides `edge`, shapes the generated entrypoints. */
export interface GenerateOptions {
  /**
   * Whether `web` redirects to `websecure`: only when a certificate resolver can give the HTTPS side
   * real certificates. Without one, `web` serves plain HTTP rather than sending every visitor to a
   * self-signed certificate.
   */
  readonly redirect: boolean;
}

/** The entrypoints `edge` asks for, in a stable order (IPv4 set first). Empty without public IPs. */
export function generateEntryPoints(
  edge: EdgeConfig,
  opts: GenerateOptions = { redirect: true },
): GeneratedEntryPoint[] {
  const out: GeneratedEntryPoint[] = [];
  const families: [string | undefined, string, string][] = [
    [edge.publicIPv4, bindHost(edge), ''],
    [edge.publicIPv6, edge.publicIPv6 ?? '', '-v6'],
  ];
  const forwarded = forwardedHeaders(edge);
  for (const [ip, host, suffix] of families) {
    if (ip === undefined || ip === '') continue;
    out.push({
      name: `web${suffix}`,
      raw: {
        address: formatListenAddress(host, edge.webPort),
        ...(opts.redirect
          ? { http: { redirections: { entryPoint: { to: `websecure${suffix}`, scheme: 'https', permanent: true } } } }
          : {}),
        ...forwarded,
      },
    });
    // Every router on the HTTPS port is a TLS router; certificates come from the store and resolvers.
    out.push({
      name: `websecure${suffix}`,
      raw: { address: formatListenAddress(host, edge.websecurePort), http: { tls: {} }, ...forwarded },
    });
    for (const p of tcpPorts(edge))
      out.push({ name: `tcp-${p}${suffix}`, raw: { address: formatListenAddress(host, p), ...forwarded } });
    for (const p of udpPorts(edge))
      out.push({ name: `udp-${p}${suffix}`, raw: { address: formatListenAddress(host, p, 'udp') } });
  }
  return out;
}

function forwardedHeaders(edge: EdgeConfig): { forwardedHeaders?: { trustedIPs: string[] } } {
  const trusted = edge.forwardedHeaders?.trustedIPs ?? [];
  return trusted.length > 0 ? { forwardedHeaders: { trustedIPs: [...trusted] } } : {};
}

/**
 * An entrypoint opened only while routers need it — a port from `edge.dynamicPorts`, or a port an
 * RPROXY route names — on `edge.bindAddress`, decoded and defaulted like the generated ones.
 */
export function edgeEntryPoint(edge: EdgeConfig, port: number, protocol: 'tcp' | 'udp'): EntryPointConfig {
  const host = bindHost(edge);
  const address = formatListenAddress(host, port, protocol);
  const decoded = decodeDocument(
    entryPointSchema,
    { address, ...(protocol === 'tcp' ? forwardedHeaders(edge) : {}) },
    { issues: [], warnings: NO_WARNINGS },
  );
  // The input is berth's own and always decodes; the fallback only keeps the types honest.
  return {
    ...(decoded ?? { address, http: {}, transport: {}, udp: {} }),
    address,
    host,
    port,
    protocol,
    generated: true,
    onDemand: true,
  };
}

const NO_WARNINGS = { key: () => undefined, value: () => undefined };

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
