import type { RoutingSnapshot, CompiledHttpRouter } from '../pipeline/snapshot.ts';
import { normalizeHost } from '../rules/host.ts';
import type { HttpRequestView } from '../rules/types.ts';
import { canonicalPath, splitTarget } from '../http/request-target.ts';

/** The answer to "why do I get 404/502/504 for this URL?". */
export interface Explanation {
  readonly url: string;
  readonly host: string;
  readonly path: string;
  readonly scheme: 'http' | 'https';
  readonly entrypoints: readonly {
    readonly entrypoint: string;
    readonly matched: null | {
      readonly router: string;
      readonly rule: string;
      readonly priority: number;
      readonly tls: boolean;
      readonly middlewares: readonly string[];
      readonly service: string;
      readonly servers: readonly { url: string; healthy: boolean; weight: number }[];
      readonly verdict: string;
    };
    /** Routers considered for this host that did not match, highest priority first. */
    readonly candidates: readonly { router: string; rule: string; priority: number }[];
  }[];
  readonly problems: readonly string[];
  readonly certificate?: unknown;
  readonly verdict: string;
}

/** Explains how berth would route `rawUrl` with the given snapshot. */
export function explain(
  snap: RoutingSnapshot,
  rawUrl: string,
  method = 'GET',
  certificateFor?: (sni: string) => unknown,
): Explanation | { error: string } {
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(rawUrl.trim());
  if (!m) return { error: 'url must look like http://host/path or https://host/path' };
  const scheme = m[1]!.toLowerCase() as 'http' | 'https';
  const host = normalizeHost(m[2]!);
  const { path: rawPath, query } = splitTarget(m[3] || '/');
  const path = canonicalPath(rawPath || '/');
  if (path === null)
    return {
      error: `path ${rawPath} is refused by berth (400): a malformed escape, a backslash, a # or a parameter on a dot segment`,
    };
  const view: HttpRequestView = {
    host,
    path,
    method: method.toUpperCase(),
    headers: { host },
    query,
    clientIp: '127.0.0.1',
  };
  const out: Explanation['entrypoints'][number][] = [];
  const problems: string[] = [];
  for (const [ep, tables] of snap.http) {
    const table = scheme === 'https' ? tables.tls : tables.plain;
    const matched = table.find(view);
    const candidates = table.routers
      .filter((r) => r !== matched && (r.hosts === null ? false : r.hosts.includes(host)))
      .map((r) => ({ router: r.name, rule: r.rule, priority: r.priority }));
    out.push({ entrypoint: ep, matched: matched ? describe(snap, matched) : null, candidates });
  }
  for (const d of snap.diagnostics) {
    if (
      d.level === 'error' &&
      (d.message.includes(host) ||
        (d.element !== undefined && out.some((e) => e.candidates.some((c) => c.router === d.element))))
    ) {
      problems.push(`${d.element ?? d.source}: ${d.message}`);
    }
  }
  for (const [name, st] of snap.elements) {
    if (st.kind === 'http-router' && st.status === 'disabled') {
      const rule = (snap.config.http?.routers?.[name]?.rule ?? '').toLowerCase();
      if (rule.includes(host)) problems.push(`router ${name} is disabled: ${st.errors.join('; ')}`);
    }
  }
  const hits = out.filter((e) => e.matched);
  const verdict =
    hits.length === 0
      ? `no router matches ${scheme}://${host}${path} on any entrypoint: berth answers 404${problems.length ? ' (see problems)' : ''}`
      : hits.map((e) => `${e.entrypoint}: ${e.matched!.verdict}`).join('; ');
  const certificate = scheme === 'https' && certificateFor ? certificateFor(host) : undefined;
  return {
    url: rawUrl,
    host,
    path,
    scheme,
    entrypoints: out,
    problems: [...new Set(problems)],
    ...(certificate !== undefined ? { certificate } : {}),
    verdict,
  };
}

function describe(
  snap: RoutingSnapshot,
  r: CompiledHttpRouter,
): NonNullable<Explanation['entrypoints'][number]['matched']> {
  const info = snap.serviceInfo.get(r.service);
  const servers = info ? info.servers() : [];
  let verdict: string;
  if (r.service.endsWith('@internal')) verdict = `router ${r.name} → internal service ${r.service}`;
  else if (!info) verdict = `router ${r.name} → service ${r.service} is missing: 503`;
  else if (servers.length === 0) verdict = `router ${r.name} → service ${r.service} has no servers: 503`;
  else if (!info.available()) verdict = `router ${r.name} → service ${r.service}: every server is unhealthy: 503`;
  else
    verdict = `router ${r.name} → service ${r.service} (${servers.filter((s) => s.healthy).length}/${servers.length} servers healthy); 502 means the server refused or reset, 504 that it did not answer in time`;
  return {
    router: r.name,
    rule: r.rule,
    priority: r.priority,
    tls: r.tls,
    middlewares: r.middlewares,
    service: r.service,
    servers,
    verdict,
  };
}
