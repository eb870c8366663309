import type { DynamicConfig, HttpService, ServersTransport } from '../config/dynamic/types.ts';
import type { EntryPointConfig, StaticConfig } from '../config/static/types.ts';
import { diagError, type Diagnostic } from '../lib/diagnostics.ts';
import type { Logger } from '../lib/logger.ts';
import type { Handler } from '../http/handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from '../http/middlewares/types.ts';
import { mirroringHandler } from '../http/mirroring.ts';
import {
  failoverHandler,
  loadBalancerHandler,
  weightedHandler,
  type ServiceInfo,
  type ServicePool,
} from '../http/service-builder.ts';
import type { ElementStatus } from '../model/element-status.ts';
import type { L4BuildResult } from '../tcp/build.ts';
import type { TcpEntrypointRouting } from '../tcp/routing.ts';
import { buildTlsPolicy } from '../tls/policy.ts';
import type { UdpEntrypointRouting } from '../udp/routing.ts';
import type { CompiledHttpRouter, HttpRouterTable, RoutingSnapshot } from './snapshot.ts';
import { edgeEntryPoint } from '../config/static/generated-entrypoints.ts';
import { compileRouter, makeTable, wrapAll } from './compile-router.ts';
import { withDefaultRuleSyntax } from '../rules/rule-syntax.ts';
import { redirectRouter } from './entrypoint-redirect.ts';
import { resolveOnDemand } from './on-demand.ts';
import { providerOf, qualify } from '../model/qualified-name.ts';

/** One L4 builder (`buildTcpRouting`, `buildUdpRouting`) with its environment (certificate store, port allocator) bound. */
export type L4Builder<R> = (config: DynamicConfig, entrypoints: Record<string, EntryPointConfig>) => L4BuildResult<R>;

/**
 * The L4 builders the compiler calls (src/tcp, src/udp), bound by the process that owns their
 * environment; without one, the snapshot has no routing of that kind.
 */
export interface L4Builders {
  tcp?: L4Builder<TcpEntrypointRouting>;
  udp?: L4Builder<UdpEntrypointRouting>;
}

/** What the compiler needs besides the configuration. */
export interface CompileEnv {
  readonly staticConfig: StaticConfig;
  readonly pool: ServicePool;
  readonly middlewares: Readonly<Record<string, MiddlewareFactory>>;
  /** `api@internal`, `ping@internal`, `prometheus@internal`, `dashboard@internal`, `noop@internal`. */
  readonly internalServices: ReadonlyMap<string, Handler>;
  readonly l4?: L4Builders;
  readonly logger: Logger;
  readonly tmpDir: string;
  /**
   * false: no entrypoint of this process serves HTTP (the control plane beside workers), so the
   * router tables are built on first use only (`/explain`); every router is still checked.
   */
  readonly servesHttp?: boolean;
}

type HttpTables = Map<string, { plain: HttpRouterTable; tls: HttpRouterTable }>;

/**
 * Compiles a merged configuration into an immutable snapshot. Every broken element is dropped
 * alone with a diagnostic and a disabled status; everything else is built. Never throws on input.
 */
