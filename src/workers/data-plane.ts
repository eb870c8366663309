import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StaticConfig, EntryPointConfig } from '../config/static/types.ts';
import type { DynamicConfig } from '../config/dynamic/types.ts';
import { durationOr } from '../lib/duration.ts';
import { KeyedResources } from '../lib/keyed-resources.ts';
import { reopenLogFiles, type Logger } from '../lib/logger.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from '../http/handler.ts';
import { ServicePool, loadBalancerHandler } from '../http/service-builder.ts';
import { createTransport, upstreamTarget, type Transport } from '../http/forwarder.ts';
import { LoadBalancer } from '../http/load-balancer.ts';
import { middlewareFactories } from '../http/middlewares/registry.ts';
import { compileSnapshot, type CompileEnv } from '../pipeline/compile.ts';
import { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import { TcpEntrypoint, type EntrypointLimits } from '../entrypoints/tcp-entrypoint.ts';
import { entrypointLimits } from '../entrypoints/limits.ts';
import { CertificateStore, type ReplicatedCertificates } from '../tls/certificate-store.ts';
import { tlsServerOptions } from '../tls/options.ts';
import { Http01Responder } from '../acme/http01-responder.ts';
import { buildTcpRouting } from '../tcp/build.ts';
import { createAccessLog, type AccessLog } from '../observability/access-log.ts';
import { Metrics } from '../observability/metrics.ts';

/**
 * One data-plane worker: TCP entrypoints (HTTP, HTTPS, TCP routes) fed by the primary. It compiles
 * its own snapshot from the merged configuration the primary sends, serves the certificates the
 * primary's store replicates, and answers HTTP-01 tokens the primary's ACME manager publishes.
 * It never talks to Docker, ACME or DNS itself.
 */
export class WorkerDataPlane {
  readonly holder: SnapshotHolder;
  readonly certificates = new CertificateStore();
  private readonly http01 = new Http01Responder();
  private readonly entrypoints = new Map<string, TcpEntrypoint>();
  private readonly pool: ServicePool;
  /** Keep-alive connections to the primary's API (internal services). */
  private readonly apiTransport: Transport = createTransport({ dialTimeoutMs: 30_000, responseHeaderTimeoutMs: 0, idleConnTimeoutMs: 90_000, maxIdleConnsPerHost: 16, insecureSkipVerify: false });
  private readonly env: CompileEnv;
  private ports = new Map<string, number>();
  private ticketKeys: Buffer | undefined;
  private readonly config: StaticConfig;
  private readonly log: Logger;
  private readonly accessLog: AccessLog | undefined;
  readonly metrics: Metrics | undefined;

  constructor(config: StaticConfig, apiUrl: string, log: Logger) {
    this.config = config;
    this.log = log;
    this.pool = new ServicePool(config.serversTransport);
    this.accessLog = createAccessLog(config.accessLog, { entryPoints: config.entryPoints, onError: (err) => log.error({ err }, 'access log: write failed') });
    this.metrics = config.metrics?.prometheus ? new Metrics(config.metrics.prometheus, { entryPoints: config.entryPoints, addInternals: config.metrics.addInternals === true }) : undefined;
    // Internal services that need the control plane are forwarded to the primary's API listener.
    const toApi = this.apiForwarder(apiUrl);
    const internal = new Map<string, Handler>([
      ['api@internal', toApi],
      ['dashboard@internal', toApi],
      ['prometheus@internal', (req, res, ctx) => { req.url = '/metrics'; toApi(req, res, ctx); }],
      ['ping@internal', (_req, res) => { res.statusCode = 200; res.setHeader('content-type', 'text/plain'); res.end('OK'); }],
      ['noop@internal', (_req, res) => { res.statusCode = 418; res.end(); }],
    ]);
    const assigner = { assign: (key: string, protocol: 'tcp' | 'udp') => {
      const port = this.ports.get(`${protocol}|${key}`);
      return port === undefined ? { error: `no port assigned to ${key} yet` } : { port };
    } };
    this.env = {
      staticConfig: config,
      pool: this.pool,
      middlewares: middlewareFactories,
      internalServices: internal,
      // UDP stays in the primary (one session table); workers carry TCP.
      l4: { tcp: (c, e) => buildTcpRouting(c, e, { tls: this.certificates, logger: log, allocator: assigner }) },
      logger: log,
      tmpDir: join(tmpdir(), 'berth'),
    };
    this.holder = new SnapshotHolder(compileSnapshot({}, 0, [], this.env));
  }

  private apiForwarder(apiUrl: string): Handler {
    const url = new URL(apiUrl);
    const lb = new LoadBalancer([{ value: upstreamTarget(apiUrl, url), weight: 1, id: 'api', healthy: true }], undefined, 'api@internal');
    return loadBalancerHandler('api@internal', lb, this.apiTransport, true).handler;
  }

  /**
   * Opens the TCP entrypoints on the sockets the primary passed (its own, bound for the workers,
   * or inherited from systemd or a previous berth), else on a socket of its own with SO_REUSEPORT.
   */
  async listen(inherited: ReadonlyMap<string, readonly number[]>): Promise<string[]> {
    const limits = entrypointLimits(this.config);
    for (const [name, ep] of Object.entries(this.config.entryPoints)) {
      if (ep.protocol !== 'tcp') continue;
      await this.open(name, ep, limits, inherited.get(name) ?? []);
    }
    return [...this.entrypoints.keys()];
  }

  private async open(name: string, ep: EntryPointConfig, limits: EntrypointLimits, fds: readonly number[]): Promise<void> {
    const e = new TcpEntrypoint(name, { ...ep, reusePort: true }, {
      holder: this.holder,
      tlsOptions: () => ({ ...tlsServerOptions(this.certificates, this.holder.current().config.tls?.options?.default, () => this.holder.current()), ...(this.ticketKeys ? { ticketKeys: this.ticketKeys } : {}) }),
      hooks: {
        http01: (req, res) => this.http01.handle(req, res),
        ...(this.accessLog || this.metrics ? { onResponse: (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext) => { this.accessLog?.onResponse(req, res, ctx); this.metrics?.onResponse(req, res, ctx); } } : {}),
      },
      limits,
      logger: this.log.child({ entrypoint: name }),
    });
    await e.listen(fds[0] === undefined ? undefined : { fd: fds[0] });
    for (const fd of fds.slice(1)) await e.listenAlso({ fd });
    this.entrypoints.set(name, e);
  }

  /** Applies a configuration published by the primary. */
  applyConfig(version: number, config: DynamicConfig, diagnostics: readonly Diagnostic[], ports: readonly { key: string; port: number; protocol: 'tcp' | 'udp' }[]): void {
    this.ports = new Map(ports.map((p) => [`${p.protocol}|${p.key}`, p.port]));
    const retired = this.holder.current();
    try {
      this.holder.publish(compileSnapshot(config, version, diagnostics, this.env));
    } catch (err) {
      this.log.error({ err }, 'could not build the routing configuration; the previous one stays in service');
      return;
    }
    this.certificates.syncFromConfig(this.holder.current().config.tls);
    setTimeout(() => retired.close(), 60_000).unref();
    // Dynamic-port and on-demand TCP entrypoints appear with the routers that need them, and drain
    // once none does.
    this.extra.sync(Object.fromEntries(Object.entries(this.holder.current().extraEntrypoints).filter(([, ep]) => ep.protocol === 'tcp')));
  }

  private readonly extra = new KeyedResources<EntryPointConfig>(async (name, ep) => {
    await this.open(name, ep, this.limitsOf(), []);
    return async () => {
      const e = this.entrypoints.get(name);
      this.entrypoints.delete(name);
      await e?.close(durationOr(e.config.transport?.lifeCycle?.graceTimeOut, 10_000));
    };
  }, (name, err) => this.log.error({ err, entrypoint: name }, (err as Error).message));

  private limitsOf(): EntrypointLimits {
    return entrypointLimits(this.config);
  }

  applyCertificates(state: ReplicatedCertificates): void {
    this.certificates.importState(state);
  }

  /** New TLS session ticket keys: for TLS servers created from now on and those already running. */
  applyTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    for (const e of this.entrypoints.values()) e.setTicketKeys(keys);
  }

  applyHttp01(tokens: readonly [string, string][]): void {
    this.http01.replace(tokens);
  }

  /** Stops accepting and drains in-flight work up to `graceMs`. */
  /** Opens `log.filePath` and the access log file again (log rotation); a failure is logged, lines keep going to the old file. */
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

  async drain(graceMs: number): Promise<void> {
    await Promise.all([...this.entrypoints.values()].map((e) => e.close(graceMs)));
    await this.accessLog?.close();
    this.pool.close();
    this.apiTransport.close();
  }
}
