import type { RoutingSnapshot } from '../pipeline/snapshot.ts';
import type { ProviderState } from '../providers/provider.ts';

/** What the Traefik API reads besides the snapshot (the API server's sources fit). */
export interface TraefikApiSources {
  readonly providers: () => ReadonlyMap<string, ProviderState>;
  readonly version: string;
  readonly startedAt: number;
  readonly entrypoints: () => readonly { name: string; address: string; protocol: string }[];
}

/** Traefik's API subset (`/api/rawdata`, `/api/overview`, `/api/http/routers`, …) from the snapshot. */
export function traefikApi(path: string, snap: RoutingSnapshot, src: TraefikApiSources): unknown {
  const withStatus = <T extends object>(
    items: Record<string, T> | undefined,
    kind: string,
  ): (T & { name: string; status: string; provider: string })[] =>
    Object.entries(items ?? {}).map(([name, v]) => {
      const e = snap.elements.get(name);
      const provider = name.slice(name.lastIndexOf('@') + 1);
      return {
        ...v,
        name,
        provider,
        status: e?.status ?? 'enabled',
        ...(e?.errors.length ? { error: e.errors } : {}),
        type: kind,
      };
    });
  const c = snap.config;
  const lists: Record<string, () => unknown> = {
    '/api/http/routers': () => withStatus(c.http?.routers, 'http'),
    '/api/http/services': () =>
      withStatus(c.http?.services, 'http').map((s) => ({
        ...s,
        serverStatus: Object.fromEntries(
          (snap.serviceInfo.get(s.name)?.servers() ?? []).map((x) => [x.url, x.healthy ? 'UP' : 'DOWN']),
        ),
      })),
    '/api/http/middlewares': () => withStatus(c.http?.middlewares, 'http'),
    '/api/tcp/routers': () => withStatus(c.tcp?.routers, 'tcp'),
    '/api/tcp/services': () => withStatus(c.tcp?.services, 'tcp'),
    '/api/tcp/middlewares': () => withStatus(c.tcp?.middlewares, 'tcp'),
    '/api/udp/routers': () => withStatus(c.udp?.routers, 'udp'),
    '/api/udp/services': () => withStatus(c.udp?.services, 'udp'),
    '/api/entrypoints': () => src.entrypoints(),
    '/api/version': () => ({
      Version: src.version,
      Codename: 'berth',
      startDate: new Date(src.startedAt).toISOString(),
    }),
  };
  if (path === '/api/rawdata') {
    const o: Record<string, unknown> = {};
    for (const k of ['routers', 'services', 'middlewares'] as const) {
      o[k] = Object.fromEntries(
        withStatus(c.http?.[k] as Record<string, object> | undefined, 'http').map((x) => [x.name, x]),
      );
      o[`tcp${k[0]!.toUpperCase()}${k.slice(1)}`] = Object.fromEntries(
        withStatus(c.tcp?.[k] as Record<string, object> | undefined, 'tcp').map((x) => [x.name, x]),
      );
    }
    o.udpRouters = Object.fromEntries(withStatus(c.udp?.routers, 'udp').map((x) => [x.name, x]));
    o.udpServices = Object.fromEntries(withStatus(c.udp?.services, 'udp').map((x) => [x.name, x]));
    return o;
  }
  if (path === '/api/overview') {
    const count = (kind: string): { total: number; warnings: number; errors: number } => {
      let total = 0,
        errors = 0,
        warnings = 0;
      for (const e of snap.elements.values())
        if (e.kind === kind) {
          total++;
          if (e.status === 'disabled') errors++;
          if (e.status === 'warning') warnings++;
        }
      return { total, warnings, errors };
    };
    return {
      http: { routers: count('http-router'), services: count('http-service'), middlewares: count('middleware') },
      tcp: { routers: count('tcp-router'), services: count('tcp-service') },
      udp: { routers: count('udp-router'), services: count('udp-service') },
      providers: [...src.providers().keys()],
    };
  }
  const f = lists[path];
  if (f) return f();
  // Single element: /api/http/routers/{name}
  const m = /^\/api\/(http|tcp|udp)\/(routers|services|middlewares)\/(.+)$/.exec(path);
  if (m) {
    const all = lists[`/api/${m[1]}/${m[2]}`]?.() as { name: string }[] | undefined;
    return all?.find((x) => x.name === decodeURIComponent(m[3]!));
  }
  return undefined;
}
