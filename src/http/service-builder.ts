import { ServerResponse, type IncomingMessage } from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import type { HttpService, ServersTransport } from '../config/dynamic/types.ts';
import type { StaticServersTransport } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';
import type { Handler, RequestContext } from './handler.ts';
import { createTransport, forward, type Transport, type TransportOptions, type UpstreamTarget } from './forwarder.ts';
import { HealthChecker } from './health-check.ts';
import { WeightedRoundRobin, shortHash, type BalancedServer } from './load-balancer.ts';
import { sendStatus } from './responses.ts';
import { hasBody, requestBody, setReplayableBody, type BodyCarrier } from './middlewares/body.ts';

/** Live state of a built load-balancer service, for the API (`/routes.json`, explain, dashboard). */
export interface ServiceInfo {
  readonly name: string;
  readonly type: 'loadBalancer' | 'weighted' | 'failover' | 'mirroring' | 'internal';
  readonly servers: () => readonly { url: string; healthy: boolean; weight: number }[];
  /** True when at least one server (or child service) can take traffic. */
  readonly available: () => boolean;
}

interface PoolEntry {
  readonly key: string;
  readonly lb: WeightedRoundRobin<UpstreamTarget>;
  readonly checker: HealthChecker | undefined;
}

/**
 * Keeps long-lived service resources (balancer state, health checkers, keep-alive agents) across
 * snapshots, keyed by name and definition (Caddy's usage pool): an unchanged service keeps its
 * connections and health; a changed one starts fresh; an unused one is stopped.
 */
export class ServicePool {
  private entries = new Map<string, PoolEntry>();
  private transports = new Map<string, Transport>();
  private readonly staticTransport: StaticServersTransport;

  constructor(staticTransport: StaticServersTransport) {
    this.staticTransport = staticTransport;
  }

  transport(name: string | undefined, def: ServersTransport | undefined): Transport {
    const base = this.staticTransport;
    const options: TransportOptions = {
      dialTimeoutMs: durationOr(def?.forwardingTimeouts?.dialTimeout ?? base.forwardingTimeouts?.dialTimeout, 30_000),
      responseHeaderTimeoutMs: durationOr(def?.forwardingTimeouts?.responseHeaderTimeout ?? base.forwardingTimeouts?.responseHeaderTimeout, 0),
      idleConnTimeoutMs: durationOr(def?.forwardingTimeouts?.idleConnTimeout ?? base.forwardingTimeouts?.idleConnTimeout, 90_000),
      maxIdleConnsPerHost: def?.maxIdleConnsPerHost ?? base.maxIdleConnsPerHost ?? 200,
      insecureSkipVerify: def?.insecureSkipVerify ?? base.insecureSkipVerify ?? false,
      ...(def?.serverName ? { serverName: def.serverName } : {}),
    };
    const key = `${name ?? 'default'}|${JSON.stringify(options)}`;
    let t = this.transports.get(key);
    if (!t) {
      t = createTransport(options);
      this.transports.set(key, t);
    }
    return t;
  }

  /** Returns the pooled balancer for a service definition, creating it when new or changed. */
  balancer(name: string, svc: HttpService, onHealth?: (server: string, healthy: boolean) => void): { lb: WeightedRoundRobin<UpstreamTarget>; errors: string[] } {
    const lbDef = svc.loadBalancer ?? {};
    const key = `${name}|${JSON.stringify(lbDef)}`;
    const existing = this.entries.get(name);
    if (existing && existing.key === key) return { lb: existing.lb, errors: [] };
    const errors: string[] = [];
    const servers: BalancedServer<UpstreamTarget>[] = [];
    for (const s of lbDef.servers ?? []) {
      let target: URL;
      try {
        target = new URL(s.url);
      } catch {
        errors.push(`invalid server URL "${s.url}"`);
        continue;
      }
      if (target.protocol !== 'http:' && target.protocol !== 'https:' && target.protocol !== 'h2c:') {
        errors.push(`unsupported scheme in server URL "${s.url}"`);
        continue;
      }
      if (target.protocol === 'h2c:') target = new URL(`http://${target.host}${target.pathname}`);
      const value: UpstreamTarget = { url: s.url, target, https: target.protocol === 'https:' };
      servers.push({ value, weight: s.weight ?? 1, id: shortHash(s.url), healthy: true, current: 0 });
    }
    const lb = new WeightedRoundRobin(servers, lbDef.sticky?.cookie ?? (lbDef.sticky ? {} : undefined), name);
    let checker: HealthChecker | undefined;
    if (lbDef.healthCheck && servers.length > 0) {
      checker = new HealthChecker(servers, lbDef.healthCheck, onHealth);
      checker.start();
    }
    existing?.checker?.stop();
    this.entries.set(name, { key, lb, checker });
    return { lb, errors };
  }

