import type { EntryPointConfig } from '../config/static/types.ts';
import type { Handler } from '../http/handler.ts';
import { entrypointRedirect } from '../http/redirect.ts';
import { splitTarget } from '../http/request-target.ts';
import { sendStatus } from '../http/responses.ts';
import { parseHttpRule } from '../rules/http-rule.ts';
import type { HttpRequestView } from '../rules/types.ts';
import type { CompiledHttpRouter, HttpRouterTable } from './snapshot.ts';

const REDIRECT_PRIORITY = 2147483646;
const ANY_HOST = 'HostRegexp(`^.+$`)';

/** The routing tables of the snapshot being built, read when a request needs them (they are built after this router). */
export type TablesOf = () => ReadonlyMap<string, { readonly plain: HttpRouterTable; readonly tls: HttpRouterTable }>;

/**
 * The router Traefik generates for `http.redirections.entryPoint` (`web-to-websecure@internal`): on
 * the plain side of the entrypoint, above every other router, it sends requests to the target
 * entrypoint's scheme and port. berth refines it twice:
 * - a request whose trusted `X-Forwarded-Proto` already is the target's scheme (a tunnel or CDN in
 *   front terminated TLS) is served as the target entrypoint serves it, never redirected in a loop;
 * - on the entrypoints berth generates (`web`), only a request that a router of the target asked to
 *   serve over TLS (its own `tls`, or the target's certificate resolver) is redirected; the others
 *   reach the plain routers, so HTTP for a host without a TLS router — an RPROXY route on port 80 —
 *   is served instead of being sent to a certificate that does not exist.
 *
 * `wantsTls` holds the qualified names of the routers that declare `tls`. Undefined when the
 * entrypoint does not redirect or its target does not exist (already reported by the static checks).
 */
export function redirectRouter(
  epName: string,
  ep: EntryPointConfig,
  eps: Readonly<Record<string, EntryPointConfig>>,
  tables: TablesOf,
  wantsTls: ReadonlySet<string>,
): CompiledHttpRouter | undefined {
  const to = ep.http?.redirections?.entryPoint;
  if (!to) return undefined;
  const target = eps[to.to];
  const rule = parseHttpRule(ANY_HOST);
  if (!target || !rule.ok) return undefined;
  const anyHost = rule.rule.match;
  const serveAsTarget: Handler = (req, res, ctx) => {
    const t = tables().get(to.to);
    const view = requestView(req.url, req.method, req.headers.toObject(), ctx.host, ctx.path, ctx.clientIp);
    const router = t?.tls.find(view) ?? t?.plain.find(view);
    if (router) router.handler(req, res, ctx);
    else sendStatus(res, 404);
  };
  let match = anyHost;
  if (ep.generated === true) {
    const resolverOnTarget = target.http?.tls?.certResolver !== undefined;
    match = (req: HttpRequestView): boolean => {
      const r = tables().get(to.to)?.tls.find(req);
      return r !== undefined && (resolverOnTarget || wantsTls.has(r.name));
    };
  }
  return {
    name: `${epName}-to-${to.to}@internal`,
    rule: ANY_HOST,
    priority: to.priority ?? REDIRECT_PRIORITY,
    service: 'noop@internal',
    middlewares: [],
    tls: false,
    match,
    hosts: null,
    handler: entrypointRedirect(to.scheme ?? 'https', target.port, to.permanent ?? true, serveAsTarget),
  };
}

function requestView(
  url: string,
  method: string,
  headers: HttpRequestView['headers'],
  host: string,
  path: string,
  clientIp: string,
): HttpRequestView {
  return { host, path, method, headers, query: splitTarget(url).query, clientIp };
}
