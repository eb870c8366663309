/**
 * The claim ledger: which daemon (repository) owns each contested key — hosts, catch-all TCP/UDP
 * entrypoints, element names two daemons define — kept across restarts, reconnects and resyncs so
 * that none of them can hand a key to another repository.
 *
 * A key stays with its owner while:
 * - a container of the owner's daemon claims it and serves (replicas and replacements included);
 * - the owner's daemon cannot be reached (no expiry while it is down or not yet answered);
 * - a container of the owner's daemon still claims it by its labels but does not serve: running
 *   but unhealthy (no expiry), or stopped/created (until `graceMs` after it stopped), so restarts
 *   and deploys open no window.
 * It is released when no container of the owner's daemon claims it any more (the owner was removed
 * or relabelled), when the grace period of a stopped owner is over, or a grace period after its
 * daemon is gone for good (a unix socket missing that long, which is also what a stopped dockerd
 * looks like from outside).
 */
import type { ClaimOwner } from '../../config/labels/claim-outcome.ts';
import { claimOwnerOf } from '../../config/labels/claims.ts';
import type { ContainerView } from '../../config/labels/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { ClaimRecord, ClaimRoute, ClaimStore, SharedClaims } from './claim-store.ts';

/** How the ledger sees an owner's daemon. */
export type OwnerDaemon =
  | { readonly state: 'ok'; readonly endpoint: string }
  | { readonly state: 'unreachable' }
  /** Its socket disappeared for good at `since` (epoch ms). */
  | { readonly state: 'gone'; readonly since: number };

/** What one settling round is told by the provider. */
export interface SettleInput {
  /** Keys the merge granted, with their owners. */
  readonly granted: ReadonlyMap<string, ClaimOwner>;
  readonly now: number;
  /** False while some daemon has not answered yet: its containers may be older, so nothing new is recorded. */
  readonly recordNew: boolean;
  readonly daemon: (id: string) => OwnerDaemon;
  /** Containers of `daemon` (serving or not) whose labels claim `key`, in claim order. */
  readonly claimants: (daemon: string, key: string) => readonly ContainerView[];
  /** How the granted owner's HTTP routers take a host key (kept with the record for a fleet). */
  readonly route?: (key: string) => ClaimRoute | undefined;
}

/** Why a claim ended, for the log. */
type Release = 'removed or no longer claiming it' | 'stopped for longer than the grace period' | 'daemon gone';

/** In-memory ledger with its policy; persisted through a {@link ClaimStore}. */
export class ClaimLedger {
  private readonly store: ClaimStore;
  private readonly graceMs: number;
  private readonly log: Logger;
  private readonly records = new Map<string, ClaimRecord>();
  private saving = false;
  private saveAgain = false;
  private saveFailed = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(store: ClaimStore, opts: { readonly graceMs: number; readonly logger: Logger }) {
    this.store = store;
    this.graceMs = opts.graceMs;
    this.log = opts.logger;
  }

  /** Reads the saved ledger (once, before the first merge). */
  async load(): Promise<void> {
    for (const r of await this.store.load()) this.records.set(r.key, r);
    if (this.records.size > 0)
      this.log.info({ path: this.store.location, claims: this.records.size }, 'claim ledger loaded');
  }

  /** The held keys and their owners, for the merge: this host's, and in a fleet the other hosts'. */
  reserved(): ReadonlyMap<string, ClaimOwner> {
    const shared = this.store.shared?.held();
    if (shared === undefined || shared.size === 0) return this.records;
    return new Map<string, ClaimOwner>([...shared, ...this.records]);
  }

  /** The fleet's side of the ledger, when there is one. */
  get shared(): SharedClaims | undefined {
    return this.store.shared;
  }

  /**
   * Takes the fleet's answers in: a key held here that the fleet gives to another host's container
   * (both claimed it while Redis was unreachable, or the other host's claim came first) is dropped
   * here, and its claimant is refused from now on. Called before every decode.
   */
  adoptShared(): void {
    const shared = this.store.shared?.held();
    if (shared === undefined) return;
    let changed = false;
    for (const [key, owner] of shared) {
      const lost = this.records.get(key);
      if (lost === undefined) continue;
      this.records.delete(key);
      changed = true;
      this.log.warn(
        { key, daemon: lost.daemon, container: lost.container, owner: owner.daemon, ownerContainer: owner.container },
        `claim lost to the fleet: ${key} belongs to container "${owner.container}" (daemon ${owner.daemon}); container "${lost.container}" is refused it`,
      );
    }
    if (changed) this.save();
  }

