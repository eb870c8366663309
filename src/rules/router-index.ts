import { buildHostIndex, type HostIndex } from './host-index.ts';
import type { HttpRequestView, HttpRule } from './types.ts';

/** An HTTP router as the index needs it; `name` is qualified (`name@provider`). */
export interface IndexedHttpRouter {
  readonly name: string;
  readonly priority: number;
  readonly rule: HttpRule;
}

/**
 * Indexes HTTP routers by literal host for first-match routing in Traefik's order (priority
 * descending, then name). `find` costs one `Map.get` on `req.host` plus a scan of the routers that
 * can match that host, whatever the total number of routers.
 */
export function buildRouterIndex<T extends IndexedHttpRouter>(routers: readonly T[]): HostIndex<T, HttpRequestView> {
  return buildHostIndex<T, HttpRequestView>(
    routers,
    (r) => r.rule.hosts,
    (r) => r.rule.match,
    (req) => req.host,
  );
}
