/**
 * Merging the contributions of all containers of all daemons, in claim order (Traefik's
 * `provider.Merge`, plus berth's cross-daemon rules):
 * - a router whose host (or raw TCP/UDP entrypoint) belongs to another daemon is dropped: one
 *   repository can never take another's traffic. Keys the claim ledger holds (`reserved`) belong to
 *   their owner whatever the order; the others go to the first claimant in order;
 * - while some daemon has not answered yet (`waitingFor`), traffic keys the ledger does not hold are
 *   not served at all: that daemon may have an older claimant;
 * - an element name defined first on one daemon (or held for it by the ledger) belongs to it; other
 *   daemons' definitions are dropped;
 * - within a daemon, equal definitions merge (services gather their servers: replicas are
 *   load-balanced), different definitions of one name drop every definition, as in Traefik.
 */
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import type { DynamicConfig } from '../dynamic/types.ts';
import type { ClaimOutcome, ClaimOwner, RefusedClaim } from './claim-outcome.ts';
import { claimOwnerOf, describeClaim, describeOwner, nameClaim, trafficClaimsOf, type ClaimContext } from './claims.ts';
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
  readonly owner: ClaimOwner;
  readonly containers: string[];
  readonly source: string;
  readonly compare: string;
  conflict: boolean;
  /** A second daemon defined this name too: the name is recorded as a claim. */
  contested: boolean;
}

function withoutServers(section: Section, v: Record<string, unknown>): string {
  if (!section.endsWith('.services')) return canonicalJson(v);
  const lb = v['loadBalancer'];
  if (typeof lb !== 'object' || lb === null) return canonicalJson(v);
  const { servers: _servers, ...rest } = lb as Record<string, unknown>;
  return canonicalJson({ ...v, loadBalancer: rest });
}

/** What {@link mergeContributions} yields: the configuration and the claim outcome. */
export interface MergeResult {
  readonly config: DynamicConfig;
  readonly claims: ClaimOutcome;
}

const NO_CLAIMS: ClaimContext = { reserved: new Map(), now: Number.NaN };

/**
 * Merges contributions in order into one dynamic configuration; problems go to `diagnostics`.
 * Keys in `ctx.reserved` belong to their owner's daemon whatever the order; the others go to the
 * first daemon (in contribution order) that claims them.
 */
