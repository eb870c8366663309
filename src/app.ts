import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { StaticConfig } from './config/static/types.ts';
import { durationOr } from './lib/duration.ts';
import { logger as rootLogger, type Logger } from './lib/logger.ts';
import type { MiddlewareFactory } from './http/middlewares/types.ts';
import type { L4Builders } from './pipeline/compile.ts';
import { ConfigWatcher } from './pipeline/config-watcher.ts';
import type { SnapshotHolder } from './pipeline/snapshot-holder.ts';
import type { Provider } from './providers/provider.ts';
import { ApiServer, createApiHandler, parseListen, type ApiSources, type StatusPart } from './api/api-server.ts';
import { dashboardHandler } from './api/dashboard.ts';
import { CertificateStore } from './tls/certificate-store.ts';
import type { CertificateManager } from './acme/certificate-manager.ts';
import type { Fleet } from './fleet/fleet.ts';
import { VERSION } from './version.ts';
import { socketFds, type InheritedSocket } from './ops/systemd.ts';
import { PortAllocator } from './tcp/port-allocator.ts';
import { buildTcpRouting } from './tcp/build.ts';
import { buildUdpRouting } from './udp/build.ts';
import { DataPlane } from './data-plane/data-plane.ts';
import { internalServices } from './data-plane/internal-services.ts';
import { WorkerGroup } from './workers/worker-group.ts';

/**
 * A part of the control plane that runs beside the providers (DNS automation): shown in `/health`
 * and `/diagnostics`, stopped with berth, told when the static file is re-read (SIGHUP).
 */
export interface BackgroundPart extends StatusPart {
  stop(): void | Promise<void>;
  reconfigure?(config: StaticConfig): void;
}

/** Optional parts wired by the caller (kept injectable so tests can vary them). */
export interface BerthParts {
  readonly middlewares?: Readonly<Record<string, MiddlewareFactory>>;
  readonly l4?: L4Builders;
  readonly providers?: readonly Provider[];
  readonly background?: readonly BackgroundPart[];
  /** Fleet mode, already connected (else started here when `fleet:` is configured). */
  readonly fleet?: Fleet;
  /** The dynamic-port allocator (a fleet shares its ports); default: one on `edge.stateDir`. */
  readonly ports?: PortAllocator;
}

/** Options for one berth instance. */
export interface BerthOptions {
  readonly logger?: Logger;
  /** Data-plane worker threads; default: `workers` of the static config ('auto' = one per core). */
  readonly workers?: number;
  /** Listening sockets inherited from systemd or a previous process, by entrypoint name. */
  readonly inherited?: ReadonlyMap<string, InheritedSocket>;
  readonly parts?: BerthParts;
  /**
   * A failure berth cannot repair in place (a worker ended on a listening socket it shared): the
   * caller restarts berth. Default: logged only.
   */
  readonly onFatal?: (message: string) => void;
}

/**
 * A running berth: providers → watcher → snapshot → data plane, plus the TLS store, ACME and the
 * API. Composition only: the control plane's own DataPlane serves every entrypoint with
 * `workers: 1`, and the UDP ones beside a WorkerGroup of DataPlanes otherwise.
 */
export class Berth {
  readonly config: StaticConfig;
  readonly watcher: ConfigWatcher;
  readonly certificates = new CertificateStore();
  readonly plane: DataPlane;
  readonly ports: PortAllocator;
  /** The ACME manager, when resolvers are configured (loaded on demand: acme-client is heavy). */
  acme: CertificateManager | undefined;
  /** Fleet mode (`fleet:`): certificates, leases and challenge answers shared through Redis. */
  fleet: Fleet | undefined;
  /** The data-plane worker threads, when more than one thread serves. */
  workers: WorkerGroup | undefined;
  /** The API listener (a hand-over releases it for the successor). */
  api: ApiServer | undefined;
  private readonly providers: readonly Provider[];
  private readonly background: readonly BackgroundPart[];
  private readonly log: Logger;
  private readonly startedAt = Date.now();
  private readonly workerCount: number;
  private apiAddress: { host: string; port: number } | undefined;
  private readonly onFatal: ((message: string) => void) | undefined;

