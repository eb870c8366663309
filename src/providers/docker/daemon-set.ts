import { type FSWatcher, watch } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DockerProviderConfig } from '../../config/static/types.ts';
import { Backoff } from '../../lib/backoff.ts';
import type { Logger } from '../../lib/logger.ts';
import type { EndpointRank } from './claim-order.ts';
import type { Daemon } from './daemon-state.ts';
import { DaemonWatcher, type DaemonWatcherListener } from './daemon-watcher.ts';
import { createDockerClient, type DockerClient, type DockerTarget, readTlsMaterial } from './docker-client.ts';
import {
  DEFAULT_ENDPOINTS,
  daemonIdForSocket,
  type EndpointProblem,
  type EndpointSpec,
  expandSocketGlob,
  parseEndpoints,
} from './endpoints.ts';

/** Construction options of {@link DaemonSet}. */
export interface DaemonSetOptions {
  readonly log: Logger;
  /** Receives every daemon's containers and state changes. */
  readonly listener: DaemonWatcherListener;
  /** Called when a glob-matched daemon's socket has been gone for the grace time and the daemon is dropped. */
  readonly onDropped: (daemon: Daemon) => void;
  /** How long a glob-matched socket may be missing before its daemon is dropped (default 30 s). */
  readonly goneGraceMs?: number | undefined;
  /** Builds the Docker client of an endpoint; tests inject fakes. */
  readonly clientFactory?: ((target: DockerTarget) => DockerClient) | undefined;
  /** Backoff bounds for reconnecting. */
  readonly backoffMs?: { readonly min: number; readonly max: number } | undefined;
}

/**
 * The Docker daemons the provider watches, from its endpoints: `tcp://` endpoints once, unix
 * sockets and globs of them re-scanned (on a timer, and at once when a watched directory changes)
 * so that new daemons are picked up and vanished ones dropped after a grace time. Each daemon has
 * its own {@link DaemonWatcher} reporting to one listener.
 */
export class DaemonSet {
  /** The endpoints that could not be used, with why (reported as diagnostics). */
  readonly problems: EndpointProblem[];
  private readonly specs: EndpointSpec[];
  private readonly cfg: DockerProviderConfig;
  private readonly opts: DaemonSetOptions;
  private readonly daemons = new Map<string, Daemon>(); // key: socket path or tcp endpoint
  /** When each daemon whose socket disappeared for good was dropped: its claims last a grace period more. */
  private readonly dropped = new Map<string, number>();
  /** Directory watchers of globs: a new socket is noticed at once, the periodic rescan is the fallback. */
  private readonly dirWatchers = new Map<string, FSWatcher>();
  private rescanTimer: NodeJS.Timeout | undefined;
  private rescanning: Promise<void> | undefined;
  private rescanAgain = false;
  private stopped = false;

  constructor(cfg: DockerProviderConfig, opts: DaemonSetOptions) {
    this.cfg = cfg;
    this.opts = opts;
    const raws = [...(cfg.endpoints ?? []), ...(cfg.endpoint ? [cfg.endpoint] : [])];
    const parsed = parseEndpoints(raws.length > 0 ? raws : DEFAULT_ENDPOINTS, cfg.tls !== undefined);
    this.specs = parsed.specs;
    this.problems = parsed.problems;
  }

  /** Reports the unusable endpoints, starts a watcher per daemon found and re-scans periodically. */
  async start(): Promise<void> {
    if (this.stopped) return;
    for (const p of this.problems) this.opts.log.error({ endpoint: p.raw }, `docker endpoint ignored: ${p.message}`);
    for (const spec of this.specs) if (spec.kind === 'tcp') this.addTcp(spec);
    await this.rescan();
    this.rescanTimer = setInterval(() => void this.rescan(), this.cfg.rescanIntervalMs ?? 2_000);
    this.rescanTimer.unref();
  }

  /** Stops scanning and every daemon's watcher. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.rescanTimer);
    for (const w of this.dirWatchers.values()) w.close();
    this.dirWatchers.clear();
    await this.rescanning;
    await Promise.all([...this.daemons.values()].map((d) => d.watcher.stop()));
  }

  /** Every daemon watched now. */
  values(): IterableIterator<Daemon> {
    return this.daemons.values();
  }

  /** The daemon watched under this id, if any. */
  byId(id: string): Daemon | undefined {
    for (const d of this.daemons.values()) if (d.id === id) return d;
    return undefined;
  }

  /** When the daemon with this id was dropped for good (its socket gone), if it was. */
  droppedAt(id: string): number | undefined {
    return this.dropped.get(id);
  }

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
      if (spec.kind === 'unix')
        present.set(spec.path, { fromGlob: false, index: present.get(spec.path)?.index ?? index });
      else if (spec.kind === 'glob') {
        const dir = dirname(spec.pattern);
        if (!/[*?[]/.test(dir)) this.watchDir(dir);
        for (const p of await expandSocketGlob(spec.pattern))
          if (!present.has(p)) present.set(p, { fromGlob: true, index });
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
        this.dropped.set(d.id, Date.now());
        void d.watcher.stop();
        this.opts.log.warn(
          { daemon: d.id, endpoint: d.endpoint },
          'docker daemon socket gone: its containers are dropped',
        );
        this.opts.onDropped(d);
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
      this.opts.log.error({ endpoint: spec.raw }, `docker endpoint ignored: ${read.error}`);
      return;
    }
    const tls = read?.tls;
    const rank = { index: this.specs.indexOf(spec), endpoint: spec.raw };
    this.addDaemon(
      spec.raw,
      { id, endpoint: spec.raw, fromGlob: false, rank },
      { host: spec.host, port: spec.port, ...(tls ? { tls } : {}) },
    );
  }

  private addDaemon(
    key: string,
    base: { id: string; endpoint: string; fromGlob: boolean; socketPath?: string; rank: EndpointRank },
    target: DockerTarget,
  ): void {
    const client = (this.opts.clientFactory ?? createDockerClient)(target);
    const b = this.opts.backoffMs;
    const watcher = new DaemonWatcher(
      base.id,
      client,
      this.opts.listener,
      b ? { backoff: new Backoff(b.min, b.max) } : {},
    );
    const d: Daemon = { ...base, watcher, status: 'starting', since: Date.now() };
    this.daemons.set(key, d);
    this.dropped.delete(base.id);
    watcher.start();
  }
}

async function socketExists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}
