/**
 * Merging the contributions of all containers of all daemons, in claim order (Traefik's
 * `provider.Merge`, plus berth's cross-daemon rules):
 * - a router whose host (or raw TCP/UDP entrypoint) is already served by another daemon is dropped:
 *   one repository can never take another's traffic;
 * - an element name defined first on one daemon belongs to it; other daemons' definitions are dropped;
 * - within a daemon, equal definitions merge (services gather their servers: replicas are
 *   load-balanced), different definitions of one name drop every definition, as in Traefik.
 */
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';
import type { DynamicConfig } from '../dynamic/types.ts';
import { sectionNoun, type Element, type Section } from './element.ts';
import type { ContainerView } from './types.ts';
import { hostileReason } from './values.ts';

/** One container's elements, tagged with where they came from. */
export interface SourcedContribution {
  readonly container: ContainerView;
  readonly source: string;
  readonly elements: readonly Element[];
}

/** JSON with sorted keys, for comparing definitions. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

/** A deep copy with object keys sorted (arrays keep their order). */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

const QUOTED = /`([^`]*)`|"((?:[^"\\]|\\.)*)"/g;

/** Literal host names in `Host(...)` (HTTP) or `HostSNI(...)` (TCP) matchers of a rule, lower-cased. */
export function ruleHosts(rule: string, matcher: 'Host' | 'HostSNI'): string[] {
  const hosts: string[] = [];
  const re = new RegExp(`(?<![A-Za-z])${matcher}\\s*\\(([^)]*)\\)`, 'g');
  for (const m of rule.matchAll(re)) {
    for (const q of (m[1] ?? '').matchAll(QUOTED)) {
      const h = (q[1] ?? q[2] ?? '').trim().toLowerCase().replace(/\.$/, '');
      if (h !== '') hosts.push(h);
    }
  }
  return hosts;
}

/** What a router claims: hosts, or whole entrypoints for catch-all TCP and UDP routers. */
function claimsOf(e: Element): string[] {
  const v = e.value;
  const eps = Array.isArray(v['entryPoints']) ? (v['entryPoints'] as string[]) : ['(all entrypoints)'];
  if (e.section === 'http.routers') return ruleHosts(String(v['rule'] ?? ''), 'Host').map((h) => `host ${h}`);
  if (e.section === 'tcp.routers') {
    const hosts = ruleHosts(String(v['rule'] ?? ''), 'HostSNI');
    const named = hosts.filter((h) => h !== '*').map((h) => `host ${h}`);
    return hosts.includes('*') ? [...named, ...eps.map((ep) => `every TCP connection on entrypoint ${ep}`)] : named;
  }
  if (e.section === 'udp.routers') return eps.map((ep) => `every UDP datagram on entrypoint ${ep}`);
  return [];
}

/** Router checks that do not depend on other containers: hostile rules, ACME challenge paths. */
function vetRouter(e: Element): string | undefined {
  if (!e.section.endsWith('.routers')) return undefined;
  const rule = e.value['rule'];
  if (typeof rule !== 'string') return undefined;
  const problem = hostileReason(rule);
  if (problem !== undefined) return `rule ${problem}; router rejected`;
  if (e.section === 'http.routers' && rule.toLowerCase().includes('/.well-known/acme-challenge')) {
    return 'rule claims /.well-known/acme-challenge/, which berth keeps for ACME HTTP-01 validation; router rejected';
  }
  return undefined;
}

interface Slot {
  value: Record<string, unknown>;
  readonly daemon: string;
  readonly containers: string[];
  readonly source: string;
  readonly compare: string;
  conflict: boolean;
}

function withoutServers(section: Section, v: Record<string, unknown>): string {
  if (!section.endsWith('.services')) return canonicalJson(v);
  const lb = v['loadBalancer'];
  if (typeof lb !== 'object' || lb === null) return canonicalJson(v);
  const { servers: _servers, ...rest } = lb as Record<string, unknown>;
  return canonicalJson({ ...v, loadBalancer: rest });
}

/** Merges contributions in order into one dynamic configuration; problems go to `diagnostics`. */
export function mergeContributions(contributions: readonly SourcedContribution[], diagnostics: Diagnostic[]): DynamicConfig {
  const claims = new Map<string, { daemon: string; container: string }>();
  const slots = new Map<string, Slot>();
  const order: string[] = [];

  for (const contrib of contributions) {
    const { container: c, source } = contrib;
    for (const e of contrib.elements) {
      const element = `${e.section}.${e.name}`;
      const vet = vetRouter(e);
      if (vet !== undefined) {
        diagnostics.push(diagError(source, element, vet));
        continue;
      }
      const wanted = claimsOf(e);
      const taken = wanted.map((k) => ({ k, owner: claims.get(k) })).find((x) => x.owner !== undefined && x.owner.daemon !== c.daemon);
      if (taken?.owner) {
        diagnostics.push(diagError(source, element, `${taken.k} is already served by container "${taken.owner.container}" on daemon ${taken.owner.daemon}; one repository cannot take another's traffic, so this ${sectionNoun(e.section)} is dropped`));
        continue;
      }
      for (const k of wanted) if (!claims.has(k)) claims.set(k, { daemon: c.daemon, container: c.name });

      const key = `${e.section}\u0000${e.name}`;
      const slot = slots.get(key);
      if (slot === undefined) {
        slots.set(key, { value: structuredClone(e.value), daemon: c.daemon, containers: [c.name], source, compare: withoutServers(e.section, e.value), conflict: false });
        order.push(key);
        continue;
      }
      if (slot.daemon !== c.daemon) {
        diagnostics.push(diagError(source, element, `${sectionNoun(e.section)} "${e.name}" is already defined by container "${slot.containers[0]}" on daemon ${slot.daemon}; names belong to the repository that defined them first, rename this one`));
        continue;
      }
      if (!slot.containers.includes(c.name)) slot.containers.push(c.name);
      if (slot.compare !== withoutServers(e.section, e.value)) {
        slot.conflict = true;
        continue;
      }
      if (e.section.endsWith('.services')) mergeServers(slot.value, e.value);
    }
  }

  const config: Record<string, Record<string, Record<string, unknown>>> = {};
  for (const key of order) {
    const slot = slots.get(key);
    if (slot === undefined) continue;
    const [section, name] = key.split('\u0000') as [Section, string];
    if (slot.conflict) {
      diagnostics.push(diagError(slot.source, `${section}.${name}`, `${sectionNoun(section)} defined multiple times with different configurations by containers ${slot.containers.map((n) => `"${n}"`).join(', ')} on daemon ${slot.daemon}; all definitions dropped`));
      continue;
    }
    const foreign = section.endsWith('.routers') ? foreignService(section, slot, slots) : undefined;
    if (foreign !== undefined) {
      diagnostics.push(diagError(slot.source, `${section}.${name}`, `service "${foreign.name}" belongs to container "${foreign.container}" on daemon ${foreign.daemon}; a router cannot send one repository's traffic to another's service, so it is dropped`));
      continue;
    }
    const [proto, kind] = section.split('.') as [string, string];
    const p = (config[proto] ??= {});
    const k = (p[kind] ??= {});
    k[name] = slot.value;
  }
  return sortKeys(config) as DynamicConfig;
}