  private constructor(config: StaticConfig, opts: BerthOptions) {
    this.config = config;
    this.log = opts.logger ?? rootLogger();
    this.workerCount = opts.workers ?? resolveWorkers(config.workers);
    this.ports = opts.parts?.ports ?? new PortAllocator(config.edge.stateDir, config.edge.dynamicPorts);
    this.onFatal = opts.onFatal;
    this.providers = opts.parts?.providers ?? [];
    this.background = opts.parts?.background ?? [];
    const l4Env = { tls: this.certificates, logger: this.log.child({ component: 'l4' }), allocator: this.ports };
    // The API's sources read the plane: the handler is made on first use.
    let apiHandler: ReturnType<typeof createApiHandler> | undefined;
    this.plane = new DataPlane({
      config,
      logger: this.log,
      certificates: this.certificates,
      internalServices: internalServices((req, res) =>
        (apiHandler ??= createApiHandler(this.apiSources(), this.log.child({ component: 'api' })))(req, res),
      ),
      middlewares: opts.parts?.middlewares ?? {},
      l4: opts.parts?.l4 ?? {
        tcp: (c, e) => buildTcpRouting(c, e, l4Env),
        udp: (c, e) => buildUdpRouting(c, e, l4Env),
      },
      // With workers, TCP entrypoints live in the workers; UDP (one session table) stays here.
      protocols: new Set(this.workerCount > 1 ? ['udp'] : ['tcp', 'udp']),
      probes: true,
      http01: () => {
        const r = this.acme?.http01Responder;
        return r ? (req, res) => r.handle(req, res) : undefined;
      },
    });
    this.watcher = new ConfigWatcher({
      throttleMs: Math.min(durationOr(config.providers.providersThrottleDuration, 2000), 500),
      compile: (merged, version, diagnostics) => this.plane.compile(merged, version, diagnostics),
      holder: this.plane.holder,
      logger: this.log.child({ component: 'pipeline' }),
      onBuilt: (snap) => {
        for (const d of this.certificates.syncFromConfig(snap.config.tls))
          this.log.warn({ element: d.element }, d.message);
        this.acme?.update(snap.config, this.config.entryPoints);
        this.plane.follow(snap);
        this.workers?.publishConfig(snap);
      },
    });
    this.ports.onChange(() => this.watcher.rebuildNow());
  }

  /** The current routing snapshot's holder. */
  get holder(): SnapshotHolder {
    return this.plane.holder;
  }

  /** Builds and starts an instance: providers, then listeners (a port problem fails fast), then the API. */
  static async start(config: StaticConfig, opts: BerthOptions = {}): Promise<Berth> {
    const b = new Berth(config, opts);
    await b.start(opts);
    return b;
  }

  private async start(opts: BerthOptions): Promise<void> {
    try {
      mkdirSync(this.config.edge.stateDir, { recursive: true });
    } catch (err) {
      this.log.warn(
        { err, stateDir: this.config.edge.stateDir },
        'state directory is not writable; port allocations and certificates may not persist',
      );
    }
    if (this.config.fleet) {
      const { Fleet } = await import('./fleet/fleet.ts');
      this.fleet = opts.parts?.fleet ?? (await Fleet.start(this.config.fleet, this.log.child({ component: 'fleet' })));
    }
    if (Object.keys(this.config.certificatesResolvers ?? {}).length > 0) {
      const { CertificateManager } = await import('./acme/certificate-manager.ts');
      const fleet = this.fleet;
      this.acme = new CertificateManager({
        resolvers: this.config.certificatesResolvers,
        store: this.certificates,
        logger: this.log.child({ component: 'acme' }),
        ...(fleet ? { storageFactory: (path: string) => fleet.acmeStorage(path), relay: fleet.relay } : {}),
      });
      fleet?.attach(this.acme.http01Responder, this.certificates);
      await this.acme.start();
    }
    for (const d of this.ports.diagnostics) this.log.warn({ element: d.element }, d.message);
    // Providers first: a process that takes over inherited sockets (restart, upgrade) must not
    // answer queued connections with an empty configuration. Each provider gets up to 10 s to
    // publish or to report that it cannot.
    const inherited = new Map([...(opts.inherited ?? [])].map(([name, s]) => [name, socketFds(s)]));
    const multi = this.workerCount > 1;
    // Worker threads load their modules while the providers are read.
    const workers = multi ? await this.spawnWorkers(inherited) : undefined;
    try {
      await this.serve(workers, inherited);
    } catch (err) {
      await workers?.drain(0);
      throw err;
    }
  }

