import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StaticConfig } from './config/static/types.ts';
import { durationOr } from './lib/duration.ts';
import { logger as rootLogger, type Logger } from './lib/logger.ts';
import { ServicePool } from './http/service-builder.ts';
import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from './http/handler.ts';
import { createAccessLog, type AccessLog } from './observability/access-log.ts';
import { Metrics } from './observability/metrics.ts';
import { dashboardHandler } from './api/dashboard.ts';
import type { MiddlewareFactory } from './http/middlewares/types.ts';
import { compileSnapshot, type CompileEnv, type L4Builders } from './pipeline/compile.ts';
import { ConfigWatcher } from './pipeline/config-watcher.ts';
import { SnapshotHolder } from './pipeline/snapshot-holder.ts';
import type { Provider } from './providers/provider.ts';
import { TcpEntrypoint, type EntrypointLimits } from './entrypoints/tcp-entrypoint.ts';
import { entrypointLimits } from './entrypoints/limits.ts';
import { ApiServer, createApiHandler, parseListen, type ApiSources, type StatusPart } from './api/api-server.ts';
import { CertificateStore } from './tls/certificate-store.ts';
import { tlsServerOptions } from './tls/options.ts';
import type { CertificateManager } from './acme/certificate-manager.ts';
import type { Fleet } from './fleet/fleet.ts';
import { VERSION } from './version.ts';
import { availableParallelism } from 'node:os';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { WorkerSupervisor } from './workers/supervisor.ts';
import { assignSockets, bindReusePort, type BoundSocket } from './workers/bound-sockets.ts';
import { socketFds, type InheritedSocket } from './ops/systemd.ts';
import { PortAllocator } from './tcp/port-allocator.ts';
import { KeyedResources } from './lib/keyed-resources.ts';
import { buildTcpRouting } from './tcp/build.ts';
import { buildUdpRouting } from './udp/build.ts';
import { UdpEntrypoint } from './udp/entrypoint.ts';
import type { UdpEntrypointRouting } from './udp/routing.ts';
import type { EntryPointConfig } from './config/static/types.ts';

const TICKET_ROTATION_MS = 12 * 3600_000;

/**
 * A part of the control plane that runs beside the providers (DNS automation): shown in `/health`
 * and `/diagnostics`, stopped with berth, told when the static file is re-read (SIGHUP).
 */
export interface BackgroundPart extends StatusPart {
  stop(): void | Promise<void>;
  reconfigure?(config: StaticConfig): void;
}

/** Optional parts wired by the caller (kept injectable so tests and workers can vary them). */
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
  /** Data-plane worker processes; default: `workers` of the static config ('auto' = one per core). */
  readonly workers?: number;
  /** Listening sockets inherited from systemd or a previous process, by entrypoint name. */
  readonly inherited?: ReadonlyMap<string, InheritedSocket>;
  readonly parts?: BerthParts;
}

/**
 * A running berth: providers → watcher → snapshot → entrypoints, plus the TLS store and the API.
 * The only place that wires everything together.
 */
export class Berth {
  readonly config: StaticConfig;
  readonly holder: SnapshotHolder;
  readonly watcher: ConfigWatcher;
  readonly certificates: CertificateStore;
  /** The ACME manager, when resolvers are configured (loaded on demand: acme-client is heavy). */
  acme: CertificateManager | undefined;
  /** Fleet mode (`fleet:`): certificates, leases and challenge answers shared through Redis. */
  fleet: Fleet | undefined;
  readonly entrypoints = new Map<string, TcpEntrypoint>();
  readonly udpEntrypoints = new Map<string, UdpEntrypoint>();
  readonly ports: PortAllocator;
  private readonly providers: Provider[] = [];
  private readonly pool: ServicePool;
  private readonly log: Logger;
  private api: ApiServer | undefined;
  private apiAddress: { host: string; port: number } | undefined;
  private readonly startedAt = Date.now();
  private readonly accessLog: AccessLog | undefined;
  private readonly metrics: Metrics | undefined;
  /** Worker processes carrying the TCP data plane, when more than one process serves. */
  private supervisor: WorkerSupervisor | undefined;
  private ticketTimer: NodeJS.Timeout | undefined;
  private readonly workerCount: number;