/** The service a router names, when it is defined by another daemon's container. */
function foreignService(section: Section, router: Slot, slots: Map<string, Slot>): { name: string; container: string; daemon: string } | undefined {
  const raw = router.value['service'];
  if (typeof raw !== 'string') return undefined;
  const at = raw.lastIndexOf('@');
  if (at >= 0 && raw.slice(at + 1) !== 'docker') return undefined;
  const name = at >= 0 ? raw.slice(0, at) : raw;
  const svc = slots.get(`${section.replace('.routers', '.services')}\u0000${name}`);
  if (svc === undefined || svc.daemon === router.daemon) return undefined;
  return { name, container: svc.containers[0] ?? '', daemon: svc.daemon };
}

function mergeServers(into: Record<string, unknown>, from: Record<string, unknown>): void {
  const a = into['loadBalancer'] as Record<string, unknown> | undefined;
  const b = from['loadBalancer'] as Record<string, unknown> | undefined;
  const more = b?.['servers'];
  if (a === undefined || !Array.isArray(more)) return;
  const list = (Array.isArray(a['servers']) ? a['servers'] : (a['servers'] = [])) as Record<string, unknown>[];
  const seen = new Set(list.map((s) => String(s['url'] ?? s['address'])));
  for (const s of more as Record<string, unknown>[]) {
    const id = String(s['url'] ?? s['address']);
    if (!seen.has(id)) {
      seen.add(id);
      list.push(structuredClone(s));
    }
  }
}