  private async serve(
    workers: WorkerGroup | undefined,
    inherited: ReadonlyMap<string, readonly number[]>,
  ): Promise<void> {
    await this.startProviders(10_000);
    await this.plane.start(inherited);
    for (const a of this.plane.addresses())
      this.log.info(
        { entrypoint: a.name, address: `${fmtAddr(a.address, a.port)}${a.protocol === 'udp' ? '/udp' : ''}` },
        `entrypoint ${a.name} listening on ${fmtAddr(a.address, a.port)}${a.protocol === 'udp' ? '/udp' : ''}`,
      );
    // The API says "up" only once the data plane serves: with workers, it opens after them (they
    // forward API requests to it, so its address must be known: port 0 opens first).
    const listen = parseListen(this.config.api.listen);
    if (workers && listen.port !== 0)
      await this.startWorkers(workers, `http://${fmtAddr(listen.host, listen.port)}`, inherited);
    this.api = new ApiServer(this.config.api.listen, this.apiSources(), this.log.child({ component: 'api' }));
    const a = (this.apiAddress = await this.api.start());
    this.log.info({ api: `${a.host}:${a.port}` }, `api listening on http://${fmtAddr(a.host, a.port)}`);
    if (workers && !this.workers) await this.startWorkers(workers, this.apiUrl(), inherited);
  }