export function compileSnapshot(
  config: DynamicConfig,
  version: number,
  providerDiagnostics: readonly Diagnostic[],
  env: CompileEnv,
): RoutingSnapshot {
  const diagnostics: Diagnostic[] = [...providerDiagnostics];
  const elements = new Map<string, ElementStatus>();
  const eps = env.staticConfig.entryPoints;
  const fail = (kind: ElementStatus['kind'], name: string, message: string): void => {
    const prev = elements.get(name);
    elements.set(name, { name, kind, status: 'disabled', errors: [...(prev?.errors ?? []), message] });
    diagnostics.push(diagError(`provider ${providerOf(name)}`, name, message));
  };
  const ok = (kind: ElementStatus['kind'], name: string): void => {
    if (!elements.has(name)) elements.set(name, { name, kind, status: 'enabled', errors: [] });
  };

  // ---- services
  const built = new Map<string, { handler: Handler; info: ServiceInfo }>();
  const svcDefs = config.http?.services ?? {};
  const resolve = (n: string): { handler: Handler; info: ServiceInfo } | undefined => built.get(n);
  for (const [name, svc] of Object.entries(svcDefs)) {
    const r = buildService(name, svc, config.http?.serversTransports ?? {}, env, resolve);
    if ('error' in r) fail('http-service', name, r.error);
    else {
      built.set(name, r);
      ok('http-service', name);
    }
  }
  for (const [name, handler] of env.internalServices) {
    built.set(name, { handler, info: { name, type: 'internal', servers: () => [], available: () => true } });
  }
  env.pool.retain(new Set(Object.keys(svcDefs)));
  // Weighted/failover children must exist.
  for (const [name, svc] of Object.entries(svcDefs)) {
    const refs =
      svc.weighted?.services?.map((s) => s.name) ?? (svc.failover ? [svc.failover.service, svc.failover.fallback] : []);
    const missing = refs.filter((r) => !built.has(r));
    if (missing.length > 0 && built.has(name)) {
      built.delete(name);
      fail('http-service', name, `unknown service ${missing.map((m) => `"${m}"`).join(', ')}`);
    }
  }

  // ---- middlewares
  const mwDefs = config.http?.middlewares ?? {};
  const mwBuilt = new Map<string, BuiltMiddleware>();
  const mwError = new Map<string, string>();
  for (const [name, def] of Object.entries(mwDefs)) {
    const types = Object.keys(def);
    if (types.length !== 1) {
      mwError.set(name, `a middleware needs exactly one type, got ${types.length === 0 ? 'none' : types.join(', ')}`);
      continue;
    }
    const type = types[0]!;
    if (type === 'chain') continue;
    const factory = env.middlewares[type];
    if (!factory) {
      mwError.set(name, `unknown middleware type "${type}"`);
      continue;
    }
    try {
      const r = factory(def[type] ?? {}, {
        name,
        logger: env.logger,
        service: (n) => built.get(qualify(n, providerOf(name)))?.handler,
        tmpDir: env.tmpDir,
      });
      if ('error' in r) mwError.set(name, r.error);
      else mwBuilt.set(name, r);
    } catch (err) {
      mwError.set(name, `cannot build: ${(err as Error).message}`);
    }
  }
  for (const [name, msg] of mwError) fail('middleware', name, msg);
  /** Expands a middleware reference (chains recursively) into built middlewares, or an error. */
  const expand = (name: string, seen: string[]): BuiltMiddleware[] | string => {
    if (seen.includes(name)) return `middleware loop: ${[...seen, name].join(' → ')}`;
    const def = mwDefs[name];
    if (!def) return `unknown middleware "${name}"`;
    if (mwError.has(name)) return `middleware "${name}" is invalid: ${mwError.get(name)}`;
    const chain = def.chain as { middlewares?: unknown } | undefined;
    if (chain) {
      if (!Array.isArray(chain.middlewares)) return `chain "${name}" needs a middlewares list`;
      const out: BuiltMiddleware[] = [];
      for (const child of chain.middlewares) {
        const r = expand(String(child), [...seen, name]);
        if (typeof r === 'string') return r;
        out.push(...r);
      }
      return out;
    }
    const m = mwBuilt.get(name);
    return m ? [m] : `middleware "${name}" is not available`;
  };
  for (const name of Object.keys(mwDefs))
    if (!mwError.has(name)) {
      const r = expand(name, []);
      if (typeof r === 'string') fail('middleware', name, r);
      else ok('middleware', name);
    }

  // ---- `:PORT` entrypoints (RPROXY): the entrypoint on that port, or one opened on demand
  const onDemand = resolveOnDemand(config, env.staticConfig);
  for (const r of onDemand.refused) fail(r.kind, r.name, r.message);
  // Routers without their own ruleSyntax take core.defaultRuleSyntax, for HTTP and L4 alike.
  const routed = withDefaultRuleSyntax(onDemand.config, env.staticConfig.core?.defaultRuleSyntax);
  const allEps: Record<string, EntryPointConfig> = { ...eps, ...onDemand.extra };

  // ---- HTTP routers. A plane that does not serve HTTP (the control plane beside workers)
  // checks them and builds its tables again only when asked (`/explain`): 10,000 routers' tables
  // cost it ~7 MB of heap otherwise.
  const buildTables = (report: boolean): HttpTables => {
    const tables = new Map<string, { plain: CompiledHttpRouter[]; tls: CompiledHttpRouter[] }>();
    for (const [epName, ep] of Object.entries(allEps))
      if (ep.protocol === 'tcp') tables.set(epName, { plain: [], tls: [] });
    for (const [name, router] of Object.entries(routed.http?.routers ?? {})) {
      const r = compileRouter(name, router, built, expand, eps);
      if ('error' in r) {
        if (report) fail('http-router', name, r.error);
        continue;
      }
      if (report) {
        ok('http-router', name);
        for (const w of r.warnings)
          diagnostics.push({ level: 'warning', source: `provider ${providerOf(name)}`, element: name, message: w });
      }
      for (const epName of r.entrypoints) {
        const t = tables.get(epName);
        if (!t) {
          if (report)
            diagnostics.push({
              level: 'warning',
              source: `provider ${providerOf(name)}`,
              element: name,
              message: `entrypoint "${epName}" does not exist`,
            });
          continue;
        }
        const tls = r.tls || allEps[epName]?.http?.tls !== undefined;
        // Entrypoint-level middlewares run before the router's own, as in Traefik.
        const epMw = (allEps[epName]?.http?.middlewares ?? []).map((m) => qualify(m, 'file'));
        let handler = r.handler;
        if (epMw.length > 0) {
          const chain: BuiltMiddleware[] = [];
          let bad: string | undefined;
          for (const m of epMw) {
            const x = expand(m, []);
            if (typeof x === 'string') {
              bad = x;
              break;
            }
            chain.push(...x);
          }
          if (bad) {
            if (report) fail('http-router', name, `entrypoint ${epName}: ${bad}`);
            continue;
          }
          handler = wrapAll(chain, handler);
        }
        (tls ? t.tls : t.plain).push({
          ...r.router,
          middlewares: epMw.length > 0 ? [...epMw, ...r.router.middlewares] : r.router.middlewares,
          tls,
          handler,
        });
      }
    }
    // ---- entrypoint redirections (Traefik's generated `web-to-websecure@internal` routers)
    const http: HttpTables = new Map();
    for (const [epName, ep] of Object.entries(eps)) {
      const redirect = tables.has(epName) ? redirectRouter(epName, ep, eps, () => http, wantsTls) : undefined;
      if (redirect) tables.get(epName)!.plain.push(redirect);
    }
    for (const [epName, t] of tables) http.set(epName, { plain: makeTable(t.plain), tls: makeTable(t.tls) });
    return http;
  };
  const wantsTls = new Set(
    Object.entries(config.http?.routers ?? {})
      .filter(([, r]) => r.tls !== undefined)
      .map(([n]) => n),
  );
  const checked = buildTables(true);

  // ---- TLS options per SNI and per HTTPS router
  const tlsRouters = [...checked.values()].flatMap((t) =>
    t.tls.routers.map((r) => ({ name: r.name, hosts: r.hosts, options: config.http?.routers?.[r.name]?.tls?.options })),
  );
  const tlsPolicy = buildTlsPolicy(tlsRouters, config.tls?.options ?? {});
  diagnostics.push(...tlsPolicy.diagnostics);

  // ---- L4
  const extraEntrypoints: Record<string, EntryPointConfig> = { ...onDemand.extra };
  const l4 = <R>(which: 'tcp' | 'udp', builder: L4Builder<R> | undefined): Map<string, R> => {
    const routing = new Map<string, R>();
    if (!builder) return routing;
    try {
      const r = builder(routed, allEps);
      for (const [k, v] of r.routing) routing.set(k, v);
      diagnostics.push(...r.diagnostics);
      for (const e of r.elements) elements.set(e.name, e);
      // Dynamic ports listen where the generated entrypoints do, shaped like them.
      for (const [n, e] of Object.entries(r.extraEntrypoints))
        extraEntrypoints[n] ??= edgeEntryPoint(env.staticConfig.edge, e.port, e.protocol);
    } catch (err) {
      diagnostics.push(diagError('compiler', which, `cannot build ${which} routing: ${(err as Error).message}`));
    }
    return routing;
  };
  const tcp = l4('tcp', env.l4?.tcp);
  const udp = l4('udp', env.l4?.udp);

  const services = new Map<string, Handler>();
  for (const [n, s] of built) services.set(n, s.handler);
  const serviceInfo = new Map<string, ServiceInfo>();
  for (const [n, s] of built) serviceInfo.set(n, s.info);
  const close = (): void => {
    for (const m of mwBuilt.values()) {
      try {
        m.close?.();
      } catch {
        /* a middleware's cleanup must not break the pipeline */
      }
    }
  };
  let http: HttpTables | undefined = env.servesHttp === false ? undefined : checked;
  return {
    version,
    createdAt: Date.now(),
    config,
    diagnostics,
    elements,
    get http() {
      http ??= buildTables(false);
      return http;
    },
    tcp,
    udp,
    tlsPolicy: tlsPolicy.policy,
    services,
    serviceInfo,
    extraEntrypoints,
    close,
  };
}