export function mergeContributions(
  contributions: readonly SourcedContribution[],
  diagnostics: Diagnostic[],
  ctx: ClaimContext = NO_CLAIMS,
): MergeResult {
  const reserved = ctx.reserved;
  const waiting = ctx.waitingFor ?? [];
  const owners = new Map<string, ClaimOwner>(reserved);
  const granted = new Map<string, ClaimOwner>();
  const refused: RefusedClaim[] = [];
  const wanted = new Map<string, string[]>();
  const slots = new Map<string, Slot>();
  const order: string[] = [];
  /** Records `c`'s daemon as holder of `k`; the ledger's container stays the owner while it still claims `k`. */
  const grant = (k: string, c: ContainerView): void => {
    const held = reserved.get(k);
    if (held === undefined) {
      if (!granted.has(k)) granted.set(k, owners.get(k) ?? claimOwnerOf(c, ctx.now));
    } else if (held.containerId === c.id) granted.set(k, held);
    else if (!granted.has(k)) granted.set(k, claimOwnerOf(c, held.since));
  };
  const refuse = (
    c: ContainerView,
    source: string,
    element: string,
    k: string,
    owner: ClaimOwner,
    message: string,
  ): void => {
    diagnostics.push(diagError(source, element, message));
    refused.push({ key: k, daemon: c.daemon, containerId: c.id, element, owner });
  };

  for (const contrib of contributions) {
    const { container: c, source } = contrib;
    const asks = wanted.get(`${c.daemon}\u0000${c.id}`) ?? [];
    wanted.set(`${c.daemon}\u0000${c.id}`, asks);
    for (const e of contrib.elements) {
      const element = `${e.section}.${e.name}`;
      const vet = vetRouter(e);
      if (vet !== undefined) {
        diagnostics.push(diagError(source, element, vet));
        continue;
      }
      const keys = trafficClaimsOf(e);
      const nk = nameClaim(e.section, e.name);
      asks.push(...keys, nk);
      const taken = keys
        .map((k) => ({ k, owner: owners.get(k) }))
        .find((x) => x.owner !== undefined && x.owner.daemon !== c.daemon);
      if (taken?.owner) {
        refuse(
          c,
          source,
          element,
          taken.k,
          taken.owner,
          `${describeClaim(taken.k)} belongs to ${describeOwner(taken.owner)}; one repository cannot take another's traffic, so this ${sectionNoun(e.section)} is dropped`,
        );
        continue;
      }
      const heldName = reserved.get(nk);
      if (heldName !== undefined && heldName.daemon !== c.daemon) {
        refuse(
          c,
          source,
          element,
          nk,
          heldName,
          `${describeClaim(nk)} belongs to ${describeOwner(heldName)}; names belong to the repository that defined them first, rename this one`,
        );
        continue;
      }
      const unheld = waiting.length > 0 ? keys.find((k) => !reserved.has(k)) : undefined;
      if (unheld !== undefined) {
        diagnostics.push(
          diagWarning(
            source,
            element,
            `${describeClaim(unheld)} is not served until daemon ${waiting.join(', ')} has answered: a container there may have claimed it first`,
          ),
        );
        continue;
      }
      for (const k of keys) {
        if (!owners.has(k)) owners.set(k, claimOwnerOf(c, ctx.now));
        grant(k, c);
      }

      const key = `${e.section}\u0000${e.name}`;
      const slot = slots.get(key);
      if (slot === undefined) {
        const owner =
          heldName !== undefined
            ? heldName.containerId === c.id
              ? heldName
              : claimOwnerOf(c, heldName.since)
            : claimOwnerOf(c, ctx.now);
        slots.set(key, {
          value: structuredClone(e.value),
          daemon: c.daemon,
          owner,
          containers: [c.name],
          source,
          compare: withoutServers(e.section, e.value),
          conflict: false,
          contested: heldName !== undefined,
        });
        order.push(key);
        continue;
      }
      if (slot.daemon !== c.daemon) {
        slot.contested = true;
        refuse(
          c,
          source,
          element,
          nk,
          slot.owner,
          `${describeClaim(nk)} belongs to ${describeOwner(slot.owner)}; names belong to the repository that defined them first, rename this one`,
        );
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
    if (slot.contested) granted.set(nameClaim(section, name), slot.owner);
    if (slot.conflict) {
      diagnostics.push(
        diagError(
          slot.source,
          `${section}.${name}`,
          `${sectionNoun(section)} defined multiple times with different configurations by containers ${slot.containers.map((n) => `"${n}"`).join(', ')} on daemon ${slot.daemon}; all definitions dropped`,
        ),
      );
      continue;
    }
    const foreign = section.endsWith('.routers') ? foreignService(section, slot, slots) : undefined;
    if (foreign !== undefined) {
      diagnostics.push(
        diagError(
          slot.source,
          `${section}.${name}`,
          `service "${foreign.name}" belongs to container "${foreign.container}" on daemon ${foreign.daemon}; a router cannot send one repository's traffic to another's service, so it is dropped`,
        ),
      );
      continue;
    }
    const [proto, kind] = section.split('.') as [string, string];
    const p = (config[proto] ??= {});
    const k = (p[kind] ??= {});
    k[name] = slot.value;
  }
  return { config: sortKeys(config) as DynamicConfig, claims: { granted, refused, wanted } };
}

/** The service a router names, when it is defined by another daemon's container. */
function foreignService(
  section: Section,
  router: Slot,
  slots: Map<string, Slot>,
): { name: string; container: string; daemon: string } | undefined {
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
