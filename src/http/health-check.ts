import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ServerHealthCheck } from '../config/dynamic/types.ts';
import { durationOr } from '../lib/duration.ts';
import type { BalancedServer } from './load-balancer.ts';
import type { UpstreamTarget } from '../engine/upstream-target.ts';

/**
 * Traefik's active health check: probes every server of a service on its own schedule and flips
 * its `healthy` flag. A server counts as healthy on a 2xx/3xx answer (or exactly `status` when set).
 */
export class HealthChecker {
  /** The next probe of each server: healthy ones every `interval`, unhealthy ones every `unhealthyInterval`. */
  private readonly timers = new Map<BalancedServer<UpstreamTarget>, NodeJS.Timeout>();
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
    for (const s of this.servers) this.check(s);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Probes one server, then schedules its next probe by its new state (Traefik's two tickers). */
  private check(s: BalancedServer<UpstreamTarget>): void {
    if (this.stopped) return;
    void this.probe(s.value)
      .catch(() => false)
      .then((ok) => {
        if (this.stopped) return;
        if (ok !== s.healthy) {
          s.healthy = ok;
          this.onChange?.(s.value.url, ok);
        }
        const interval = durationOr(this.cfg.interval, 30_000);
        const next = ok ? interval : durationOr(this.cfg.unhealthyInterval, interval);
        const timer = setTimeout(() => this.check(s), next);
        timer.unref();
        this.timers.set(s, timer);
      });
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
