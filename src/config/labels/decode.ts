/**
 * Docker containers → dynamic configuration: the pure heart of the Docker provider. It takes every
 * container of every daemon at once, in claim order (creation time across all daemons, as the
 * provider sorts them), and returns Traefik-shaped configuration with local element names plus
 * diagnostics and the claim outcome. It never throws on input: bad labels become diagnostics and
 * drop only the element they concern.
 */
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { findSharedNetworkContainer } from './address.ts';
import { dynamicPortOwners } from './port-owners.ts';
import { buildAutoRoutes, isRediaccContainer, repositoryOf } from './auto-routes.ts';
import { compileConstraints, type ConstraintMatcher } from './constraints.ts';
import type { Element } from './element.ts';
import type { ClaimContext } from './claims.ts';
import { mergeContributions, sortKeys, type SourcedContribution } from './merge.ts';
import { parseTraefikLabels } from './parse.ts';
import { buildRproxy } from './rproxy.ts';
import { buildTraefikContainer } from './traefik-container.ts';
import type { ContainerView, DecodeResult, LabelDecodeOptions } from './types.ts';

/** `container "web" on daemon docker-2816`, the way every diagnostic names a container. */
export function containerSource(c: ContainerView): string {
  return c.source ?? `container "${c.name}" on daemon ${c.daemon}`;
}

/**
 * Decodes all containers (all daemons) into one dynamic configuration.
 *
 * Per container: `traefik.*` labels (tier 2) when it is enabled (`traefik.enable=true`, or
 * `exposedByDefault` for containers rediacc does not manage) and matches `constraints`; otherwise
 * `rediacc.*` labels (tier 1) give an auto-route unless `traefik.enable=false`; an `RPROXY`
 * environment variable adds RProxy routes in either case. Then all contributions merge in order,
 * with Traefik's conflict rules and berth's cross-daemon claims (`claims`: the keys the claim
 * ledger already holds, which stay with their owner whatever the order).
 */
export function decodeContainers(
  containers: readonly ContainerView[],
  opts: LabelDecodeOptions,
  claims?: ClaimContext,
): DecodeResult {
  const diagnostics: Diagnostic[] = [];
  let constraint: ConstraintMatcher = () => true;
  if (opts.constraints !== undefined && opts.constraints.trim() !== '') {
    const compiled = compileConstraints(opts.constraints);
    if ('error' in compiled) {
      diagnostics.push(
        diagError(
          'providers.docker.constraints',
          undefined,
          `invalid constraints expression: ${compiled.error}; no container passes until it is fixed`,
        ),
      );
      constraint = () => false;
    } else {
      constraint = compiled.match;
    }
  }

  const repositories = new Set<string>();
  const contributions: SourcedContribution[] = [];
  for (const c of withSharedNetworks(containers)) {
    const source = containerSource(c);
    try {
      const repo = repositoryOf(c);
      if (c.running && repo !== undefined) repositories.add(repo);
      const parsed = parseTraefikLabels(c.labels, source);
      diagnostics.push(...parsed.diagnostics);
      const elements: Element[] = [];
      if (!parsed.containerError) {
        const rediacc = isRediaccContainer(c);
        const enabled = parsed.enable ?? (rediacc ? false : opts.exposedByDefault);
        if (enabled) {
          if (constraint(c.labels)) {
            const r = buildTraefikContainer(c, parsed, opts, source);
            elements.push(...r.elements);
            diagnostics.push(...r.diagnostics);
          }
        } else if (rediacc && parsed.enable !== false) {
          const r = buildAutoRoutes(c, opts, source);
          elements.push(...r.elements);
          diagnostics.push(...r.diagnostics);
        }
      }
      const rp = buildRproxy(c, opts, source);
      elements.push(...rp.elements);
      diagnostics.push(...rp.diagnostics);
      contributions.push({ container: c, source, elements });
    } catch (err) {
      // A bug must cost one container, not the whole provider.
      diagnostics.push(
        diagError(source, undefined, `internal error while decoding this container: ${errorMessage(err)}`),
      );
    }
  }

  const { config, claims: outcome } = mergeContributions(contributions, diagnostics, claims);
  const store = firstTlsStore(containers, opts, diagnostics);
  if (store !== undefined) (config as Record<string, unknown>)['tls'] = { stores: { default: sortKeys(store) } };
  return {
    config,
    diagnostics,
    repositories: [...repositories].sort(),
    claims: outcome,
    ports: dynamicPortOwners(contributions, config),
  };
}

/**
 * The containers, those in `network_mode: container:<ref>` linked to the container they share a
 * network stack with (same daemon), so that their address is that container's, as in Traefik.
 */
function withSharedNetworks(containers: readonly ContainerView[]): readonly ContainerView[] {
  if (!containers.some((c) => c.networkMode.startsWith('container:'))) return containers;
  const byDaemon = new Map<string, ContainerView[]>();
  for (const c of containers) {
    const list = byDaemon.get(c.daemon);
    if (list) list.push(c);
    else byDaemon.set(c.daemon, [c]);
  }
  return containers.map((c) => {
    const other = findSharedNetworkContainer(c, byDaemon.get(c.daemon) ?? []);
    return other === undefined ? c : { ...c, sharesNetworkOf: other };
  });
}

/** `traefik.tls.stores.default.*` from the first enabled container that sets it. */
function firstTlsStore(
  containers: readonly ContainerView[],
  opts: LabelDecodeOptions,
  diagnostics: Diagnostic[],
): Record<string, unknown> | undefined {
  let found: { store: Record<string, unknown>; source: string; json: string } | undefined;
  for (const c of containers) {
    if (!c.running || !Object.keys(c.labels).some((k) => k.toLowerCase().startsWith('traefik.tls.stores.default.')))
      continue;
    const parsed = parseTraefikLabels(c.labels, containerSource(c));
    const enabled = parsed.enable ?? (!isRediaccContainer(c) && opts.exposedByDefault);
    if (parsed.tlsDefaultStore === undefined || !enabled) continue;
    const json = JSON.stringify(sortKeys(parsed.tlsDefaultStore));
    if (found === undefined) found = { store: parsed.tlsDefaultStore, source: containerSource(c), json };
    else if (found.json !== json)
      diagnostics.push(
        diagError(
          containerSource(c),
          'tls.stores.default',
          `the default TLS store is already configured differently by ${found.source}; ignored`,
        ),
      );
  }
  return found?.store;
}
