import { join } from 'node:path';
import type { ContainerView, PortOwner } from '../../config/labels/types.ts';
import { decodeContainers } from '../../config/labels/decode.ts';
import type { DockerProviderConfig, EdgeConfig } from '../../config/static/types.ts';
import type { DynamicConfig } from '../../config/dynamic/types.ts';
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';
import { durationOr } from '../../lib/duration.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger as rootLogger, type Logger } from '../../lib/logger.ts';
import type { Provider, ProviderSink, ProviderState } from '../provider.ts';
import { ClaimKeeper, refusedByDaemon, type DecodeFn } from './claim-keeper.ts';
import { ClaimLedger, type OwnerDaemon } from './claim-ledger.ts';
import { FileClaimStore, type ClaimStore } from './claim-store.ts';
import type { DockerClient, DockerTarget } from './docker-client.ts';
import { decodeOptions, providerState } from './daemon-state.ts';
import { DaemonSet } from './daemon-set.ts';
import type { DaemonStatus, DaemonWatcherListener } from './daemon-watcher.ts';
import { detectOwnContainerIds, ownNetworksByDaemon } from './own-container.ts';

export type { DecodeFn };

/** Construction options of {@link DockerProvider}. */
export interface DockerProviderOptions {
  readonly edge: EdgeConfig;
  readonly logger?: Logger;
  /** The label decoder; defaults to {@link decodeContainers}. Injected by tests. */
  readonly decode?: DecodeFn;
  /**
   * Ids of berth's own container (address choice: networks it shares with a target); detected from
   * /proc when absent, empty outside Docker. Tests inject a container of a real daemon.
   */
  readonly ownContainerIds?: readonly string[];
  /** Where the claim ledger is kept; defaults to `{edge.stateDir}/claims.json`. */
  readonly claimStore?: ClaimStore;
  /** Called with the repositories that have running containers, whenever that list changes (DNS automation). */
  readonly onRepositories?: (repositories: readonly string[]) => void;
  /** How long a glob-matched socket may be missing before its daemon's containers are dropped (default 30 s). */
  readonly goneGraceMs?: number;
  /** Coalesces bursts of events into one publish (default 10 ms). */
  readonly debounceMs?: number;
  /** Builds the Docker client of an endpoint; tests inject fakes. */
  readonly clientFactory?: (target: DockerTarget) => DockerClient;
  /** Backoff bounds for reconnecting (default 100 ms → 10 s). */
  readonly backoffMs?: { readonly min: number; readonly max: number };
}

/**
 * The Docker provider over many daemons (one per repository on a rediacc host). Watches every
 * configured endpoint — `unix://` sockets, `tcp://host:port`, and globs of unix sockets re-scanned
 * so new daemons are picked up — and publishes the decoded labels of all their running containers
 * as one dynamic configuration. Hostname conflicts between repositories go to the earliest created
 * container across all daemons, and the claim ledger keeps every granted key with its owner across
 * restarts, reconnects and resyncs (see claim-ledger.ts). A daemon that is down keeps its last
 * known containers and shows as `down`; one whose socket disappears for good is dropped.
 */
export class DockerProvider implements Provider {
  readonly name = 'docker';
  private readonly cfg: DockerProviderConfig;
  private readonly opts: DockerProviderOptions;
  private readonly log: Logger;
  private readonly daemons: DaemonSet;
  /** Every known container, serving or not; key `daemon\0containerId`. */
  private readonly containers = new Map<string, ContainerView>();
  private readonly ledger: ClaimLedger;
  private readonly keeper: ClaimKeeper;
  private ownIds: readonly string[] = [];
  private startedAt = Date.now();
  private expiryTimer: NodeJS.Timeout | undefined;
  private refused: Record<string, number> = {};
  /** Who stands behind each router on a dynamic port, from the last decode (for `/ports`). */
  private portOwners: readonly PortOwner[] = [];
  private sink: ProviderSink | undefined;
  private publishTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastRepositories: readonly string[] = [];
  private lastUpdate: number | undefined;
  private lastStatusKey = '';

