import type { HttpRouter } from '../config/dynamic/types.ts';
import { ruleSyntaxOf } from '../config/rule-syntax.ts';
import type { EntryPointConfig } from '../config/static/types.ts';
import type { Handler, RequestContext } from '../http/handler.ts';
import type { BuiltMiddleware } from '../http/middlewares/types.ts';
import type { ServiceInfo } from '../http/service-builder.ts';
import { defaultPriority, parseHttpRule } from '../rules/http-rule.ts';
import { buildRouterIndex } from '../rules/router-index.ts';
import type { HttpRule } from '../rules/types.ts';
import type { CompiledHttpRouter, HttpRouterTable } from './snapshot.ts';

/*
 * Compiling HTTP routers: rule, middleware chain, priority and entrypoints of each, and the
 * per-entrypoint lookup tables. Apart from the snapshot compiler so it reads as the order of the
 * build (transports, services, middlewares, routers, L4) without the details of each router.
 */

/** The entrypoints a router attaches to: its own list, else every TCP entrypoint (or the `asDefault` ones). */
export function routerEntrypoints(
  router: { entryPoints?: string[] },
  entrypoints: Record<string, EntryPointConfig>,
): string[] {
  if (router.entryPoints && router.entryPoints.length > 0) return router.entryPoints;
  const tcp = Object.entries(entrypoints).filter(([, e]) => e.protocol === 'tcp');
  const defaults = tcp.filter(([, e]) => e.asDefault);
  return (defaults.length > 0 ? defaults : tcp).map(([n]) => n);
}

/** `last` wrapped in the middleware chain, the first middleware outermost. */
export function wrapAll(chain: readonly BuiltMiddleware[], last: Handler): Handler {
  let h = last;
  for (let i = chain.length - 1; i >= 0; i--) h = chain[i]!.wrap(h);
  return h;
}

/**
 * One HTTP router: its rule parsed, its middleware chain expanded and wrapped around its service,
 * its priority and entrypoints settled; or why it cannot be built.
 */
export function compileRouter(
  name: string,
  router: HttpRouter,
  built: ReadonlyMap<string, { handler: Handler; info: ServiceInfo }>,
  expand: (n: string, seen: string[]) => BuiltMiddleware[] | string,
  eps: Record<string, EntryPointConfig>,
):
  | {
      router: Omit<CompiledHttpRouter, 'tls' | 'handler'>;
      handler: Handler;
      tls: boolean;
      entrypoints: string[];
      warnings: string[];
    }
  | { error: string } {
  if (typeof router.rule !== 'string' || router.rule.trim() === '') return { error: 'router has no rule' };
  const parsed = parseHttpRule(router.rule, ruleSyntaxOf(router.ruleSyntax));
  if (!parsed.ok) return { error: `invalid rule ${JSON.stringify(router.rule)}: ${parsed.error}` };
  const service = built.get(router.service);
  if (!service) return { error: `unknown service "${router.service}"` };
  const chain: BuiltMiddleware[] = [];
  for (const m of router.middlewares ?? []) {
    const r = expand(m, []);
    if (typeof r === 'string') return { error: r };
    chain.push(...r);
  }
  const serviceName = router.service;
  const svcHandler = service.handler;
  const inner = wrapAll(chain, svcHandler);
  const handler: Handler = (req, res, ctx: RequestContext) => {
    ctx.router = name;
    ctx.service = serviceName;
    inner(req, res, ctx);
  };
  // As Traefik: 0 (or unset) means the rule's own priority; any other value, negative included, is kept.
  const priority =
    router.priority !== undefined && router.priority !== 0 ? router.priority : defaultPriority(router.rule);
  const warnings: string[] = [];
  return {
    router: {
      name,
      rule: router.rule,
      priority,
      service: serviceName,
      middlewares: router.middlewares ?? [],
      match: parsed.rule.match,
      hosts: parsed.rule.hosts,
    },
    handler,
    tls: router.tls !== undefined,
    entrypoints: routerEntrypoints(router, eps),
    warnings,
  };
}

/** The lookup table of one entrypoint's routers (priority order, indexed by host). */
export function makeTable(routers: CompiledHttpRouter[]): HttpRouterTable {
  const items = routers.map((r) => ({
    name: r.name,
    priority: r.priority,
    rule: { match: r.match, hosts: r.hosts } as HttpRule,
    router: r,
  }));
  const index = buildRouterIndex(items);
  return {
    find: (req) => index.find(req)?.router,
    size: routers.length,
    routers: index.ordered.map((i) => i.router),
  };
}
