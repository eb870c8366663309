/**
 * Decoding with claims: the Docker provider's containers go to the label decoder in claim order
 * (creation time across daemons), with the keys the ledger holds reserved for their owners; then
 * the ledger settles what the merge granted, and when it releases keys the decoder runs again so
 * that the next claimant gets them in the same publish.
 */
import type { ClaimOwner } from '../../config/labels/claim-outcome.ts';
import { claimOwnerOf, ruleHosts } from '../../config/labels/claims.ts';
import type { DynamicConfig } from '../../config/dynamic/types.ts';
import { allowsNonRunning } from '../../config/labels/parse.ts';
import type { ContainerView, DecodeResult, LabelDecodeOptions } from '../../config/labels/types.ts';
import type { ClaimContext } from '../../config/labels/claims.ts';
import { claimOrder, type EndpointRank } from './claim-order.ts';
import type { ClaimLedger, OwnerDaemon } from './claim-ledger.ts';
import { parseClaimRoute, type ClaimRoute, type SharedRefusal } from './claim-store.ts';

/** The label decoder's signature (`decodeContainers` in src/config/labels/decode.ts). */
export type DecodeFn = (
  containers: readonly ContainerView[],
  opts: LabelDecodeOptions,
  claims?: ClaimContext,
) => DecodeResult;

/** What the provider tells the keeper about its daemons for one decode. */
export interface ClaimEnvironment {
  readonly now: number;
  readonly rank: (daemon: string) => EndpointRank;
  readonly daemon: (id: string) => OwnerDaemon;
  /** Daemons that have not answered yet: nothing new is granted or recorded meanwhile. */
  readonly waitingFor: readonly string[];
}

const NOTHING: ReadonlyMap<string, ClaimOwner> = new Map();
/** A decode that releases keys is repeated; each repeat can only release fewer, this bounds a bug. */
const MAX_ROUNDS = 4;

/** Runs the decoder against the claim ledger. */
export class ClaimKeeper {
  private readonly ledger: ClaimLedger;
  private readonly decodeFn: DecodeFn;
  /** What each container's labels claim, whether it serves or not; views are immutable, so cached per view. */
  private readonly wanted = new WeakMap<ContainerView, readonly string[]>();

  constructor(ledger: ClaimLedger, decode: DecodeFn) {
    this.ledger = ledger;
    this.decodeFn = decode;
  }

  /**
   * Decodes the serving containers of `all` (every known container, serving or not): the running
   * ones, and those that ask to be routed while stopped (`traefik.docker.allownonrunning=true`).
   */
  decode(all: readonly ContainerView[], opts: LabelDecodeOptions, env: ClaimEnvironment): DecodeResult {
    const order = claimOrder(env.rank);
    const serving = all.filter((v) => v.running || allowsNonRunning(v.labels)).sort(order);
    this.ledger.adoptShared();
    let result: DecodeResult | undefined;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      result = this.decodeFn(serving, opts, {
        reserved: this.ledger.reserved(),
        now: env.now,
        waitingFor: env.waitingFor,
      });
      // Only a fleet relays names to their owner's host, so only a fleet keeps how routers take them.
      const routes = this.ledger.shared ? hostRoutes(result.config) : undefined;
      const released = this.ledger.settle({
        granted: result.claims?.granted ?? NOTHING,
        now: env.now,
        recordNew: env.waitingFor.length === 0,
        daemon: env.daemon,
        claimants: (daemon, key) =>
          all.filter((v) => v.daemon === daemon && this.wants(v, opts).includes(key)).sort(order),
        ...(routes ? { route: (key: string) => routes.get(key) } : {}),
      });
      if (released.length === 0) break;
    }
    return this.shareWithFleet(result!, all);
  }

  /**
   * In a fleet: tells the fleet which of this host's claimants another host's container keeps out
   * (so that host shows them too, and the fleet can hand the key over when its owner is gone), and
   * adds what the fleet reports about this host's keys.
   */
  private shareWithFleet(result: DecodeResult, all: readonly ContainerView[]): DecodeResult {
    const shared = this.ledger.shared;
    if (shared === undefined) return result;
    const held = shared.held();
    const refusals: SharedRefusal[] = [];
    for (const r of result.claims?.refused ?? []) {
      if (held.get(r.key)?.daemon !== r.owner.daemon) continue;
      const view = all.find((v) => v.daemon === r.daemon && v.id === r.containerId);
      if (view !== undefined) refusals.push({ key: r.key, claimant: claimOwnerOf(view), element: r.element });
    }
    shared.report(refusals);
    const extra = shared.diagnostics();
    return extra.length === 0 ? result : { ...result, diagnostics: [...result.diagnostics, ...extra] };
  }

  /** The keys `v`'s labels claim, as if it served (a stopped or unhealthy owner still claims by its labels). */
  private wants(v: ContainerView, opts: LabelDecodeOptions): readonly string[] {
    let keys = this.wanted.get(v);
    if (keys === undefined) {
      const asIfServing: ContainerView = { ...v, running: true, health: 'none' };
      keys = this.decodeFn([asIfServing], opts).claims?.wanted.get(`${v.daemon}\u0000${v.id}`) ?? [];
      this.wanted.set(v, keys);
    }
    return keys;
  }
}

/**
 * The host keys of HTTP routers and how those routers take them (entrypoints, TLS), from a decoded
 * configuration: every router in it holds its hosts for its own daemon, so these are the owners'.
 */
function hostRoutes(config: DynamicConfig): Map<string, ClaimRoute> {
  const out = new Map<string, ClaimRoute>();
  for (const r of Object.values(config.http?.routers ?? {})) {
    for (const h of ruleHosts(r.rule, 'Host')) {
      const key = `host ${h}`;
      const prev = out.get(key);
      const entryPoints =
        prev === undefined
          ? r.entryPoints
          : prev.entryPoints === undefined || r.entryPoints === undefined
            ? undefined
            : [...new Set([...prev.entryPoints, ...r.entryPoints])];
      const tls = prev?.tls ?? r.tls;
      // Normalised as it reads back from a file or Redis, so an unchanged route compares equal.
      out.set(
        key,
        parseClaimRoute({
          ...(entryPoints !== undefined ? { entryPoints } : {}),
          ...(tls !== undefined ? { tls } : {}),
        }) ?? {},
      );
    }
  }
  return out;
}

/** Refused claims per daemon (every daemon listed, 0 when none), for `/health` and the metric. */
export function refusedByDaemon(result: DecodeResult, daemons: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of daemons) out[d] = 0;
  const seen = new Set<string>();
  for (const r of result.claims?.refused ?? []) {
    const k = `${r.daemon}\u0000${r.containerId}\u0000${r.element}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out[r.daemon] = (out[r.daemon] ?? 0) + 1;
  }
  return out;
}
