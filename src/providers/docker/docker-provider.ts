import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { stat } from 'node:fs/promises';
import type { ContainerView, PortOwner } from '../../config/labels/types.ts';
import { decodeContainers } from '../../config/labels/decode.ts';
import type { DockerProviderConfig, EdgeConfig } from '../../config/static/types.ts';
import type { DynamicConfig } from '../../config/dynamic/types.ts';
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';
import { durationOr } from '../../lib/duration.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger as rootLogger, type Logger } from '../../lib/logger.ts';
import type { Provider, ProviderSink, ProviderState } from '../provider.ts';
import { Backoff } from '../../lib/backoff.ts';
import { ClaimKeeper, refusedByDaemon, type DecodeFn } from './claim-keeper.ts';
import { ClaimLedger, type OwnerDaemon } from './claim-ledger.ts';
import type { EndpointRank } from './claim-order.ts';
import { FileClaimStore, type ClaimStore } from './claim-store.ts';
import { createDockerClient, readTlsMaterial, type DockerClient, type DockerTarget } from './docker-client.ts';
import { decodeOptions, providerState, type Daemon } from './daemon-state.ts';
import { DaemonWatcher, type DaemonStatus } from './daemon-watcher.ts';
import { DEFAULT_ENDPOINTS, daemonIdForSocket, expandSocketGlob, parseEndpoints, type EndpointProblem, type EndpointSpec } from './endpoints.ts';
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
  private readonly specs: EndpointSpec[];
  private readonly problems: EndpointProblem[];
  private readonly daemons = new Map<string, Daemon>(); // key: socket path or tcp endpoint
  /** Every known container, serving or not; key `daemon\0containerId`. */
  private readonly containers = new Map<string, ContainerView>();
  private readonly ledger: ClaimLedger;
  private readonly keeper: ClaimKeeper;
  private ownIds: readonly string[] = [];
  private startedAt = Date.now();
  /** When each daemon whose socket disappeared for good was dropped: its claims last a grace period more. */
  private readonly droppedAt = new Map<string, number>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private refused: Record<string, number> = {};
  /** Who stands behind each router on a dynamic port, from the last decode (for `/ports`). */
  private portOwners: readonly PortOwner[] = [];
  private sink: ProviderSink | undefined;
  private publishTimer: NodeJS.Timeout | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanning: Promise<void> | undefined;
  private rescanAgain = false;
  /** Directory watchers of globs: a new socket is noticed at once, the periodic rescan is the fallback. */
  private readonly dirWatchers = new Map<string, FSWatcher>();
  private stopped = false;
  private lastRepositories: readonly string[] = [];
  private lastUpdate: number | undefined;
  private lastStatusKey = '';

  constructor(cfg: DockerProviderConfig, opts: DockerProviderOptions) {
    this.cfg = cfg;
    this.opts = opts;
    this.log = opts.logger ?? rootLogger('docker');
    const store = opts.claimStore ?? new FileClaimStore(join(opts.edge.stateDir, 'claims.json'), this.log);
    this.ledger = new ClaimLedger(store, { graceMs: durationOr(opts.edge.claimGracePeriod, 600_000), logger: this.log });
    this.keeper = new ClaimKeeper(this.ledger, opts.decode ?? decodeContainers);
    // In a fleet, another host's claim (or its end) changes what this host may grant.
    store.shared?.onChange(() => this.schedulePublish());
    const raws = [...(cfg.endpoints ?? []), ...(cfg.endpoint ? [cfg.endpoint] : [])];
    const parsed = parseEndpoints(raws.length > 0 ? raws : DEFAULT_ENDPOINTS, cfg.tls !== undefined);
    this.specs = parsed.specs;
    this.problems = parsed.problems;
  }

  async start(sink: ProviderSink): Promise<void> {
    this.sink = sink;
    this.startedAt = Date.now();
    await this.ledger.load();
    this.ownIds = this.opts.ownContainerIds ?? (await detectOwnContainerIds());
    for (const p of this.problems) this.log.error({ endpoint: p.raw }, `docker endpoint ignored: ${p.message}`);
    for (const spec of this.specs) if (spec.kind === 'tcp') this.addTcp(spec);
    await this.rescan();
    // Give every daemon a moment to answer so the first published config is complete.
    const deadline = Date.now() + 3_000;
    while (!this.stopped && Date.now() < deadline && [...this.daemons.values()].some((d) => d.status === 'starting')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const every = this.cfg.rescanIntervalMs ?? 2_000;
    this.rescanTimer = setInterval(() => void this.rescan(), every);
    this.rescanTimer.unref();
    this.publishNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.rescanTimer);
    clearTimeout(this.publishTimer);
    clearTimeout(this.expiryTimer);
    for (const w of this.dirWatchers.values()) w.close();
    this.dirWatchers.clear();
    await this.rescanning;
    await Promise.all([...this.daemons.values()].map((d) => d.watcher.stop()));
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

  // ── endpoints ─────────────────────────────────────────────────────────────

  /** Resolves unix endpoints and globs; starts watchers for new sockets, drops vanished ones after the grace time. */
  private rescan(): Promise<void> {
    if (this.rescanning) {
      // A change arrived during a scan: scan once more afterwards so it is not missed.
      this.rescanAgain = true;
      return this.rescanning;
    }
    this.rescanning = this.doRescan().finally(() => {
      this.rescanning = undefined;
      if (this.rescanAgain && !this.stopped) {
        this.rescanAgain = false;
        void this.rescan();
      }
    });
    return this.rescanning;
  }

  private watchDir(dir: string): void {
    if (this.dirWatchers.has(dir) || this.stopped) return;
    try {
      const w = watch(dir, { persistent: false }, () => void this.rescan());
      w.on('error', () => {
        w.close();
        this.dirWatchers.delete(dir);
      });
      this.dirWatchers.set(dir, w);
    } catch {
      // Directory missing (yet) or not watchable: the periodic rescan covers it.
    }
  }

  private async doRescan(): Promise<void> {
    const present = new Map<string, { fromGlob: boolean; index: number }>(); // path → found through a glob only, first spec
    for (const [index, spec] of this.specs.entries()) {
      if (spec.kind === 'unix') present.set(spec.path, { fromGlob: false, index: present.get(spec.path)?.index ?? index });
      else if (spec.kind === 'glob') {
        const dir = dirname(spec.pattern);
        if (!/[*?[]/.test(dir)) this.watchDir(dir);
        for (const p of await expandSocketGlob(spec.pattern)) if (!present.has(p)) present.set(p, { fromGlob: true, index });
      }
    }
    if (this.stopped) return;
    for (const [path, { fromGlob, index }] of present) {
      const d = this.daemons.get(path);
      if (!d) this.addUnix(path, fromGlob, index);
      else {
        d.goneSince = undefined;
        // The socket is (back) there: retry at once instead of waiting out the backoff.
        if (d.status === 'down' && (await socketExists(path))) d.watcher.wake();
      }
    }
    const grace = this.opts.goneGraceMs ?? 30_000;
    for (const [key, d] of this.daemons) {
      if (!d.fromGlob || present.has(key)) continue;
      if (d.goneSince === undefined) {
        d.goneSince = Date.now();
        // Decide at the end of the grace time even if nothing else triggers a scan by then.
        setTimeout(() => void this.rescan(), grace + 10).unref();
      }
      if (Date.now() - d.goneSince >= grace) {
        this.daemons.delete(key);
        this.droppedAt.set(d.id, Date.now());
        void d.watcher.stop();
        this.log.warn({ daemon: d.id, endpoint: d.endpoint }, 'docker daemon socket gone: its containers are dropped');
        this.dropDaemonContainers(d.id);
        this.schedulePublish();
      }
    }
  }

  private uniqueId(base: string): string {
    const used = new Set([...this.daemons.values()].map((d) => d.id));
    if (!used.has(base)) return base;
    for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
  }

  private addUnix(path: string, fromGlob: boolean, index: number): void {
    const id = this.uniqueId(daemonIdForSocket(path));
    const endpoint = `unix://${path}`;
    this.addDaemon(path, { id, endpoint, fromGlob, socketPath: path, rank: { index, endpoint } }, { socketPath: path });
  }

  private addTcp(spec: Extract<EndpointSpec, { kind: 'tcp' }>): void {
    const id = this.uniqueId(`${spec.host}:${spec.port}`);
    const read = spec.tls ? readTlsMaterial(this.cfg.tls ?? {}) : undefined;
    if (read && 'error' in read) {
      this.problems.push({ raw: spec.raw, message: read.error });
      this.log.error({ endpoint: spec.raw }, `docker endpoint ignored: ${read.error}`);
      return;
    }
    const tls = read?.tls;
    const rank = { index: this.specs.indexOf(spec), endpoint: spec.raw };
    this.addDaemon(spec.raw, { id, endpoint: spec.raw, fromGlob: false, rank }, { host: spec.host, port: spec.port, ...(tls ? { tls } : {}) });
  }

  private addDaemon(key: string, base: { id: string; endpoint: string; fromGlob: boolean; socketPath?: string; rank: EndpointRank }, target: DockerTarget): void {
    const client = (this.opts.clientFactory ?? createDockerClient)(target);
    const b = this.opts.backoffMs;
    const watcher = new DaemonWatcher(base.id, client, this.listener, b ? { backoff: new Backoff(b.min, b.max) } : {});
    const d: Daemon = { ...base, watcher, status: 'starting', since: Date.now() };
    this.daemons.set(key, d);
    this.droppedAt.delete(base.id);
    watcher.start();
  }

  private daemonById(id: string): Daemon | undefined {
    for (const d of this.daemons.values()) if (d.id === id) return d;
    return undefined;
  }

  // ── containers ────────────────────────────────────────────────────────────

  private readonly listener = {
    sync: (daemon: string, views: readonly ContainerView[]): void => {
      if (!this.daemonById(daemon)) return;
      const fresh = new Map(views.map((v) => [key(daemon, v.id), v]));
      for (const k of [...this.containers.keys()]) if (k.startsWith(`${daemon}\0`) && !fresh.has(k)) this.containers.delete(k);
      for (const [k, v] of fresh) this.containers.set(k, v);
      this.schedulePublish();
    },
    upsert: (daemon: string, view: ContainerView): void => {
      if (!this.daemonById(daemon)) return;
      this.containers.set(key(daemon, view.id), view);
      this.schedulePublish();
    },
    remove: (daemon: string, id: string): void => {
      // Events may carry a short or full id; ours are full ids.
      const k = key(daemon, id);
      if (this.containers.delete(k)) this.schedulePublish();
    },
    state: (daemon: string, status: DaemonStatus, error?: string): void => {
      const d = this.daemonById(daemon);
      if (!d) return;
      const was = d.status;
      d.status = status;
      d.since = Date.now();
      if (error !== undefined) d.error = error;
      else delete d.error;
      if (status === 'down') {
        const kept = [...this.containers.values()].filter((v) => v.daemon === daemon).length;
        this.log.warn({ daemon, endpoint: d.endpoint, error, keptContainers: kept }, 'docker daemon down: keeping its last known routes, reconnecting');
      } else if (status === 'ok') {
        this.log.info({ daemon, endpoint: d.endpoint, recovered: was === 'down' }, was === 'down' ? 'docker daemon back: resynced' : 'docker daemon connected');
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
    const diagnostics: Diagnostic[] = this.problems.map((p) => diagError('providers.docker', `endpoint ${p.raw}`, p.message));
    let config: DynamicConfig | undefined;
    let repositories: readonly string[] = this.lastRepositories;
    try {
      const now = Date.now();
      const result = this.keeper.decode([...this.containers.values()], decodeOptions(this.cfg, this.opts.edge, ownNetworksByDaemon(this.containers.values(), this.ownIds)), {
        now,
        rank: (id) => this.daemonById(id)?.rank ?? { index: Number.MAX_SAFE_INTEGER, endpoint: id },
        daemon: (id) => this.ownerDaemon(id, now),
        waitingFor: [...this.daemons.values()].filter((d) => d.status === 'starting').map((d) => d.id).sort(),
      });
      config = result.config;
      diagnostics.push(...result.diagnostics);
      repositories = result.repositories;
      this.portOwners = result.ports ?? [];
      this.refused = refusedByDaemon(result, [...this.daemons.values()].map((d) => d.id));
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
    const d = this.daemonById(id);
    if (d) return d.status === 'ok' ? { state: 'ok', endpoint: d.endpoint } : { state: 'unreachable' };
    const since = this.goneSince(id);
    return since !== undefined && since <= now ? { state: 'gone', since } : { state: 'unreachable' };
  }

  /**
   * When a daemon berth does not watch (any more) counts as gone: when its socket was dropped, or,
   * for one not found since start, after the same grace as a socket that disappears.
   */
  private goneSince(id: string): number | undefined {
    if (this.daemonById(id)) return undefined;
    return this.droppedAt.get(id) ?? this.startedAt + (this.opts.goneGraceMs ?? 30_000);
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

async function socketExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}