  private constructor(config: StaticConfig, opts: BerthOptions) {
    this.config = config;
    this.log = opts.logger ?? rootLogger();
    this.workerCount = opts.workers ?? resolveWorkers(config.workers);
    this.pool = new ServicePool(config.serversTransport);
    this.certificates = new CertificateStore();
    this.ports = opts.parts?.ports ?? new PortAllocator(config.edge.stateDir, config.edge.dynamicPorts);
    const l4Log = this.log.child({ component: 'l4' });
    const l4Env = { tls: this.certificates, logger: l4Log, allocator: this.ports };
    const l4 = opts.parts?.l4 ?? {
      tcp: (c: Parameters<typeof buildTcpRouting>[0], e: Record<string, EntryPointConfig>) => buildTcpRouting(c, e, l4Env),
      udp: (c: Parameters<typeof buildUdpRouting>[0], e: Record<string, EntryPointConfig>) => buildUdpRouting(c, e, l4Env),
    };
    const tmpDir = join(tmpdir(), 'berth');
    try {
      mkdirSync(tmpDir, { recursive: true });
    } catch (err) {
      this.log.warn({ err, tmpDir }, 'cannot create the temporary directory; request buffering to disk will fail');
    }
    this.accessLog = createAccessLog(config.accessLog, { entryPoints: config.entryPoints, onError: (err) => this.log.error({ err }, 'access log: write failed') });
    this.metrics = config.metrics?.prometheus ? new Metrics(config.metrics.prometheus, { entryPoints: config.entryPoints, addInternals: config.metrics.addInternals === true }) : undefined;
    const apiSources = this.apiSources();
    const apiHandler = createApiHandler(apiSources, this.log.child({ component: 'api' }));
    const internal = new Map<string, Handler>([
      ['api@internal', (req, res) => apiHandler(req, res)],
      ['dashboard@internal', (req, res) => apiHandler(req, res)],
      ['prometheus@internal', (req, res) => { req.url = '/metrics'; apiHandler(req, res); }],
      ['ping@internal', (_req, res) => { res.statusCode = 200; res.setHeader('content-type', 'text/plain'); res.end('OK'); }],
      ['noop@internal', (_req, res) => { res.statusCode = 418; res.end(); }],
    ]);
    const env: CompileEnv = {
      staticConfig: config,
      pool: this.pool,
      middlewares: opts.parts?.middlewares ?? {},
      internalServices: internal,
      l4,
      logger: this.log.child({ component: 'compiler' }),
      tmpDir,
    };
    this.holder = new SnapshotHolder(compileSnapshot({}, 0, [], env));
    this.watcher = new ConfigWatcher({
      throttleMs: Math.min(durationOr(config.providers.providersThrottleDuration, 2000), 500),
      compile: (merged, version, diagnostics) => compileSnapshot(merged, version, diagnostics, env),
      holder: this.holder,
      logger: this.log.child({ component: 'pipeline' }),
      onBuilt: (snap) => {
        const diags = this.certificates.syncFromConfig(snap.config.tls);
        for (const d of diags) this.log.warn({ element: d.element }, d.message);
        this.acme?.update(snap.config, this.config.entryPoints);
        this.openExtraEntrypoints(snap.extraEntrypoints);
        this.supervisor?.publish({ type: 'config', version: snap.version, config: snap.config, diagnostics: snap.diagnostics, ports: this.ports.list().map((p) => ({ key: p.key, port: p.port, protocol: p.protocol })) });
      },
    });
    this.ports.onChange(() => this.watcher.rebuildNow());
    for (const p of opts.parts?.providers ?? []) this.providers.push(p);
    this.background = opts.parts?.background ?? [];
  }

  private readonly background: readonly BackgroundPart[];

  /** Builds and starts an instance: listeners first (so a port problem fails fast), then providers. */
  static async start(config: StaticConfig, opts: BerthOptions = {}): Promise<Berth> {
    const b = new Berth(config, opts);
    await b.startInternal(opts);
    return b;
  }

  private limits(): EntrypointLimits {
    return entrypointLimits(this.config);
  }

