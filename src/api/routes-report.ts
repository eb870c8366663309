import type { Diagnostic } from '../lib/diagnostics.ts';
import type { RoutingSnapshot } from '../pipeline/snapshot.ts';

/**
 * `/routes.json`: every HTTP, TCP and UDP router with rule, entrypoints, service, servers, status,
 * errors; the diagnostics of the configuration and `more` (parts beside it, such as DNS automation).
 */
export function routesReport(snap: RoutingSnapshot, more: readonly Diagnostic[] = []): Record<string, unknown> {
  const status = (name: string): { status: string; errors: readonly string[] } => {
    const e = snap.elements.get(name);
    return { status: e?.status ?? 'enabled', errors: e?.errors ?? [] };
  };
  const servers = (svc: string): unknown => snap.serviceInfo.get(svc)?.servers() ?? [];
  const http = Object.entries(snap.config.http?.routers ?? {}).map(([name, r]) => ({
    name,
    rule: r.rule,
    priority: r.priority,
    entryPoints: r.entryPoints ?? [],
    middlewares: r.middlewares ?? [],
    service: r.service,
    tls: r.tls ?? null,
    servers: servers(r.service),
    ...status(name),
  }));
  const tcp = Object.entries(snap.config.tcp?.routers ?? {}).map(([name, r]) => ({
    name,
    rule: r.rule,
    entryPoints: r.entryPoints ?? [],
    service: r.service,
    tls: r.tls ?? null,
    servers: snap.config.tcp?.services?.[r.service]?.loadBalancer?.servers ?? [],
    ...status(name),
  }));
  const udp = Object.entries(snap.config.udp?.routers ?? {}).map(([name, r]) => ({
    name,
    entryPoints: r.entryPoints ?? [],
    service: r.service,
    servers: snap.config.udp?.services?.[r.service]?.loadBalancer?.servers ?? [],
    ...status(name),
  }));
  const problems = [...snap.diagnostics, ...more].map((d) => ({
    level: d.level,
    source: d.source,
    element: d.element,
    message: d.message,
  }));
  return { version: snap.version, http, tcp, udp, diagnostics: problems };
}