  constructor(cfg: DockerProviderConfig, opts: DockerProviderOptions) {
    this.cfg = cfg;
    this.opts = opts;
    this.log = opts.logger ?? rootLogger('docker');
    const store = opts.claimStore ?? new FileClaimStore(join(opts.edge.stateDir, 'claims.json'), this.log);
    this.ledger = new ClaimLedger(store, {
      graceMs: durationOr(opts.edge.claimGracePeriod, 600_000),
      logger: this.log,
    });
    this.keeper = new ClaimKeeper(this.ledger, opts.decode ?? decodeContainers);
    // In a fleet, another host's claim (or its end) changes what this host may grant.
    store.shared?.onChange(() => this.schedulePublish());
    this.daemons = new DaemonSet(cfg, {
      log: this.log,
      listener: this.listener,
      onDropped: (d) => {
        this.dropDaemonContainers(d.id);
        this.schedulePublish();
      },
      goneGraceMs: opts.goneGraceMs,
      clientFactory: opts.clientFactory,
      backoffMs: opts.backoffMs,
    });
  }

  async start(sink: ProviderSink): Promise<void> {
    this.sink = sink;
    this.startedAt = Date.now();
    await this.ledger.load();
    this.ownIds = this.opts.ownContainerIds ?? (await detectOwnContainerIds());
    await this.daemons.start();
    // Give every daemon a moment to answer so the first published config is complete.
    const deadline = Date.now() + 3_000;
    while (!this.stopped && Date.now() < deadline && [...this.daemons.values()].some((d) => d.status === 'starting')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    this.publishNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.publishTimer);
    clearTimeout(this.expiryTimer);
    await this.daemons.stop();
    await this.ledger.flushed();
  }

  /** Repositories with running containers, as last decoded (DNS automation). */
  repositories(): readonly string[] {
    return this.lastRepositories;
  }

  /** The current state, as last reported to the sink. */
  state(): ProviderState {
    const state = providerState(this.daemons.values(), this.containers.values(), this.lastUpdate, this.refused);
    return this.portOwners.length > 0 ? { ...state, ports: this.portOwners } : state;
  }

  // ── containers ────────────────────────────────────────────────────────────

  private readonly listener: DaemonWatcherListener = {
    sync: (daemon: string, views: readonly ContainerView[]): void => {
      if (!this.daemons.byId(daemon)) return;
      const fresh = new Map(views.map((v) => [key(daemon, v.id), v]));
      for (const k of [...this.containers.keys()])
        if (k.startsWith(`${daemon}\0`) && !fresh.has(k)) this.containers.delete(k);
      for (const [k, v] of fresh) this.containers.set(k, v);
      this.schedulePublish();
    },
    upsert: (daemon: string, view: ContainerView): void => {
      if (!this.daemons.byId(daemon)) return;
      this.containers.set(key(daemon, view.id), view);
      this.schedulePublish();
    },
    remove: (daemon: string, id: string): void => {
      // Events may carry a short or full id; ours are full ids.
      const k = key(daemon, id);
      if (this.containers.delete(k)) this.schedulePublish();
    },
    state: (daemon: string, status: DaemonStatus, error?: string): void => {
      const d = this.daemons.byId(daemon);
      if (!d) return;
      const was = d.status;
      d.status = status;
      d.since = Date.now();
      if (error !== undefined) d.error = error;
      else delete d.error;
      if (status === 'down') {
        const kept = [...this.containers.values()].filter((v) => v.daemon === daemon).length;
        this.log.warn(
          { daemon, endpoint: d.endpoint, error, keptContainers: kept },
          'docker daemon down: keeping its last known routes, reconnecting',
        );
      } else if (status === 'ok') {
        this.log.info(
          { daemon, endpoint: d.endpoint, recovered: was === 'down' },
          was === 'down' ? 'docker daemon back: resynced' : 'docker daemon connected',
        );
      }
      this.schedulePublish();
    },
  };

  private dropDaemonContainers(daemon: string): void {
    for (const k of [...this.containers.keys()]) if (k.startsWith(`${daemon}\0`)) this.containers.delete(k);
  }

