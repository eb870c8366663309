import type { ClaimOwner } from '../config/labels/claim-outcome.ts';
import { describeClaim } from '../config/labels/claims.ts';
import { diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import {
  parseClaimRoute,
  type ClaimRecord,
  type ClaimStore,
  type SharedClaims,
  type SharedRefusal,
} from '../providers/docker/claim-store.ts';
import { FleetClaimsCache, type FleetClaimsState } from './fleet-claims-cache.ts';
import type { ClaimRules, FleetClaim, FleetRefusal, RedisClaimStore } from './redis-claim-store.ts';
import { SyncQueue } from './sync-queue.ts';

/** Construction options of {@link FleetClaims}. */
export interface FleetClaimsOptions {
  /** This host's name in the fleet. */
  readonly node: string;
  readonly store: RedisClaimStore;
  readonly connected: () => boolean;
  /** This host's own ledger file (`claims.json`), kept as before. */
  readonly local: ClaimStore;
  /** The fleet's claims as last seen, for a start without Redis. */
  readonly cachePath: string;
  readonly rules: ClaimRules;
  /** How recently a node must have been seen for its refusals to be shown here (ms). */
  readonly liveMs: number;
  /** Tells the other hosts that the claims changed (they read them at once instead of at their next sync). */
  readonly notify: () => void;
  readonly log: Logger;
}

/** Counts for `/health`: where the claims this host knows come from. */
export interface FleetClaimsStatus {
  /** Host keys this host's containers hold, confirmed by the fleet. */
  readonly held: number;
  /** Host keys granted here that the fleet has not confirmed yet (Redis unreachable, or just now). */
  readonly pending: number;
  /** Host keys other hosts' containers hold. */
  readonly others: number;
}

/**
 * The Docker provider's claim store in a fleet. The ledger works as on one host, against its own
 * `claims.json`; beside it this store keeps the fleet's claims in memory (and in a cache file), so
 * the ledger reserves other hosts' keys without waiting on Redis. In the background it puts this
 * host's host keys to the fleet, releases the ones it dropped, puts its refused claimants forward
 * again (the fleet hands a key over when the holder's node is gone), and reads what the others hold.
 * When Redis answers that another host holds a key granted here (both claimed it during an
 * outage), the fleet's answer wins: the ledger drops it and its claimant is refused.
 */
export class FleetClaims implements ClaimStore, SharedClaims {
  readonly location: string;
  private readonly o: FleetClaimsOptions;
  private readonly cache: FleetClaimsCache;
  private own: readonly ClaimRecord[] = [];
  private state: FleetClaimsState = { claims: new Map(), refusals: new Map(), seen: new Map(), relays: new Map() };
  private readonly toRelease = new Set<string>();
  /** Keys this host took over from a silent node, and when (its ledger records them at the next decode). */
  private readonly challenged = new Map<string, number>();
  private isLoaded = false;
  private mine: readonly SharedRefusal[] = [];
  private reported: string | undefined;
  private view = new Map<string, ClaimOwner>();
  private diags: Diagnostic[] = [];
  private viewKey = '';
  private readonly listeners = new Set<() => void>();
  private readonly queue = new SyncQueue(() => this.runOnce());
  private failed = false;
  private markLoaded: () => void = () => undefined;
  /** Resolves once the ledger has been loaded (the fleet's claims read from Redis or the cache). */
  readonly loaded = new Promise<void>((resolve) => {
    this.markLoaded = resolve;
  });

  constructor(o: FleetClaimsOptions) {
    this.o = o;
    this.location = `${o.local.location} (fleet ${o.node} through Redis)`;
    this.cache = new FleetClaimsCache(o.cachePath, o.log);
  }

  get shared(): SharedClaims {
    return this;
  }

  /**
   * This host's ledger: its file, plus claims the fleet holds for this node that the file lacks
   * (a lost or older file). The fleet's claims come from Redis, or from the cache when it is down.
   */
  async load(): Promise<readonly ClaimRecord[]> {
    const own = [...(await this.o.local.load())];
    this.state = (await this.cache.read()) ?? this.state;
    if (this.o.connected()) {
      try {
        await this.restoreIfFresh();
        await this.pull();
      } catch (err) {
        this.o.log.warn({ err: errorMessage(err) }, 'fleet: claims not read from Redis; starting from the cached ones');
      }
    }
    const have = new Set(own.map((r) => r.key));
    for (const c of this.state.claims.values()) {
      if (c.node !== this.o.node || have.has(c.key)) continue;
      own.push({
        key: c.key,
        daemon: c.daemon,
        container: c.container,
        containerId: c.containerId,
        endpoint: `fleet:${c.node}`,
        since: c.since,
        ...(c.repository !== undefined ? { repository: c.repository } : {}),
        ...(c.created !== undefined ? { created: c.created } : {}),
        ...(c.route !== undefined ? { route: c.route } : {}),
      });
    }
    this.own = own;
    this.isLoaded = true;
    this.refresh();
    this.markLoaded();
    return own;
  }

  async save(records: readonly ClaimRecord[]): Promise<void> {
    const now = new Set(records.map((r) => r.key));
    for (const r of this.own) if (isShared(r.key) && !now.has(r.key)) this.toRelease.add(r.key);
    for (const k of now) this.toRelease.delete(k);
    this.own = records;
    this.refresh();
    void this.sync();
    await this.o.local.save(records);
  }

  held(): ReadonlyMap<string, ClaimOwner> {
    return this.view;
  }

  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  report(refused: readonly SharedRefusal[]): void {
    this.mine = refused;
    if (JSON.stringify(refused.map(toFleetRefusal)) !== this.reported) void this.sync();
  }

  diagnostics(): readonly Diagnostic[] {
    return this.diags;
  }

  /** Claims held by other hosts, with how their routers take them (the relay provider's input). */
  others(): FleetClaim[] {
    return [...this.state.claims.values()].filter((c) => c.node !== this.o.node);
  }

  /** Where each node takes relayed requests. */
  relays(): ReadonlyMap<string, string> {
    return this.state.relays;
  }

  status(): FleetClaimsStatus {
    let held = 0;
    let pending = 0;
    for (const r of this.own) {
      if (!isShared(r.key)) continue;
      const c = this.state.claims.get(r.key);
      if (c !== undefined && c.node === this.o.node && c.containerId === r.containerId) held++;
      else pending++;
    }
    return { held, pending, others: this.view.size };
  }

  /**
   * Puts this host's claims to the fleet and reads the fleet's; one at a time, once more when
   * asked meanwhile. Does nothing while Redis is unreachable (the next connect syncs).
   */
  sync(): Promise<void> {
    return this.queue.run();
  }

  private async runOnce(): Promise<void> {
    // Before the ledger is loaded this host's claims are unknown: nothing may be released yet.
    if (!this.o.connected() || !this.isLoaded) return;
    try {
      await this.syncOnce();
      if (this.failed) this.o.log.info('fleet: claims in sync with Redis again');
      this.failed = false;
    } catch (err) {
      if (!this.failed)
        this.o.log.warn(
          { err: errorMessage(err) },
          'fleet: claims not synchronised with Redis; retried at the next sync',
        );
      this.failed = true;
    }
  }

  private async syncOnce(): Promise<void> {
    const { store, node, rules } = this.o;
    let wrote = await this.restoreIfFresh();
    const mine = new Set<string>();
    for (const r of this.own) {
      if (!isShared(r.key)) continue;
      mine.add(r.key);
      const want = claimOf(r, node);
      const cur = this.state.claims.get(r.key);
      if (cur !== undefined && claimJson(cur) === claimJson(want)) continue;
      const won = await store.claim(want, rules);
      this.state.claims.set(r.key, won);
      if (won.node === node) wrote = true;
    }
    // Keys this node holds in the fleet that its ledger does not (dropped while Redis was away, or
    // put back from another host's cache) are released; a key just taken over is the ledger's next.
    const now = Date.now();
    for (const [key, at] of this.challenged) if (now - at > this.o.rules.contestMs) this.challenged.delete(key);
    for (const c of this.state.claims.values())
      if (c.node === node && !mine.has(c.key) && !this.challenged.has(c.key)) this.toRelease.add(c.key);
    for (const key of [...this.toRelease]) {
      await store.release(key, node);
      this.toRelease.delete(key);
      wrote = true;
    }
    for (const r of this.mine) {
      const holder = await store.challenge(candidateOf(r, node), rules);
      if (holder?.node !== node) continue;
      this.o.log.info(
        { key: r.key, container: r.claimant.container },
        `fleet: ${r.key} taken over for container "${r.claimant.container}": its holder's node has been silent for the grace period`,
      );
      this.challenged.set(r.key, now);
      wrote = true;
    }
    const refusals = this.mine.map(toFleetRefusal);
    const text = JSON.stringify(refusals);
    if (text !== this.reported) {
      await store.report(node, refusals);
      this.reported = text;
      wrote = true;
    }
    await this.pull();
    this.refresh();
    if (wrote) this.o.notify();
  }

  /**
   * An emptied Redis (restarted without persistence) is given back the claims this host knew, so
   * that no host takes a name whose holder has not put it back yet. Once per emptied Redis.
   */
  private async restoreIfFresh(): Promise<boolean> {
    if (!(await this.o.store.fresh(this.o.node))) return false;
    if (this.state.claims.size === 0) return false;
    await this.o.store.restore(this.state.claims.values());
    this.o.log.info({ claims: this.state.claims.size }, 'fleet: Redis had no claims; put back the ones this host knew');
    return true;
  }

  /** Reads the fleet's claims, refusals, heartbeats and relay URLs; keeps them in the cache file. */
  private async pull(): Promise<void> {
    const { store } = this.o;
    const [claims, refusals, seen, relays] = await Promise.all([
      store.list(),
      store.refusals(),
      store.seen(),
      store.relays(),
    ]);
    this.state = { claims, refusals, seen, relays };
    await this.cache.write(this.state);
  }

  /** Recomputes the view other hosts' claims give this host; tells the listeners when it changed. */
  private refresh(): void {
    const view = new Map<string, ClaimOwner>();
    for (const c of this.state.claims.values()) {
      if (c.node === this.o.node) continue;
      view.set(c.key, {
        daemon: `${c.daemon}@${c.node}`,
        container: c.container,
        containerId: c.containerId,
        since: c.since,
        ...(c.repository !== undefined ? { repository: c.repository } : {}),
        ...(c.created !== undefined ? { created: c.created } : {}),
      });
    }
    const mine = new Map(this.own.map((r) => [r.key, r]));
    const diags: Diagnostic[] = [];
    const now = Date.now();
    for (const [n, list] of this.state.refusals) {
      const seen = this.state.seen.get(n);
      if (n === this.o.node || seen === undefined || now - seen > this.o.liveMs) continue;
      for (const r of list) {
        const owner = mine.get(r.key);
        if (owner === undefined) continue;
        diags.push(
          diagWarning(
            `container "${r.container}" on daemon ${r.daemon} of fleet node ${n}`,
            r.element,
            `${describeClaim(r.key)} belongs to container "${owner.container}" (daemon ${owner.daemon}) on this host, fleet node ${this.o.node}; node ${n} refuses this claimant`,
          ),
        );
      }
    }
    // Relays follow the other hosts' routes and relay URLs: a change there is a change too.
    const routes = this.others()
      .map((c) => [c.key, c.node, c.route ?? null])
      .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
    const key = JSON.stringify([
      [...view].sort(([a], [b]) => (a < b ? -1 : 1)),
      diags,
      routes,
      [...this.state.relays].sort(),
    ]);
    this.view = view;
    this.diags = diags;
    if (key === this.viewKey) return;
    this.viewKey = key;
    for (const l of this.listeners) l();
  }
}

/** Only host keys are fleet-wide: catch-all entrypoints and element names are each host's own. */
function isShared(key: string): boolean {
  return key.startsWith('host ');
}

function claimOf(r: ClaimRecord, node: string): FleetClaim {
  return {
    key: r.key,
    node,
    daemon: r.daemon,
    container: r.container,
    containerId: r.containerId,
    since: r.since,
    ...(r.repository !== undefined ? { repository: r.repository } : {}),
    ...(r.created !== undefined ? { created: r.created } : {}),
    ...(r.stoppedAt !== undefined ? { stoppedAt: r.stoppedAt } : {}),
    ...(r.route !== undefined ? { route: parseClaimRoute(r.route) ?? {} } : {}),
  };
}

function candidateOf(r: SharedRefusal, node: string): FleetClaim {
  const c = r.claimant;
  return {
    key: r.key,
    node,
    daemon: c.daemon,
    container: c.container,
    containerId: c.containerId,
    since: Date.now(),
    ...(c.repository !== undefined ? { repository: c.repository } : {}),
    ...(c.created !== undefined ? { created: c.created } : {}),
  };
}

/** A claim in a fixed field order, for comparing what Redis holds with what this host would write. */
function claimJson(c: FleetClaim): string {
  return JSON.stringify([
    c.key,
    c.node,
    c.daemon,
    c.container,
    c.containerId,
    c.repository,
    c.created,
    c.since,
    c.stoppedAt,
    c.route ?? null,
  ]);
}

function toFleetRefusal(r: SharedRefusal): FleetRefusal {
  return { key: r.key, daemon: r.claimant.daemon, container: r.claimant.container, element: r.element };
}