  private async startInternal(opts: BerthOptions): Promise<void> {
    try {
      mkdirSync(this.config.edge.stateDir, { recursive: true });
    } catch (err) {
      this.log.warn({ err, stateDir: this.config.edge.stateDir }, 'state directory is not writable; port allocations and certificates may not persist');
    }
    if (this.config.fleet) {
      const { Fleet } = await import('./fleet/fleet.ts');
      this.fleet = opts.parts?.fleet ?? await Fleet.start(this.config.fleet, this.log.child({ component: 'fleet' }));
    }
    if (Object.keys(this.config.certificatesResolvers ?? {}).length > 0) {
      const { CertificateManager } = await import('./acme/certificate-manager.ts');
      const fleet = this.fleet;
      this.acme = new CertificateManager({
        resolvers: this.config.certificatesResolvers, store: this.certificates, logger: this.log.child({ component: 'acme' }),
        ...(fleet ? { storageFactory: (path: string) => fleet.acmeStorage(path), relay: fleet.relay } : {}),
      });
      fleet?.attach(this.acme.http01Responder, this.certificates);
      await this.acme.start();
    }
    for (const d of this.ports.diagnostics) this.log.warn({ element: d.element }, d.message);
    // Providers first: a process that takes over inherited sockets (restart, upgrade) must not
    // answer queued connections with an empty configuration. Each provider gets up to 10 s to
    // publish or to report that it cannot.
    await this.startProviders(10_000);
    const multi = this.workerCount > 1;
    for (const [name, ep] of Object.entries(this.config.entryPoints)) {
      // With workers, TCP entrypoints live in the workers; UDP (one session table) stays here.
      if (multi && ep.protocol === 'tcp') continue;
      await this.openEntrypoint(name, ep, opts.inherited?.get(name));
    }
    // The API says "up" only once the data plane serves: with workers, it opens after them.
    const listen = parseListen(this.config.api.listen);
    if (multi && listen.port !== 0) {
      this.apiAddress = listen;
      await this.startWorkers(opts.inherited ?? new Map());
    }
    this.api = new ApiServer(this.config.api.listen, this.apiSources(), this.log.child({ component: 'api' }));
    this.apiAddress = await this.api.start();
    this.log.info({ api: `${this.apiAddress.host}:${this.apiAddress.port}` }, `api listening on http://${fmtAddr(this.apiAddress.host, this.apiAddress.port)}`);
    if (multi && !this.supervisor) await this.startWorkers(opts.inherited ?? new Map());
  }

