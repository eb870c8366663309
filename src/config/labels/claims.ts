/**
 * Claims: what a container's elements take for their repository alone. A claim key is a host
 * (`host app.example.com`), a whole raw entrypoint for catch-all TCP/UDP routers
 * (`tcp-catchall tcp-5432`, `udp-catchall udp-53`) or an element name (`name http.services.web`).
 * Keys are plain strings so the Docker provider can keep them in its claim ledger.
 */
import { repositoryOf } from './auto-routes.ts';
import { sectionNoun, type Element, type Section } from './element.ts';
import type { ClaimOwner } from './claim-outcome.ts';
import type { ContainerView } from './types.ts';

/** `c` as a claim owner; `since` is left out when unknown (NaN included). */
export function claimOwnerOf(c: ContainerView, since?: number): ClaimOwner {
  const repository = repositoryOf(c);
  return {
    daemon: c.daemon,
    container: c.name,
    containerId: c.id,
    ...(repository !== undefined ? { repository } : {}),
    ...(c.created !== undefined ? { created: c.created } : {}),
    ...(since !== undefined && !Number.isNaN(since) ? { since } : {}),
  };
}

/** What the merge is told about claims held before it runs. */
export interface ClaimContext {
  /** Keys already owned (the ledger): other daemons' claims on them are refused. */
  readonly reserved: ReadonlyMap<string, ClaimOwner>;
  /** The time stamped on claims granted by this merge (epoch ms). */
  readonly now: number;
  /**
   * Daemons that have not answered yet (berth is starting, or a new socket appeared): their
   * containers may be older claimants, so keys not in `reserved` are granted to nobody meanwhile.
   */
  readonly waitingFor?: readonly string[];
}

const QUOTED = /`([^`]*)`|"((?:[^"\\]|\\.)*)"/g;

/**
 * Literal host names in `Host(...)` (HTTP; v2's `HostHeader(...)` too, and every argument of v2's
 * lists) or `HostSNI(...)` (TCP) matchers of a rule, lower-cased.
 */
export function ruleHosts(rule: string, matcher: 'Host' | 'HostSNI'): string[] {
  const hosts: string[] = [];
  const names = matcher === 'Host' ? '(?:Host|HostHeader)' : matcher;
  const re = new RegExp(`(?<![A-Za-z])${names}\\s*\\(([^)]*)\\)`, 'g');
  for (const m of rule.matchAll(re)) {
    for (const q of (m[1] ?? '').matchAll(QUOTED)) {
      const h = (q[1] ?? q[2] ?? '').trim().toLowerCase().replace(/\.$/, '');
      if (h !== '') hosts.push(h);
    }
  }
  return hosts;
}

/** Pseudo-entrypoints on which each router gets a port of its own: nothing shared to claim there. */
const OWN_PORT = new Set(['tcp-dynamic', 'udp-dynamic']);

/** The traffic keys a router claims: hosts, or whole entrypoints for catch-all TCP and UDP routers. */
export function trafficClaimsOf(e: Element): string[] {
  const v = e.value;
  // `:6667` (RPROXY) is the entrypoint on that port, `tcp-6667` by convention: one key for both.
  const eps = Array.isArray(v['entryPoints'])
    ? (v['entryPoints'] as string[])
        .filter((ep) => !OWN_PORT.has(ep))
        .map((ep) => (/^:\d+$/.test(ep) ? `tcp-${ep.slice(1)}` : ep))
    : ['(all entrypoints)'];
  if (e.section === 'http.routers') return ruleHosts(String(v['rule'] ?? ''), 'Host').map((h) => `host ${h}`);
  if (e.section === 'tcp.routers') {
    const hosts = ruleHosts(String(v['rule'] ?? ''), 'HostSNI');
    const named = hosts.filter((h) => h !== '*').map((h) => `host ${h}`);
    return hosts.includes('*') ? [...named, ...eps.map((ep) => `tcp-catchall ${ep}`)] : named;
  }
  if (e.section === 'udp.routers') return eps.map((ep) => `udp-catchall ${ep}`);
  return [];
}

/** The name key of an element: `name http.services.web`. */
export function nameClaim(section: Section, name: string): string {
  return `name ${section}.${name}`;
}

/** A key in words: `host app.example.com`, `every TCP connection on entrypoint tcp-5432`, `service "web"`. */
export function describeClaim(key: string): string {
  const sp = key.indexOf(' ');
  const kind = key.slice(0, sp);
  const rest = key.slice(sp + 1);
  if (kind === 'tcp-catchall') return `every TCP connection on entrypoint ${rest}`;
  if (kind === 'udp-catchall') return `every UDP datagram on entrypoint ${rest}`;
  if (kind === 'name') {
    const dot = rest.indexOf('.', rest.indexOf('.') + 1);
    return `${sectionNoun(rest.slice(0, dot) as Section)} "${rest.slice(dot + 1)}"`;
  }
  return key;
}

/** `container "web" (daemon docker-1, repository shop, claimed since 2026-…Z)`, for refusals. */
export function describeOwner(o: ClaimOwner): string {
  const parts = [`daemon ${o.daemon}`];
  if (o.repository !== undefined) parts.push(`repository ${o.repository}`);
  if (o.since !== undefined) parts.push(`claimed since ${new Date(o.since).toISOString()}`);
  return `container "${o.container}" (${parts.join(', ')})`;
}
