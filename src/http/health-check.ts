import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ServerHealthCheck } from '../config/dynamic/types.ts';
import { durationOr } from '../lib/duration.ts';
import type { BalancedServer } from './load-balancer.ts';
import type { UpstreamTarget } from '../engine/upstream-target.ts';

/**
 * Traefik's active health check: probes every server of a service on an interval and flips its
 * `healthy` flag. A server counts as healthy on a 2xx/3xx answer (or exactly `status` when set).
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly servers: BalancedServer<UpstreamTarget>[];
  private readonly cfg: ServerHealthCheck;
  private readonly onChange: ((server: string, healthy: boolean) => void) | undefined;

  constructor(
    servers: BalancedServer<UpstreamTarget>[],
    cfg: ServerHealthCheck,
    onChange?: (server: string, healthy: boolean) => void,
  ) {
    this.servers = servers;
    this.cfg = cfg;
    this.onChange = onChange;
  }

  start(): void {
    this.round();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private round(): void {
    if (this.stopped) return;
    let pending = this.servers.length;
    let anyDown = false;
    const done = (): void => {
      if (--pending > 0 || this.stopped) return;
      const interval = anyDown
        ? durationOr(this.cfg.unhealthyInterval ?? this.cfg.interval, 30_000)
        : durationOr(this.cfg.interval, 30_000);
      this.timer = setTimeout(() => this.round(), interval);
      this.timer.unref();
    };
    if (pending === 0) {
      pending = 1;
      done();
      return;
    }
    for (const s of this.servers) {
      this.probe(s.value).then(
        (ok) => {
          if (ok !== s.healthy) {
            s.healthy = ok;
            this.onChange?.(s.value.url, ok);
          }
          if (!ok) anyDown = true;
          done();
        },
        () => {
          done();
        },
      );
    }
  }

  /** One probe; resolves true when the server answered as expected within the timeout. */
  probe(server: UpstreamTarget): Promise<boolean> {
    const cfg = this.cfg;
    const t = server.target;
    const https = cfg.scheme ? cfg.scheme === 'https' : server.https;
    const port = cfg.port ?? (t.port ? Number(t.port) : https ? 443 : 80);
    const hostname = t.hostname.startsWith('[') ? t.hostname.slice(1, -1) : t.hostname;
    const timeout = durationOr(cfg.timeout, 5000);
    return new Promise((resolve) => {
      const req = (https ? httpsRequest : httpRequest)(
        {
          hostname,
          port,
          method: cfg.method ?? 'GET',
          path: cfg.path ?? '/',
          timeout,
          headers: {
            ...(cfg.headers ?? {}),
            ...(cfg.hostname ? { host: cfg.hostname } : {}),
            'user-agent': 'berth-healthcheck',
          },
          agent: false,
          ...(https ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          resolve(cfg.status ? code === cfg.status : code >= 200 && code < 400);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
  }
}
