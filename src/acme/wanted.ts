import type { DynamicConfig, TlsDomain } from '../config/dynamic/types.ts';
import type { CertResolverConfig, EntryPointConfig } from '../config/static/types.ts';
import { normalizeName } from '../tls/certificate-info.ts';

/** ACME challenge a resolver uses. */
export type ChallengeType = 'dns-01' | 'http-01' | 'tls-alpn-01';

/** One certificate some router needs from a resolver. */
export interface WantedCertificate {
  resolver: string;
  /** First name of the certificate (CN), then the SANs. */
  main: string;
  sans: string[];
  /**
   * Names that must be covered for this want to be satisfied. For a derived wildcard this is only
   * the host itself: a host already covered by any valid certificate never causes an order.
   */
  mustCover: string[];
  /** Routers asking for it (`name@provider`), for status and logs. */
  routers: string[];
}

/** Which challenge a resolver is configured for (DNS-01 wins, as in Traefik's precedence). */
export function challengeOf(resolver: CertResolverConfig): ChallengeType | undefined {
  if (resolver.acme.dnsChallenge) return 'dns-01';
  if (resolver.acme.httpChallenge) return 'http-01';
  if (resolver.acme.tlsChallenge) return 'tls-alpn-01';
  return undefined;
}

/** Hosts named by `Host(...)` / `HostSNI(...)` in a rule (`HostRegexp` and `*` are skipped). */
export function hostsFromRule(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/\bHost(?:SNI)?\s*\(([^)]*)\)/gi)) {
    for (const a of (m[1] ?? '').matchAll(/[`"']([^`"']*)[`"']/g)) {
      const h = normalizeName((a[1] ?? '').trim());
      if (h && h !== '*' && /^[a-z0-9*_.-]+$/.test(h)) out.push(h);
    }
  }
  return out;
}

/**
 * The certificates routers want (SPEC §6): `tls.domains` when given, else per host a certificate
 * for the host plus its one-label wildcard `*.parent` with DNS-01, the exact host with HTTP-01 and
 * TLS-ALPN-01. The entrypoint's `http.tls` applies to routers on it without their own `tls`, and
 * its `domains` are wanted too. Unknown resolvers are skipped (the caller reports them).
 */
export function wantedCertificates(
  config: DynamicConfig,
  entryPoints: Record<string, EntryPointConfig>,
  resolvers: Record<string, CertResolverConfig>,
): WantedCertificate[] {
  const byKey = new Map<string, WantedCertificate>();
  const add = (resolver: string, main: string, sans: string[], mustCover: string[], router: string) => {
    const names = [main, ...sans.filter((s) => s !== main)];
    const key = `${resolver}|${[...names].sort().join(',')}`;
    const existing = byKey.get(key);
    if (existing) {
      if (!existing.routers.includes(router)) existing.routers.push(router);
      return;
    }
    byKey.set(key, { resolver, main, sans: names.slice(1), mustCover, routers: [router] });
  };
  const fromDomains = (resolver: string, domains: TlsDomain[], router: string) => {
    for (const d of domains) {
      const main = normalizeName(d.main);
      const sans = (d.sans ?? []).map(normalizeName);
      if (main) add(resolver, main, sans, [main, ...sans], router);
    }
  };
  const consider = (
    name: string,
    rule: string,
    routerEps: string[] | undefined,
    tls: { certResolver?: string; domains?: TlsDomain[] } | undefined,
  ) => {
    let effective = tls;
    if (!effective) {
      const eps = routerEps ?? Object.keys(entryPoints);
      effective = eps.map((e) => entryPoints[e]?.http?.tls).find((t) => t?.certResolver);
      if (!effective) return;
    }
    const resolverName = effective.certResolver;
    if (!resolverName) return;
    const resolver = resolvers[resolverName];
    if (!resolver) return;
    if (effective.domains?.length) {
      fromDomains(resolverName, effective.domains, name);
      return;
    }
    const challenge = challengeOf(resolver);
    for (const host of hostsFromRule(rule)) {
      if (host.startsWith('*.')) {
        if (challenge === 'dns-01') add(resolverName, host, [], [host], name);
        continue;
      }
      const parent = host.slice(host.indexOf('.') + 1);
      if (challenge === 'dns-01' && host.includes('.') && parent.includes('.'))
        add(resolverName, host, [`*.${parent}`], [host], name);
      else add(resolverName, host, [], [host], name);
    }
  };

  for (const [name, r] of Object.entries(config.http?.routers ?? {})) consider(name, r.rule, r.entryPoints, r.tls);
  for (const [name, r] of Object.entries(config.tcp?.routers ?? {})) {
    if (r.tls && !r.tls.passthrough) consider(name, r.rule, r.entryPoints, r.tls);
  }
  for (const [epName, ep] of Object.entries(entryPoints)) {
    const t = ep.http?.tls;
    if (t?.certResolver && t.domains?.length && resolvers[t.certResolver])
      fromDomains(t.certResolver, t.domains, `entryPoint ${epName}`);
  }
  return [...byKey.values()];
}
