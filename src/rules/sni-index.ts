import { buildHostIndex, type HostIndex } from './host-index.ts';
import type { TcpConnectionView, TcpRule } from './types.ts';

/** A TCP router as the index needs it; `name` is qualified (`name@provider`). */
export interface IndexedTcpRouter {
  readonly name: string;
  readonly priority: number;
  readonly rule: TcpRule;
}

/**
 * Indexes TCP routers by literal SNI, as `buildRouterIndex` does by host. A connection without
 * TLS or SNI (`sni === ''`) can only reach routers without a literal HostSNI, such as HostSNI(`*`).
 * The caller checks `rule.catchAll` on the result where Traefik treats catch-all matches specially.
 */
export function buildSniIndex<T extends IndexedTcpRouter>(routers: readonly T[]): HostIndex<T, TcpConnectionView> {
  return buildHostIndex<T, TcpConnectionView>(
    routers,
    (r) => r.rule.hosts,
    (r) => r.rule.match,
    (conn) => conn.sni,
  );
}