  /** Every record, sorted by key (tests, diagnostics). */
  list(): ClaimRecord[] {
    return [...this.records.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /**
   * When the next grace period ends (epoch ms): of a stopped owner, or of a daemon `goneSince`
   * says is gone (or will be, at the time it returns).
   */
  nextExpiry(goneSince: (daemon: string) => number | undefined): number | undefined {
    let next: number | undefined;
    const consider = (t: number): void => {
      if (next === undefined || t < next) next = t;
    };
    for (const r of this.records.values()) {
      if (r.stoppedAt !== undefined) consider(r.stoppedAt + this.graceMs);
      const gone = goneSince(r.daemon);
      if (gone !== undefined) consider(gone + this.graceMs);
    }
    return next;
  }

  /**
   * Applies a merge's outcome: records new and moved-within-a-daemon owners, decides for every held
   * key that nobody was granted whether its owner keeps it. Returns the released keys (the caller
   * merges again so that the next claimant gets them) and saves when anything changed.
   */
  settle(input: SettleInput): string[] {
    let changed = false;
    const put = (r: ClaimRecord): void => {
      const old = this.records.get(r.key);
      if (old !== undefined && sameRecord(old, r)) return;
      this.records.set(r.key, r);
      changed = true;
    };
    for (const [key, owner] of input.granted) {
      const held = this.records.get(key);
      const d = input.daemon(owner.daemon);
      const route = input.route?.(key);
      if (held !== undefined) {
        if (held.daemon !== owner.daemon) continue; // cannot happen: the merge honours held keys
        put(record(key, owner, d.state === 'ok' ? d.endpoint : held.endpoint, held.since, route ?? held.route));
      } else if (input.recordNew && d.state === 'ok') {
        put(record(key, owner, d.endpoint, owner.since ?? input.now, route));
      }
    }
    const released: string[] = [];
    for (const held of [...this.records.values()]) {
      if (input.granted.has(held.key)) continue;
      const why = this.keep(held, input, put);
      if (why === undefined) continue;
      this.records.delete(held.key);
      released.push(held.key);
      changed = true;
      this.log.info(
        { key: held.key, daemon: held.daemon, container: held.container, reason: why },
        `claim released: ${held.key} (${why})`,
      );
    }
    if (changed) this.save();
    return released;
  }

  /** Resolves when the last requested save has finished (tests, shutdown). */
  flushed(): Promise<void> {
    return this.idle;
  }

  /** Undefined when the owner keeps `held` (updating it through `put`), else why it is released. */
  private keep(held: ClaimRecord, input: SettleInput, put: (r: ClaimRecord) => void): Release | undefined {
    const d = input.daemon(held.daemon);
    if (d.state === 'unreachable') return undefined;
    if (d.state === 'gone') return input.now - d.since >= this.graceMs ? 'daemon gone' : undefined;
    const claimants = input.claimants(held.daemon, held.key);
    const pick = claimants.find((c) => c.id === held.containerId) ?? claimants[0];
    if (pick === undefined) return 'removed or no longer claiming it';
    const owner = claimOwnerOf(pick, held.since);
    if (pick.running) {
      put(record(held.key, owner, d.endpoint, held.since, held.route));
      return undefined;
    }
    const stoppedAt = held.stoppedAt ?? finishedMs(pick) ?? input.now;
    if (input.now - stoppedAt >= this.graceMs) return 'stopped for longer than the grace period';
    put({ ...record(held.key, owner, d.endpoint, held.since, held.route), stoppedAt });
    return undefined;
  }

  private save(): void {
    if (this.saving) {
      this.saveAgain = true;
      return;
    }
    this.saving = true;
    this.idle = (async () => {
      do {
        this.saveAgain = false;
        try {
          await this.store.save(this.list());
          if (this.saveFailed) this.log.info({ path: this.store.location }, 'claim ledger saved again');
          this.saveFailed = false;
        } catch (err) {
          // Claims stay held in memory; the next change tries again.
          if (!this.saveFailed)
            this.log.error(
              { path: this.store.location, err: errorMessage(err) },
              'claim ledger cannot be saved: claims are held in memory only until it can',
            );
          this.saveFailed = true;
        }
      } while (this.saveAgain);
      this.saving = false;
    })();
  }
}

/** A record from an owner; only the owner's own fields are taken (an owner may be a record itself). */
function record(
  key: string,
  owner: ClaimOwner,
  endpoint: string,
  since: number,
  route: ClaimRoute | undefined,
): ClaimRecord {
  return {
    key,
    daemon: owner.daemon,
    container: owner.container,
    containerId: owner.containerId,
    ...(owner.repository !== undefined ? { repository: owner.repository } : {}),
    ...(owner.created !== undefined ? { created: owner.created } : {}),
    endpoint,
    since,
    ...(route !== undefined ? { route } : {}),
  };
}

function finishedMs(c: ContainerView): number | undefined {
  const t = c.finished === undefined ? Number.NaN : Date.parse(c.finished);
  return Number.isFinite(t) ? t : undefined;
}

function sameRecord(a: ClaimRecord, b: ClaimRecord): boolean {
  return (
    a.daemon === b.daemon &&
    a.container === b.container &&
    a.containerId === b.containerId &&
    a.repository === b.repository &&
    a.created === b.created &&
    a.endpoint === b.endpoint &&
    a.since === b.since &&
    a.stoppedAt === b.stoppedAt &&
    JSON.stringify(a.route) === JSON.stringify(b.route)
  );
}