  /** Starts every provider; resolves when each has published or failed, or after `capMs`. */
  private async startProviders(capMs: number): Promise<void> {
    const firsts = this.providers.map((p) => new Promise<void>((resolve) => {
      const sink = this.watcher.sinkFor(p.name);
      p.start({
        publish: (config, diagnostics) => { sink.publish(config, diagnostics); resolve(); },
        status: (state) => { sink.status(state); if (state.status === 'down' || state.status === 'degraded') resolve(); },
      }).catch((err: unknown) => {
        this.log.error({ err, provider: p.name }, 'provider failed to start');
        sink.status({ status: 'down', error: (err as Error).message });
        resolve();
      });
    }));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(firsts), new Promise<void>((r) => { timer = setTimeout(r, capMs); })]);
    clearTimeout(timer);
    this.watcher.rebuildNow();
  }

  /**
   * Starts the data-plane workers. Each binds the TCP entrypoints itself with SO_REUSEPORT (or
   * adopts the inherited sockets), so the kernel spreads connections over every core; this process
   * keeps providers, ACME, the API and UDP, and replicates configuration, certificates and HTTP-01
   * tokens to the workers.
   */
  private async startWorkers(inherited: ReadonlyMap<string, InheritedSocket>): Promise<void> {
    const entryPoints: Record<string, EntryPointConfig> = {};
    const sockets: Map<string, number[]>[] = Array.from({ length: this.workerCount }, () => new Map());
    for (const [name, ep] of Object.entries(this.config.entryPoints)) {
      // Port 0 would give every worker its own random port: pick one for all of them.
      entryPoints[name] = ep.protocol === 'tcp' && ep.port === 0 && !inherited.has(name) ? { ...ep, port: await freePort(ep.host) } : ep;
      this.workerEntrypoints.set(name, entryPoints[name]!);
      if (ep.protocol !== 'tcp') continue;
      // This process holds every listening socket the workers accept on (inherited, or one per
      // worker bound here with SO_REUSEPORT), so a hand-over can pass them on.
      const own = inherited.get(name);
      let fds: number[];
      if (own !== undefined) fds = socketFds(own);
      else {
        const bound: BoundSocket[] = [];
        this.bound.set(name, bound);
        for (let i = 0; i < this.workerCount; i++) bound.push(await bindReusePort(entryPoints[name]!.host, entryPoints[name]!.port));
        fds = bound.map((b) => b.fd);
      }
      this.workerSockets.set(name, fds);
      assignSockets(fds, this.workerCount).forEach((list, i) => sockets[i]!.set(name, list));
    }
    this.supervisor = new WorkerSupervisor(this.workerCount, { ...this.config, entryPoints }, this.apiUrl(), sockets, this.log.child({ component: 'workers' }));
    this.supervisor.onWorkerCounters = (state) => this.metrics?.absorb(state);
    const snap = this.holder.current();
    this.supervisor.publish({ type: 'config', version: snap.version, config: snap.config, diagnostics: snap.diagnostics, ports: this.ports.list().map((p) => ({ key: p.key, port: p.port, protocol: p.protocol })) });
    const publishCerts = (): void => this.supervisor?.publish({ type: 'certs', state: this.certificates.exportState() });
    let pending = false;
    this.certificates.onChange(() => {
      if (pending) return;
      pending = true;
      setImmediate(() => { pending = false; publishCerts(); });
    });
    publishCerts();
    // One set of session ticket keys for every worker (a client resumes whichever worker accepts
    // it), replaced every 12 hours so a stolen key never opens old sessions for long.
    const publishTickets = (): void => this.supervisor?.publish({ type: 'tickets', keys: randomBytes(48).toString('base64') });
    publishTickets();
    this.ticketTimer = setInterval(publishTickets, TICKET_ROTATION_MS);
    this.ticketTimer.unref();
    const responder = this.acme?.http01Responder;
    if (responder) {
      const publishTokens = (): void => this.supervisor?.publish({ type: 'http01', tokens: responder.entries() });
      responder.onChange(publishTokens);
      publishTokens();
    }
    await this.supervisor.start();
    for (const [name, ep] of Object.entries(entryPoints)) {
      if (ep.protocol !== 'tcp') continue;
      const where = inherited.has(name) ? `inherited fd ${socketFds(inherited.get(name)!).join(', ')}` : fmtAddr(ep.host || '0.0.0.0', ep.port);
      this.log.info({ entrypoint: name, address: where, workers: this.supervisor.pids() }, `entrypoint ${name} listening on ${where} (${this.workerCount} workers)`);
    }
  }

  private readonly workerEntrypoints = new Map<string, EntryPointConfig>();
  /** Descriptors of the listening sockets the workers accept on, by TCP entrypoint. */
  private readonly workerSockets = new Map<string, number[]>();
  /** The sockets this process bound for its workers (closed on stop). */
  private readonly bound = new Map<string, BoundSocket[]>();

  /**
   * The TCP listening sockets to pass to a successor (SIGUSR2), by entrypoint: those of this
   * process's entrypoints, or those its workers accept on. Dynamic-port entrypoints that workers
   * open themselves are not passed: the successor binds them anew.
   */
  listeningSockets(): Map<string, number[]> {
    const out = new Map<string, number[]>(this.workerSockets);
    for (const [name, e] of this.entrypoints) {
      const fds = e.listenerFds();
      if (fds.length > 0) out.set(name, fds);
    }
    return out;
  }

  /** Opens one entrypoint (TCP with HTTP/TLS/TCP routing, or UDP). */
  private async openEntrypoint(name: string, ep: EntryPointConfig, inherited?: InheritedSocket): Promise<void> {
    if (ep.protocol === 'udp') {
      const u = new UdpEntrypoint(name, ep, () => this.holder.current().udp.get(name) as UdpEntrypointRouting | undefined, {
        logger: this.log.child({ component: 'entrypoint', entrypoint: name }),
        maxSessions: this.config.limits.udpMaxSessions,
      });
      await u.start();
      this.udpEntrypoints.set(name, u);
      const a = u.address();
      this.log.info({ entrypoint: name, address: `${a.address}:${a.port}/udp` }, `entrypoint ${name} listening on ${fmtAddr(a.address, a.port)}/udp`);
      return;
    }
    {
      const limits = this.limits();
      const e = new TcpEntrypoint(name, ep, {
        holder: this.holder,
        tlsOptions: () => tlsServerOptions(this.certificates, this.holder.current().config.tls?.options?.default, () => this.holder.current()),
        hooks: {
          ...(this.acme ? { http01: (req: ProxyRequest, res: ProxyResponse) => this.acme!.http01Responder.handle(req, res) } : {}),
          ...(this.accessLog || this.metrics ? { onResponse: (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext) => { this.accessLog?.onResponse(req, res, ctx); this.metrics?.onResponse(req, res, ctx); } } : {}),
        },
        limits,
        logger: this.log.child({ component: 'entrypoint', entrypoint: name }),
      });
      await e.listen(inherited === undefined ? undefined : { fd: inherited.fd });
      // A group from a berth with workers: this single process accepts on every one of them.
      for (const fd of inherited?.more ?? []) await e.listenAlso({ fd });
      this.entrypoints.set(name, e);
      const a = e.address();
      this.log.info({ entrypoint: name, address: `${a.address}:${a.port}` }, `entrypoint ${name} listening on ${fmtAddr(a.address, a.port)}`);
    }
  }

  /**
   * Opens listeners for dynamic-port and on-demand entrypoints as routers come to need them, and
   * drains those no router needs any more, as a stopping entrypoint drains.
   */
  private openExtraEntrypoints(extra: Readonly<Record<string, EntryPointConfig>>): void {
    // With workers, dynamic TCP entrypoints are opened by the workers themselves.
    this.extra.sync(this.workerCount > 1 ? Object.fromEntries(Object.entries(extra).filter(([, ep]) => ep.protocol !== 'tcp')) : extra);
  }

  private readonly extra = new KeyedResources<EntryPointConfig>(async (name, ep) => {
    await this.openEntrypoint(name, ep);
    return async () => {
      const tcp = this.entrypoints.get(name);
      const udp = this.udpEntrypoints.get(name);
      this.entrypoints.delete(name);
      this.udpEntrypoints.delete(name);
      this.log.info({ entrypoint: name }, `entrypoint ${name} closed: no router needs it any more`);
      await Promise.all([tcp?.close(durationOr(tcp.config.transport?.lifeCycle?.graceTimeOut, 10_000)), udp?.stop()]);
    };
  }, (name, err) => this.log.error({ err, entrypoint: name }, (err as Error).message));

  private apiSources(): ApiSources {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    const sources: ApiSources = {
      get holder() { return self.holder; },
      providers: () => self.watcher.providerStates(),
      version: VERSION,
      startedAt: self.startedAt,
      certificates: () => self.acme ? { managed: self.acme.status(), store: self.certificates.list() } : self.certificates.list(),
      certificateFor: (sni: string) => self.certificates.select(sni),
      ...(self.fleet ? { fleet: () => self.fleet!.status() } : {}),
      ports: () => ({ allocations: self.ports.list(), range: self.config.edge.dynamicPorts }),
      entrypoints: () => [
        ...[...self.workerEntrypoints].filter(([, e]) => e.protocol === 'tcp').map(([name, e]) => ({ name, address: fmtAddr(e.host || '0.0.0.0', e.port), protocol: 'tcp', workers: self.supervisor?.pids() ?? [] })),
        ...[...self.entrypoints.values()].map((e) => { const a = e.address(); return { name: e.name, address: fmtAddr(a.address, a.port), protocol: 'tcp' }; }),
        ...[...self.udpEntrypoints].map(([name, u]) => { const a = u.address(); return { name, address: fmtAddr(a.address, a.port), protocol: 'udp' }; }),
      ],
      ...(self.metrics ? { metrics: () => self.metrics!.render({ snapshot: self.holder.current(), providers: self.watcher.providerStates(), certificates: self.certificates.list(), workers: self.supervisor?.metricStates() ?? [], ...(self.acme ? { acmeStorage: self.acme.storageStatus() } : {}), ...(self.fleet ? { fleet: self.fleet.status() } : {}) }) } : {}),
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

  /**
   * Opens the access log file again, here and in every worker (log rotation). A file that cannot
   * be opened is logged and the lines keep going to the previous one.
   */
  reopenLogs(): void {
    if (this.accessLog) {
      try {
        this.accessLog.reopen();
        this.log.info('access log reopened');
      } catch (err) {
        this.log.error({ err }, `access log: ${(err as Error).message}; lines keep going to the previous file`);
      }
    }
    this.supervisor?.broadcast({ type: 'reopen-logs' });
  }

  /** Stops accepting, drains in-flight requests up to `graceMs`, then stops providers. */
  async stop(graceMs = 10_000): Promise<void> {
    clearInterval(this.ticketTimer);
    // The API goes first: a successor binds the same address, and "up" must mean the successor.
    const api = this.api?.stop();
    await Promise.all([
      this.supervisor?.stop(graceMs),
      ...[...this.entrypoints.values()].map((e) => e.close(graceMs)),
      ...[...this.udpEntrypoints.values()].map((u) => u.stop()),
      this.extra.closed(),
    ]);
    this.watcher.stop();
    await this.acme?.stop();
    await this.fleet?.stop();
    await Promise.all(this.providers.map((p) => p.stop().catch(() => undefined)));
    await Promise.all(this.background.map(async (p) => p.stop()));
    await api;
    await this.accessLog?.close();
    this.pool.close();
    for (const list of this.bound.values()) for (const b of list) b.close();
    this.bound.clear();
  }
}

/** `workers: auto` is one data-plane process per core; 1 keeps everything in this process. */
export function resolveWorkers(w: number | 'auto' | undefined): number {
  if (w === undefined || w === 'auto') return availableParallelism();
  return Math.max(1, Math.floor(w));
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, host || '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function fmtAddr(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