function buildService(
  name: string,
  svc: HttpService,
  transports: Readonly<Record<string, ServersTransport>>,
  env: CompileEnv,
  resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined,
): { handler: Handler; info: ServiceInfo } | { error: string } {
  const kinds = (['loadBalancer', 'weighted', 'mirroring', 'failover'] as const).filter((k) => svc[k] !== undefined);
  if (kinds.length !== 1)
    return {
      error:
        kinds.length === 0
          ? 'a service needs one of loadBalancer, weighted, mirroring, failover'
          : `a service can only have one type, got ${kinds.join(', ')}`,
    };
  if (svc.loadBalancer) {
    const tName = svc.loadBalancer.serversTransport;
    const tDef = tName ? transports[tName] : undefined;
    if (tName && !tDef) return { error: `unknown serversTransport "${tName}"` };
    const transport = env.pool.transport(tName, tDef);
    if ('error' in transport) return transport;
    const { lb, errors } = env.pool.balancer(name, svc, (server, healthy) =>
      env.logger.info({ service: name, server, healthy }, 'health changed'),
    );
    if (errors.length > 0 && lb.servers.length === 0) return { error: errors.join('; ') };
    if (lb.servers.length === 0 && !(env.staticConfig.providers.docker?.allowEmptyServices ?? false)) {
      // Traefik answers 503 for a service without servers; keep it, routers using it answer 503.
    }
    return loadBalancerHandler(name, lb, transport, svc.loadBalancer.passHostHeader ?? true);
  }
  if (svc.weighted)
    return weightedHandler(
      name,
      (svc.weighted.services ?? []).map((s) => ({ name: s.name, weight: s.weight ?? 1 })),
      resolve,
    );
  if (svc.failover) return failoverHandler(name, svc.failover.service, svc.failover.fallback, resolve);
  const m = svc.mirroring!;
  return mirroringHandler(
    name,
    m.service,
    (m.mirrors ?? []).map((x) => ({ name: x.name, percent: x.percent ?? 0 })),
    m.mirrorBody ?? true,
    m.maxBodySize ?? -1,
    resolve,
  );
}
