import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { RuleSyntax } from '../config/rule-syntax.ts';

/**
 * The configuration with `ruleSyntax` filled in on the HTTP and TCP routers that do not set it, as
 * Traefik applies `core.defaultRuleSyntax` (through its entrypoint models) before building routers.
 * Unchanged (the same object) when the default is v3, which is what an unset `ruleSyntax` means anyway.
 */
export function withDefaultRuleSyntax(config: DynamicConfig, syntax: RuleSyntax | undefined): DynamicConfig {
  if (syntax === undefined || syntax === 'v3') return config;
  const fill = <R extends { ruleSyntax?: string }>(routers: Record<string, R> | undefined) => {
    if (routers === undefined) return undefined;
    const out: Record<string, R> = {};
    for (const [name, r] of Object.entries(routers))
      out[name] = r.ruleSyntax === undefined ? { ...r, ruleSyntax: syntax } : r;
    return out;
  };
  const httpRouters = fill(config.http?.routers);
  const tcpRouters = fill(config.tcp?.routers);
  return {
    ...config,
    ...(config.http && httpRouters ? { http: { ...config.http, routers: httpRouters } } : {}),
    ...(config.tcp && tcpRouters ? { tcp: { ...config.tcp, routers: tcpRouters } } : {}),
  };
}