  // ── publishing ────────────────────────────────────────────────────────────

  private schedulePublish(): void {
    if (this.stopped || !this.sink || this.publishTimer) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.publishNow();
    }, this.opts.debounceMs ?? 10);
  }

  private publishNow(): void {
    if (this.stopped || !this.sink) return;
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    const diagnostics: Diagnostic[] = this.daemons.problems.map((p) =>
      diagError('providers.docker', `endpoint ${p.raw}`, p.message),
    );
    let config: DynamicConfig | undefined;
    let repositories: readonly string[] = this.lastRepositories;
    try {
      const now = Date.now();
      const result = this.keeper.decode(
        [...this.containers.values()],
        decodeOptions(this.cfg, this.opts.edge, ownNetworksByDaemon(this.containers.values(), this.ownIds)),
        {
          now,
          rank: (id) => this.daemons.byId(id)?.rank ?? { index: Number.MAX_SAFE_INTEGER, endpoint: id },
          daemon: (id) => this.ownerDaemon(id, now),
          waitingFor: [...this.daemons.values()]
            .filter((d) => d.status === 'starting')
            .map((d) => d.id)
            .sort(),
        },
      );
      config = result.config;
      diagnostics.push(...result.diagnostics);
      repositories = result.repositories;
      this.portOwners = result.ports ?? [];
      this.refused = refusedByDaemon(
        result,
        [...this.daemons.values()].map((d) => d.id),
      );
      this.armExpiry(now);
    } catch (err) {
      // A decoder bug must not take the provider down: keep the last published config.
      this.log.error({ err: errorMessage(err) }, 'docker label decoding failed; keeping the last configuration');
    }
    if (config) {
      this.lastUpdate = Date.now();
      this.sink.publish(config, diagnostics);
      if (repositories.join('\n') !== this.lastRepositories.join('\n')) {
        this.lastRepositories = repositories;
        try {
          this.opts.onRepositories?.(repositories);
        } catch (err) {
          this.log.error({ err: errorMessage(err) }, 'repositories callback failed');
        }
      }
    }
    this.reportStatus();
  }

  /** How the claim ledger sees a daemon: reachable, not (yet) reachable, or gone for good (since when). */
  private ownerDaemon(id: string, now: number): OwnerDaemon {
    const d = this.daemons.byId(id);
    if (d) return d.status === 'ok' ? { state: 'ok', endpoint: d.endpoint } : { state: 'unreachable' };
    const since = this.goneSince(id);
    return since !== undefined && since <= now ? { state: 'gone', since } : { state: 'unreachable' };
  }

  /**
   * When a daemon berth does not watch (any more) counts as gone: when its socket was dropped, or,
   * for one not found since start, after the same grace as a socket that disappears.
   */
  private goneSince(id: string): number | undefined {
    if (this.daemons.byId(id)) return undefined;
    return this.daemons.droppedAt(id) ?? this.startedAt + (this.opts.goneGraceMs ?? 30_000);
  }

  /** Publishes again when the next grace period ends (a stopped owner's, a gone daemon's), or when a missing daemon becomes gone. */
  private armExpiry(now: number): void {
    clearTimeout(this.expiryTimer);
    const ends: number[] = [];
    const expiry = this.ledger.nextExpiry((id) => this.goneSince(id));
    if (expiry !== undefined) ends.push(expiry);
    for (const r of this.ledger.list()) {
      const gone = this.goneSince(r.daemon);
      if (gone !== undefined && gone > now) ends.push(gone);
    }
    if (ends.length === 0) return;
    this.expiryTimer = setTimeout(() => this.schedulePublish(), Math.max(0, Math.min(...ends) - now) + 5);
    this.expiryTimer.unref();
  }

  private reportStatus(): void {
    const state = this.state();
    const key = JSON.stringify(state);
    if (key === this.lastStatusKey) return;
    this.lastStatusKey = key;
    this.sink?.status(state);
  }
}

function key(daemon: string, id: string): string {
  return `${daemon}\0${id}`;
}
