import type {
  DynamicConfig,
  HttpConfiguration,
  TcpConfiguration,
  UdpConfiguration,
  TlsConfiguration,
} from '../config/dynamic/types.ts';
import { qualify } from '../model/qualified-name.ts';

function qualifyMap<T>(
  src: Record<string, T> | undefined,
  provider: string,
  each: (v: T) => T,
  into: Record<string, T>,
): void {
  if (!src) return;
  for (const [name, value] of Object.entries(src)) into[qualify(name, provider)] = each(value);
}

/**
 * Merges the whole configurations of all providers into one, Traefik style: every element name
 * gets its provider suffix (`web` from docker → `web@docker`), and references inside an element
 * (router → service, router → middlewares, weighted → services, chain → middlewares) without a
 * suffix resolve within the same provider. Names never collide across providers.
 */
export function mergeConfigs(byProvider: ReadonlyMap<string, DynamicConfig>): DynamicConfig {
  const http: Required<HttpConfiguration> = { routers: {}, services: {}, middlewares: {}, serversTransports: {} };
  const tcp: Required<TcpConfiguration> = { routers: {}, services: {}, middlewares: {}, serversTransports: {} };
  const udp: Required<UdpConfiguration> = { routers: {}, services: {} };
  const tls: Required<TlsConfiguration> = { certificates: [], options: {}, stores: {} };
  for (const [p, cfg] of byProvider) {
    const q = (n: string): string => qualify(n, p);
    qualifyMap(
      cfg.http?.routers,
      p,
      (r) => ({ ...r, service: q(r.service), ...(r.middlewares ? { middlewares: r.middlewares.map(q) } : {}) }),
      http.routers,
    );
    qualifyMap(
      cfg.http?.services,
      p,
      (s) => {
        if (s.weighted?.services)
          return {
            ...s,
            weighted: { ...s.weighted, services: s.weighted.services.map((w) => ({ ...w, name: q(w.name) })) },
          };
        if (s.mirroring)
          return {
            ...s,
            mirroring: {
              ...s.mirroring,
              service: q(s.mirroring.service),
              ...(s.mirroring.mirrors ? { mirrors: s.mirroring.mirrors.map((m) => ({ ...m, name: q(m.name) })) } : {}),
            },
          };
        if (s.failover)
          return {
            ...s,
            failover: { ...s.failover, service: q(s.failover.service), fallback: q(s.failover.fallback) },
          };
        if (s.loadBalancer?.serversTransport)
          return { ...s, loadBalancer: { ...s.loadBalancer, serversTransport: q(s.loadBalancer.serversTransport) } };
        return s;
      },
      http.services,
    );
    qualifyMap(
      cfg.http?.middlewares,
      p,
      (m) => {
        const chain = m.chain as { middlewares?: unknown } | undefined;
        if (chain && Array.isArray(chain.middlewares))
          return { chain: { ...chain, middlewares: chain.middlewares.map((x) => (typeof x === 'string' ? q(x) : x)) } };
        const errors = m.errors as { service?: unknown } | undefined;
        if (errors && typeof errors.service === 'string') return { errors: { ...errors, service: q(errors.service) } };
        return m;
      },
      http.middlewares,
    );
    qualifyMap(cfg.http?.serversTransports, p, (t) => t, http.serversTransports);
    qualifyMap(
      cfg.tcp?.routers,
      p,
      (r) => ({ ...r, service: q(r.service), ...(r.middlewares ? { middlewares: r.middlewares.map(q) } : {}) }),
      tcp.routers,
    );
    qualifyMap(
      cfg.tcp?.services,
      p,
      (s) =>
        s.weighted?.services
          ? { ...s, weighted: { services: s.weighted.services.map((w) => ({ ...w, name: q(w.name) })) } }
          : s,
      tcp.services,
    );
    qualifyMap(cfg.tcp?.middlewares, p, (m) => m, tcp.middlewares);
    qualifyMap(cfg.tcp?.serversTransports, p, (t) => t, tcp.serversTransports);
    qualifyMap(cfg.udp?.routers, p, (r) => ({ ...r, service: q(r.service) }), udp.routers);
    qualifyMap(
      cfg.udp?.services,
      p,
      (s) =>
        s.weighted?.services
          ? { ...s, weighted: { services: s.weighted.services.map((w) => ({ ...w, name: q(w.name) })) } }
          : s,
      udp.services,
    );
    if (cfg.tls?.certificates) tls.certificates.push(...cfg.tls.certificates);
    // TLS options and stores are global in Traefik: `default` from any provider is the default.
    if (cfg.tls?.options)
      for (const [n, o] of Object.entries(cfg.tls.options)) tls.options[n === 'default' ? n : qualify(n, p)] = o;
    if (cfg.tls?.stores) Object.assign(tls.stores, cfg.tls.stores);
  }
  return { http, tcp, udp, tls };
}