  /** Stops resources of services that are no longer in the configuration. */
  retain(names: ReadonlySet<string>): void {
    for (const [name, e] of this.entries) {
      if (!names.has(name)) {
        e.checker?.stop();
        this.entries.delete(name);
      }
    }
  }

  close(): void {
    for (const e of this.entries.values()) e.checker?.stop();
    this.entries.clear();
    for (const t of this.transports.values()) t.close();
    this.transports.clear();
  }
}

/** Builds the handler of a load-balancer service. */
export function loadBalancerHandler(name: string, lb: WeightedRoundRobin<UpstreamTarget>, transport: Transport, passHostHeader: boolean): { handler: Handler; info: ServiceInfo } {
  const handler: Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void => {
    const server = lb.pick(req);
    if (!server) {
      sendStatus(res, 503, 'no available server\n');
      return;
    }
    ctx.service ??= name;
    lb.stick(req, res, server);
    forward(req, res, ctx, server.value, transport, passHostHeader);
  };
  const info: ServiceInfo = {
    name, type: 'loadBalancer',
    servers: () => lb.servers.map((s) => ({ url: s.value.url, healthy: s.healthy, weight: s.weight })),
    available: () => lb.hasHealthy(),
  };
  return { handler, info };
}

/** Builds a weighted service over child services (resolved lazily: children may be built later). */
export function weightedHandler(name: string, children: { name: string; weight: number }[], resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined): { handler: Handler; info: ServiceInfo } {
  const state = children.map((c) => ({ ...c, current: 0 }));
  const handler: Handler = (req, res, ctx) => {
    let best: (typeof state)[number] | undefined;
    let total = 0;
    for (const c of state) {
      const child = resolve(c.name);
      if (!child || !child.info.available() || c.weight <= 0) continue;
      c.current += c.weight;
      total += c.weight;
      if (!best || c.current > best.current) best = c;
    }
    if (!best) { sendStatus(res, 503, 'no available server\n'); return; }
    best.current -= total;
    ctx.service ??= name;
    resolve(best.name)!.handler(req, res, ctx);
  };
  const info: ServiceInfo = {
    name, type: 'weighted',
    servers: () => state.flatMap((c) => resolve(c.name)?.info.servers() ?? []),
    available: () => state.some((c) => resolve(c.name)?.info.available() ?? false),
  };
  return { handler, info };
}

/** Failover: the main service while it has a healthy server, else the fallback. */
export function failoverHandler(name: string, main: string, fallback: string, resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined): { handler: Handler; info: ServiceInfo } {
  const handler: Handler = (req, res, ctx) => {
    const m = resolve(main);
    const target = m && m.info.available() ? m : resolve(fallback);
    if (!target) { sendStatus(res, 503, 'no available server\n'); return; }
    ctx.service ??= name;
    target.handler(req, res, ctx);
  };
  const info: ServiceInfo = {
    name, type: 'failover',
    servers: () => [...(resolve(main)?.info.servers() ?? []), ...(resolve(fallback)?.info.servers() ?? [])],
    available: () => (resolve(main)?.info.available() ?? false) || (resolve(fallback)?.info.available() ?? false),
  };
  return { handler, info };
}