  /** Starts every provider; resolves when each has published or failed, or after `capMs`. */
  private async startProviders(capMs: number): Promise<void> {
    const firsts = this.providers.map(
      (p) =>
        new Promise<void>((resolve) => {
          const sink = this.watcher.sinkFor(p.name);
          p.start({
            publish: (config, diagnostics) => {
              sink.publish(config, diagnostics);
              resolve();
            },
            status: (state) => {
              sink.status(state);
              if (state.status === 'down' || state.status === 'degraded') resolve();
            },
          }).catch((err: unknown) => {
            this.log.error({ err, provider: p.name }, 'provider failed to start');
            sink.status({ status: 'down', error: (err as Error).message });
            resolve();
          });
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(firsts),
      new Promise<void>((r) => {
        timer = setTimeout(r, capMs);
      }),
    ]);
    clearTimeout(timer);
    this.watcher.rebuildNow();
  }

  private spawnWorkers(inherited: ReadonlyMap<string, readonly number[]>): Promise<WorkerGroup> {
    return WorkerGroup.spawn(
      {
        config: this.config,
        inherited,
        snapshot: () => this.holder.current(),
        ports: () => this.ports.list().map((p) => ({ key: p.key, port: p.port, protocol: p.protocol })),
        certificates: this.certificates,
        pool: this.plane.pool,
        http01: this.acme?.http01Responder,
        metrics: this.plane.metrics,
        logger: this.log.child({ component: 'workers' }),
        onFatal: (message) => {
          this.log.fatal(message);
          this.onFatal?.(message);
        },
      },
      this.workerCount,
    );
  }

  private async startWorkers(
    workers: WorkerGroup,
    apiUrl: string,
    inherited: ReadonlyMap<string, readonly number[]>,
  ): Promise<void> {
    this.workers = workers;
    await workers.start(apiUrl);
    for (const [name, ep] of workers.entrypoints) {
      const fds = inherited.get(name);
      const where = fds ? `inherited fd ${fds.join(', ')}` : fmtAddr(ep.host || '0.0.0.0', ep.port);
      this.log.info(
        { entrypoint: name, address: where, workers: workers.ids() },
        `entrypoint ${name} listening on ${where} (${this.workerCount} workers)`,
      );
    }
  }

  /**
   * The TCP listening sockets to pass to a successor (SIGUSR2), by entrypoint: those of this
   * thread's entrypoints, and those the workers opened at start. Dynamic-port entrypoints that
   * workers open later are not passed: the successor binds them anew.
   */
  listeningSockets(): Map<string, number[]> {
    return new Map([...(this.workers?.listeningSockets() ?? []), ...this.plane.listenerFds()]);
  }

  private apiSources(): ApiSources {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const sources: ApiSources = {
      get holder() {
        return self.plane.holder;
      },
      providers: () => self.watcher.providerStates(),
      version: VERSION,
      startedAt: self.startedAt,
      certificates: () =>
        self.acme ? { managed: self.acme.status(), store: self.certificates.list() } : self.certificates.list(),
      certificateFor: (sni: string) => self.certificates.select(sni),
      ...(self.fleet ? { fleet: () => self.fleet!.status() } : {}),
      ports: () => ({ allocations: self.ports.list(), range: self.config.edge.dynamicPorts }),
      entrypoints: () => [
        ...[...(self.workers?.entrypoints ?? [])].map(([name, e]) => ({
          name,
          address: fmtAddr(e.host || '0.0.0.0', e.port),
          protocol: 'tcp',
          workers: self.workers?.ids() ?? [],
        })),
        ...self.plane
          .addresses()
          .map((a) => ({ name: a.name, address: fmtAddr(a.address, a.port), protocol: a.protocol })),
      ],
      ...(self.plane.metrics
        ? {
            metrics: () =>
              self.plane.metrics!.render({
                snapshot: self.holder.current(),
                providers: self.watcher.providerStates(),
                certificates: self.certificates.list(),
                workers: self.workers?.metricStates() ?? [],
                ...(self.acme ? { acmeStorage: self.acme.storageStatus() } : {}),
                ...(self.fleet ? { fleet: self.fleet.status() } : {}),
              }),
          }
        : {}),
      dashboard: (req, res) => page(req, res),
      parts: () => self.background,
    };
    const page = dashboardHandler(sources);
    return sources;
  }

  /**
   * A re-read static file (SIGHUP) for the parts beside the providers: DNS records follow a new
   * public address. Everything else of the static file needs a restart.
   */
  reconfigure(config: StaticConfig): void {
    for (const p of this.background) p.reconfigure?.(config);
  }

  /** Where the API listens (after start). */
  apiUrl(): string {
    const a = this.apiAddress!;
    return `http://${fmtAddr(a.host, a.port)}`;
  }

  /** Opens the log files again (log rotation), in this thread and in every worker. */
  reopenLogs(): void {
    this.plane.reopenLogs();
    this.workers?.reopenLogs();
  }

  /** Drains the data plane up to `graceMs` (the API first: "up" must mean a successor), then stops the rest. */
  async stop(graceMs = 10_000): Promise<void> {
    const api = this.api?.stop();
    await Promise.all([this.workers?.drain(graceMs), this.plane.drain(graceMs)]);
    this.watcher.stop();
    await this.acme?.stop();
    await this.fleet?.stop();
    await Promise.all(this.providers.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(this.background.map(async (p) => p.stop()));
    await api;
    await this.plane.stop();
  }
}

/** `workers: auto` is one data-plane thread per core; 1 keeps everything in the main thread. */
export function resolveWorkers(w: number | 'auto' | undefined): number {
  if (w === undefined || w === 'auto') return availableParallelism();
  return Math.max(1, Math.floor(w));
}

function fmtAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
