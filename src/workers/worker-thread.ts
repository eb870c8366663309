import { parentPort, threadId, workerData } from 'node:worker_threads';
import { createLogger, type Logger } from '../lib/logger.ts';
import { reduceMemoryNow, startIdleGc } from '../lib/idle-gc.ts';
import type { Handler } from '../http/handler.ts';
import { loadBalancerHandler } from '../http/service-builder.ts';
import { createTransport, upstreamTarget, type Transport } from '../http/forwarder.ts';
import { LoadBalancer } from '../http/load-balancer.ts';
import { middlewareFactories } from '../http/middlewares/registry.ts';
import { Http01Responder } from '../acme/http01-responder.ts';
import { buildTcpRouting } from '../tcp/build.ts';
import { CertificateStore } from '../tls/certificate-store.ts';
import { DataPlane } from '../data-plane/data-plane.ts';
import { internalServices } from '../data-plane/internal-services.ts';
import { adoptSharedLimits, type SharedLimits } from '../lib/shared-limits.ts';
import { TEST_HOOKS_ENV, type FromWorker, type ToWorker } from './protocol.ts';

/**
 * A data-plane worker thread (started by the WorkerSupervisor through `src/worker-main.ts`): a
 * DataPlane serving the TCP entrypoints, fed by the control plane. It compiles what the control
 * plane merged and validated, serves a replica of its certificate store, takes server health from
 * its checkers and answers the HTTP-01 tokens its ACME manager publishes. It never talks to
 * Docker, ACME or DNS, and never probes a server itself.
 */
class Worker {
  private readonly plane: DataPlane;
  private readonly http01 = new Http01Responder();
  private readonly apiTransport: Transport;
  private toApi: Handler | undefined;
  private ports = new Map<string, number>();
  private readonly log: Logger;

  constructor(init: Extract<ToWorker, { type: 'init' }>) {
    const config = init.config;
    this.log = createLogger({
      level: config.log.level,
      ...(config.log.filePath ? { filePath: config.log.filePath } : {}),
    }).child({ worker: threadId });
    // Internal services that need the control plane are forwarded to its API listener.
    this.apiTransport = createTransport({
      dialTimeoutMs: 30_000,
      responseHeaderTimeoutMs: 0,
      idleConnTimeoutMs: 90_000,
      maxIdleConnsPerHost: 16,
      insecureSkipVerify: false,
    });
    const toApi: Handler = (req, res, ctx) => {
      if (this.toApi) this.toApi(req, res, ctx);
      else {
        res.statusCode = 503;
        res.end();
      }
    };
    const certificates = new CertificateStore();
    const allocator = {
      assign: (key: string, protocol: 'tcp' | 'udp') => {
        const port = this.ports.get(`${protocol}|${key}`);
        return port === undefined ? { error: `no port assigned to ${key} yet` } : { port };
      },
    };
    this.plane = new DataPlane({
      config,
      logger: this.log,
      certificates,
      middlewares: middlewareFactories,
      internalServices: internalServices(toApi, process.env[TEST_HOOKS_ENV] === '1' ? { 'crash@internal': crash } : {}),
      l4: { tcp: (c, e) => buildTcpRouting(c, e, { tls: certificates, logger: this.log, allocator }) },
      protocols: new Set(['tcp']),
      probes: false,
      reusePort: true,
      http01: () => (req, res) => this.http01.handle(req, res),
    });
    if (this.plane.metrics) {
      const m = this.plane.metrics;
      setInterval(() => send({ type: 'metrics', state: m.exportState() }), 1000).unref();
    }
  }

  /** Opens the entrypoints; the control plane learns where they listen. */
  async start(fds: ReadonlyMap<string, readonly number[]>): Promise<void> {
    await this.plane.start(fds);
    send({ type: 'listening', entrypoints: [...this.plane.tcp.keys()], fds: [...this.plane.listenerFds()] });
    // What compiling the first configuration allocated goes back once this worker serves.
    setImmediate(reduceMemoryNow);
  }

  apply(msg: ToWorker): void {
    switch (msg.type) {
      case 'config':
        this.applyConfig(msg);
        return;
      case 'certs':
        this.plane.certificates.importState(msg.state);
        return;
      case 'http01':
        this.http01.replace(msg.tokens);
        return;
      case 'tickets':
        this.plane.setTicketKeys(Buffer.from(msg.keys, 'base64'));
        return;
      case 'health':
        this.plane.pool.applyHealth(msg.states);
        return;
      case 'reopen-logs':
        this.plane.reopenLogs();
        return;
      case 'drain':
        void this.drain(msg.graceMs);
        return;
      case 'api':
        this.toApi = apiForwarder(msg.url, this.apiTransport);
        return;
      case 'init':
        return;
    }
  }

  private applyConfig(msg: Extract<ToWorker, { type: 'config' }>): void {
    this.ports = new Map(msg.ports.map((p) => [`${p.protocol}|${p.key}`, p.port]));
    try {
      this.plane.install(this.plane.compile(msg.config, msg.version, msg.diagnostics));
    } catch (err) {
      this.log.error({ err }, 'could not build the routing configuration; the previous one stays in service');
      return;
    }
    this.plane.certificates.syncFromConfig(this.plane.holder.current().config.tls);
  }

  private draining = false;

  /** Stops accepting, finishes in-flight work up to `graceMs`, reports the last counters, ends the thread. */
  async drain(graceMs: number): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    // Whatever happens while draining, this thread does not outlive the grace period by much.
    setTimeout(() => process.exit(0), graceMs + 2000).unref();
    await this.plane.drain(graceMs).catch(() => undefined);
    await this.plane.stop().catch(() => undefined);
    this.apiTransport.close();
    if (this.plane.metrics) send({ type: 'metrics', state: this.plane.metrics.exportState() });
    process.exit(0);
  }
}

/** Forwards requests for the control plane's internal services to its API listener. */
function apiForwarder(url: string, transport: Transport): Handler {
  const lb = new LoadBalancer(
    [{ value: upstreamTarget(url, new URL(url)), weight: 1, id: 'api', healthy: true }],
    undefined,
    'api@internal',
  );
  return loadBalancerHandler('api@internal', lb, transport, true).handler;
}

/** `crash@internal` (test hook): fails the worker as an uncaught bug would. */
const crash: Handler = () => {
  setImmediate(() => {
    throw new Error('crash@internal: worker failing on purpose');
  });
};

function send(msg: FromWorker): void {
  parentPort?.postMessage(msg);
}

/**
 * Runs the worker: waits for `init`, then opens its entrypoints once the first configuration is
 * applied (the control plane sends it right after), so a connection queued on an inherited
 * socket is answered with real routes; then applies what the control plane publishes.
 */
export function startWorker(): void {
  startIdleGc();
  const limits: SharedLimits | undefined = workerData?.limits;
  adoptSharedLimits(limits);
  let worker: Worker | undefined;
  let fds: Map<string, readonly number[]> | undefined;
  parentPort?.on('message', (msg: ToWorker) => {
    if (msg.type === 'init') {
      worker = new Worker(msg);
      fds = new Map(msg.fds);
      return;
    }
    worker?.apply(msg);
    if (msg.type === 'config' && worker && fds) {
      const f = fds;
      fds = undefined;
      worker.start(f).catch((err: unknown) => {
        send({ type: 'fatal', message: (err as Error).message });
        process.exit(1);
      });
    }
  });
}