/** A response that goes nowhere: what a mirror answers is dropped (Traefik's black-hole writer). */
class DiscardedResponse extends ServerResponse {
  override write(..._args: unknown[]): boolean { return true; }
  override end(..._args: unknown[]): this {
    if (!this.writableEnded) { (this as { finished: boolean }).finished = true; queueMicrotask(() => { this.emit('finish'); this.emit('close'); }); }
    return this;
  }
  override destroy(): this { queueMicrotask(() => this.emit('close')); return this; }
}

/** A copy of `req` for a mirror: same method, target and headers, the given body (or none). */
function mirrorRequest(req: IncomingMessage, body: Buffer | undefined): IncomingMessage {
  const copy = Object.assign(Readable.from(body && body.length > 0 ? [body] : []), {
    method: req.method, url: req.url, headers: { ...req.headers },
    httpVersion: '1.1', httpVersionMajor: 1, httpVersionMinor: 1,
    rawHeaders: [] as string[], socket: req.socket, complete: true,
  }) as unknown as IncomingMessage;
  if (body && body.length > 0) copy.headers['content-length'] = String(body.length);
  else delete copy.headers['content-length'];
  return copy;
}

/**
 * Traefik's mirroring service: the main service answers; each mirror gets a copy of `percent` % of
 * the requests (spread evenly, as Traefik counts them) and its answers are dropped. With a body,
 * the body is read into memory first (up to `maxBodySize`; a larger request is served but not
 * mirrored) and both the main service and the mirrors get it; `mirrorBody: false` mirrors
 * without the body.
 */
export function mirroringHandler(name: string, main: string, mirrors: readonly { name: string; percent: number }[], mirrorBody: boolean, maxBodySize: number, resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined): { handler: Handler; info: ServiceInfo } {
  const counts = mirrors.map(() => 0);
  let total = 0;
  const pick = (): string[] => {
    total++;
    const out: string[] = [];
    mirrors.forEach((m, i) => {
      if (counts[i]! * 100 < total * Math.max(0, Math.min(100, m.percent))) { counts[i]!++; out.push(m.name); }
    });
    return out;
  };
  const send = (names: readonly string[], req: IncomingMessage, ctx: RequestContext, body: Buffer | undefined): void => {
    for (const n of names) {
      const svc = resolve(n);
      if (!svc) continue;
      const copy = mirrorRequest(req, body);
      const mctx: RequestContext = { entrypoint: ctx.entrypoint, scheme: ctx.scheme, remoteIp: ctx.remoteIp, clientIp: ctx.clientIp, trustedPeer: ctx.trustedPeer, host: ctx.host, path: ctx.path, start: ctx.start, service: n };
      svc.handler(copy, new DiscardedResponse(copy), mctx);
    }
  };
  const handler: Handler = (req, res, ctx) => {
    const m = resolve(main);
    if (!m) { sendStatus(res, 503, 'no available server\n'); return; }
    ctx.service ??= name;
    const active = ctx.upgradeHead === undefined ? pick() : [];
    if (active.length === 0) { m.handler(req, res, ctx); return; }
    if (!hasBody(req) || !mirrorBody) {
      send(active, req, ctx, undefined);
      m.handler(req, res, ctx);
      return;
    }
    // Read the body once for everyone; past maxBodySize the request goes on unmirrored.
    const source = requestBody(req);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      chunks.push(c);
      size += c.length;
      if (maxBodySize >= 0 && size > maxBodySize) {
        source.off('data', onData);
        source.off('end', onEnd);
        source.pause();
        const rest = new PassThrough();
        for (const x of chunks) rest.write(x);
        source.pipe(rest);
        (req as IncomingMessage & BodyCarrier).berthBody = rest;
        m.handler(req, res, ctx);
      }
    };
    const onEnd = (): void => {
      const body = Buffer.concat(chunks, size);
      setReplayableBody(req, size, () => Readable.from(size > 0 ? [body] : []));
      send(active, req, ctx, body);
      m.handler(req, res, ctx);
    };
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', () => res.destroy());
  };
  const info: ServiceInfo = {
    name, type: 'mirroring',
    servers: () => resolve(main)?.info.servers() ?? [],
    available: () => resolve(main)?.info.available() ?? false,
  };
  return { handler, info };
}
