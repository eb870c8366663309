import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EntryPointConfig, StaticConfig } from '../config/static/types.ts';
import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import { durationOr } from '../lib/duration.ts';
import { KeyedResources } from '../lib/keyed-resources.ts';
import { reopenLogFiles, type Logger } from '../lib/logger.ts';
import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from '../http/handler.ts';
import type { MiddlewareFactory } from '../http/middlewares/types.ts';
import { ServicePool } from '../http/service-builder.ts';
import { TcpEntrypoint } from '../entrypoints/tcp-entrypoint.ts';
import { entrypointLimits } from '../entrypoints/limits.ts';
import { compileSnapshot, type CompileEnv, type L4Builders } from '../pipeline/compile.ts';
import { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import type { RoutingSnapshot } from '../pipeline/snapshot.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import { tlsServerOptions } from '../tls/options.ts';
import { UdpEntrypoint } from '../udp/entrypoint.ts';
import type { UdpEntrypointRouting } from '../udp/routing.ts';
import { createAccessLog, type AccessLog } from '../observability/access-log.ts';
import { Metrics } from '../observability/metrics.ts';

/** How long a replaced snapshot stays usable for in-flight work before its resources close. */
const RETIRE_AFTER_MS = 60_000;

/** What a data plane needs from its process. */
export interface DataPlaneOptions {
  readonly config: StaticConfig;
  readonly logger: Logger;
  /** The certificates served: the control plane's store, or a worker's replica of it. */
  readonly certificates: CertificateStore;
  readonly internalServices: ReadonlyMap<string, Handler>;
  readonly middlewares: Readonly<Record<string, MiddlewareFactory>>;
  readonly l4: L4Builders;
  /** The protocols of the entrypoints this plane serves (a worker takes TCP, the primary keeps UDP). */
  readonly protocols: ReadonlySet<'tcp' | 'udp'>;
  /** Whether this plane runs the health checks (else their results arrive from the one that does). */
  readonly probes: boolean;
  /** TCP listeners join an SO_REUSEPORT group (one per worker, the kernel spreads connections). */
  readonly reusePort?: boolean;
  /** HTTP-01 challenge answers, when ACME is in use. */
  readonly http01?: () => ((req: ProxyRequest, res: ProxyResponse) => boolean) | undefined;
}

/**
 * The data plane: entrypoints, the compiled snapshot they route by, the service pool and the
 * certificates they serve, with the access log and request metrics. The same object serves in a
 * single-process berth and in every worker; only what feeds it differs. Lifecycle: `start` opens
 * the entrypoints, `drain` stops accepting and lets in-flight work finish, `stop` releases the rest.
 */
export class DataPlane {
  readonly holder: SnapshotHolder;
  readonly certificates: CertificateStore;
  readonly pool: ServicePool;
  readonly env: CompileEnv;
  readonly accessLog: AccessLog | undefined;
  readonly metrics: Metrics | undefined;
  readonly tcp = new Map<string, TcpEntrypoint>();
  readonly udp = new Map<string, UdpEntrypoint>();
  private readonly opts: DataPlaneOptions;
  private readonly log: Logger;
  private ticketKeys: Buffer | undefined;

  constructor(opts: DataPlaneOptions) {
    const { config, logger: log } = opts;
    this.opts = opts;
    this.log = log;
    this.certificates = opts.certificates;
    this.pool = new ServicePool(config.serversTransport, { probes: opts.probes });
    this.accessLog = createAccessLog(config.accessLog, {
      entryPoints: config.entryPoints,
      onError: (err) => log.error({ err }, 'access log: write failed'),
    });
    this.metrics = config.metrics?.prometheus
      ? new Metrics(config.metrics.prometheus, {
          entryPoints: config.entryPoints,
          addInternals: config.metrics.addInternals === true,
        })
      : undefined;
    const tmpDir = join(tmpdir(), 'berth');
    try {
      mkdirSync(tmpDir, { recursive: true });
    } catch (err) {
      log.warn({ err, tmpDir }, 'cannot create the temporary directory; request buffering to disk will fail');
    }
    this.env = {
      staticConfig: config,
      pool: this.pool,
      middlewares: opts.middlewares,
      internalServices: opts.internalServices,
      l4: opts.l4,
      logger: log.child({ component: 'compiler' }),
      tmpDir,
      servesHttp: opts.protocols.has('tcp'),
    };
    this.holder = new SnapshotHolder(compileSnapshot({}, 0, [], this.env));
  }

  /** Compiles a merged configuration against this plane's pool and builders (never throws on input). */
  compile(config: DynamicConfig, version: number, diagnostics: readonly Diagnostic[]): RoutingSnapshot {
    return compileSnapshot(config, version, diagnostics, this.env);
  }

  /**
   * Serves a compiled snapshot from now on. The previous one stays usable for in-flight work and
   * closes a minute later; listeners of dynamic-port and on-demand entrypoints follow the routers.
   */
  install(snap: RoutingSnapshot): void {
    const retired = this.holder.current();
    this.holder.publish(snap);
    setTimeout(() => retired.close(), RETIRE_AFTER_MS).unref();
    this.follow(snap);
  }

  /** Opens listeners for the snapshot's dynamic-port and on-demand entrypoints; drains unused ones. */
  follow(snap: RoutingSnapshot): void {
    this.extra.sync(
      Object.fromEntries(
        Object.entries(snap.extraEntrypoints).filter(([, ep]) => this.opts.protocols.has(ep.protocol)),
      ),
    );
  }

  /** Opens the static entrypoints this plane serves, on inherited sockets where given (by name). */
  async start(inherited: ReadonlyMap<string, readonly number[]> = new Map()): Promise<void> {
    for (const [name, ep] of Object.entries(this.opts.config.entryPoints)) {
      const fds = inherited.get(name);
      // Inherited sockets all held by other workers: this one leaves the entrypoint to them.
      if (fds?.length === 0) continue;
      if (this.opts.protocols.has(ep.protocol)) await this.open(name, ep, fds ?? []);
    }
  }

  private async open(name: string, ep: EntryPointConfig, fds: readonly number[]): Promise<void> {
    const log = this.log.child({ component: 'entrypoint', entrypoint: name });
    if (ep.protocol === 'udp') {
      const u = new UdpEntrypoint(
        name,
        ep,
        () => this.holder.current().udp.get(name) as UdpEntrypointRouting | undefined,
        { logger: log, maxSessions: this.opts.config.limits.udpMaxSessions },
      );
      await u.start();
      this.udp.set(name, u);
      return;
    }
    const onResponse =
      this.accessLog || this.metrics
        ? (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext): void => {
            this.accessLog?.onResponse(req, res, ctx);
            this.metrics?.onResponse(req, res, ctx);
          }
        : undefined;
    const http01 = this.opts.http01?.();
    const e = new TcpEntrypoint(name, this.opts.reusePort ? { ...ep, reusePort: true } : ep, {
      holder: this.holder,
      tlsOptions: () => ({
        ...tlsServerOptions(this.certificates, this.holder.current().config.tls?.options?.default, () =>
          this.holder.current(),
        ),
        ...(this.ticketKeys ? { ticketKeys: this.ticketKeys } : {}),
      }),
      hooks: { ...(http01 ? { http01 } : {}), ...(onResponse ? { onResponse } : {}) },
      limits: entrypointLimits(this.opts.config),
      logger: log,
    });
    await e.listen(fds[0] === undefined ? undefined : { fd: fds[0] });
    for (const fd of fds.slice(1)) await e.listenAlso({ fd });
    this.tcp.set(name, e);
  }

  private readonly extra = new KeyedResources<EntryPointConfig>(
    async (name, ep) => {
      await this.open(name, ep, []);
      return async () => {
        const tcp = this.tcp.get(name);
        const udp = this.udp.get(name);
        this.tcp.delete(name);
        this.udp.delete(name);
        this.log.info({ entrypoint: name }, `entrypoint ${name} closed: no router needs it any more`);
        await Promise.all([tcp?.close(durationOr(tcp.config.transport?.lifeCycle?.graceTimeOut, 10_000)), udp?.stop()]);
      };
    },
    (name, err) => this.log.error({ err, entrypoint: name }, (err as Error).message),
  );

  /** Where each entrypoint of this plane listens, for the API and the start-up log. */
  addresses(): { name: string; address: string; port: number; protocol: 'tcp' | 'udp' }[] {
    return [
      ...[...this.tcp].map(([name, e]) => ({ name, ...e.address(), protocol: 'tcp' as const })),
      ...[...this.udp].map(([name, u]) => ({ name, ...u.address(), protocol: 'udp' as const })),
    ];
  }

  /** Descriptors of the TCP listening sockets, by entrypoint (for a hand-over to a new process). */
  listenerFds(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [name, e] of this.tcp) {
      const fds = e.listenerFds();
      if (fds.length > 0) out.set(name, fds);
    }
    return out;
  }

  /** New TLS session ticket keys, for TLS servers created from now on and those already running. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    for (const e of this.tcp.values()) e.setTicketKeys(keys);
  }

  /**
   * Opens `log.filePath` and the access log file again (log rotation). A file that cannot be
   * opened is logged and the lines keep going to the previous one.
   */
  reopenLogs(): void {
    try {
      reopenLogFiles();
    } catch (err) {
      this.log.error({ err }, `cannot reopen log.filePath: ${(err as Error).message}`);
    }
    if (!this.accessLog) return;
    try {
      this.accessLog.reopen();
      this.log.info('access log reopened');
    } catch (err) {
      this.log.error({ err }, `access log: ${(err as Error).message}; lines keep going to the previous file`);
    }
  }

  /** Closes the UDP sockets only (a hand-over binds them anew in the successor). */
  async releaseUdp(): Promise<UdpEntrypoint[]> {
    const list = [...this.udp.values()];
    await Promise.all(list.map((u) => u.stop()));
    return list;
  }

  /** Stops accepting and lets in-flight requests and connections finish, up to `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    await Promise.all([
      ...[...this.tcp.values()].map((e) => e.close(graceMs)),
      ...[...this.udp.values()].map((u) => u.stop()),
      this.extra.closed(),
    ]);
  }

  /** Releases what outlives the connections: the access log, pooled upstream connections, health checks. */
  async stop(): Promise<void> {
    await this.accessLog?.close();
    this.pool.close();
  }
}
