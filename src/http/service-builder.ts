import { readFileSync } from 'node:fs';
import type { HttpService, ServersTransport } from '../config/dynamic/types.ts';
import type { StaticServersTransport } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';
import { errorMessage } from '../lib/errors.ts';
import { readRootCAs } from '../lib/root-cas.ts';
import type { Handler } from './handler.ts';
import {
  createTransport,
  forward,
  upstreamTarget,
  type Transport,
  type TransportOptions,
  type UpstreamTarget,
} from './forwarder.ts';
import { HealthChecker } from './health-check.ts';
import { LoadBalancer, shortHash, type BalancedServer } from './load-balancer.ts';
import { WeightedRoundRobin } from '../lib/weighted-round-robin.ts';
import { sendStatus } from './responses.ts';

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
  readonly lb: LoadBalancer<UpstreamTarget>;
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
  private readonly probes: boolean;
  /** Health reported by the process that probes (`applyHealth`), by service then server URL. */
  private reported = new Map<string, ReadonlyMap<string, boolean>>();
  private healthListener: (() => void) | undefined;

  /**
   * `probes: false` for a data-plane worker: health checks run once, in the control plane, and
   * their results arrive through `applyHealth`.
   */
  constructor(staticTransport: StaticServersTransport, opts: { readonly probes?: boolean } = {}) {
    this.staticTransport = staticTransport;
    this.probes = opts.probes ?? true;
  }

  /** Calls `fn` whenever a health checker of this pool flips a server (to replicate the state). */
  onHealthChange(fn: () => void): void {
    this.healthListener = fn;
  }

  /** The health of every server of every health-checked service: [service, server URL, healthy]. */
  healthStates(): [string, string, boolean][] {
    const out: [string, string, boolean][] = [];
    for (const [name, e] of this.entries)
      if (e.checker) for (const s of e.lb.servers) out.push([name, s.value.url, s.healthy]);
    return out;
  }

  /** Replaces the health of health-checked servers with what the probing process reported. */
  applyHealth(states: readonly (readonly [string, string, boolean])[]): void {
    const next = new Map<string, Map<string, boolean>>();
    for (const [service, url, healthy] of states) {
      let m = next.get(service);
      if (!m) next.set(service, (m = new Map()));
      m.set(url, healthy);
    }
    this.reported = next;
    for (const [name, e] of this.entries) {
      const m = next.get(name);
      if (m) for (const s of e.lb.servers) s.healthy = m.get(s.value.url) ?? s.healthy;
    }
  }

  /** The pooled transport for a serversTransport definition, or why it cannot be built (an unreadable CA). */
  transport(name: string | undefined, def: ServersTransport | undefined): Transport | { error: string } {
    const base = this.staticTransport;
    const cas = readRootCAs(def?.rootCAs ?? base.rootCAs);
    if ('error' in cas) return cas;
    const certificates = readClientCertificates(def?.certificates);
    if ('error' in certificates) return certificates;
    const options: TransportOptions = {
      dialTimeoutMs: durationOr(def?.forwardingTimeouts?.dialTimeout ?? base.forwardingTimeouts?.dialTimeout, 30_000),
      responseHeaderTimeoutMs: durationOr(
        def?.forwardingTimeouts?.responseHeaderTimeout ?? base.forwardingTimeouts?.responseHeaderTimeout,
        0,
      ),
      idleConnTimeoutMs: durationOr(
        def?.forwardingTimeouts?.idleConnTimeout ?? base.forwardingTimeouts?.idleConnTimeout,
        90_000,
      ),
      maxIdleConnsPerHost: def?.maxIdleConnsPerHost ?? base.maxIdleConnsPerHost ?? 200,
      insecureSkipVerify: def?.insecureSkipVerify ?? base.insecureSkipVerify ?? false,
      ...(cas.ca.length > 0 ? { rootCAs: cas.ca } : {}),
      ...(certificates.pairs.length > 0 ? { certificates: certificates.pairs } : {}),
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
  balancer(
    name: string,
    svc: HttpService,
    onHealth?: (server: string, healthy: boolean) => void,
  ): { lb: LoadBalancer<UpstreamTarget>; errors: string[] } {
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
      const value = upstreamTarget(s.url, target);
      servers.push({
        value,
        weight: s.weight ?? 1,
        id: shortHash(s.url),
        healthy: this.reported.get(name)?.get(value.url) ?? true,
      });
    }
    const lb = new LoadBalancer(servers, lbDef.sticky?.cookie ?? (lbDef.sticky ? {} : undefined), name);
    let checker: HealthChecker | undefined;
    if (lbDef.healthCheck && servers.length > 0 && this.probes) {
      checker = new HealthChecker(servers, lbDef.healthCheck, (server, healthy) => {
        onHealth?.(server, healthy);
        this.healthListener?.();
      });
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
export function loadBalancerHandler(
  name: string,
  lb: LoadBalancer<UpstreamTarget>,
  transport: Transport,
  passHostHeader: boolean,
): { handler: Handler; info: ServiceInfo } {
  const handler: Handler = (req, res, ctx): void => {
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
    name,
    type: 'loadBalancer',
    servers: () => lb.servers.map((s) => ({ url: s.value.url, healthy: s.healthy, weight: s.weight })),
    available: () => lb.hasHealthy(),
  };
  return { handler, info };
}

/** Builds a weighted service over child services (resolved lazily: children may be built later). */
export function weightedHandler(
  name: string,
  children: { name: string; weight: number }[],
  resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined,
): { handler: Handler; info: ServiceInfo } {
  const wrr = new WeightedRoundRobin(children.map((c) => ({ item: c.name, weight: c.weight })));
  const available = (n: string): boolean => resolve(n)?.info.available() === true;
  const handler: Handler = (req, res, ctx) => {
    const best = wrr.next(available);
    if (best === undefined) {
      sendStatus(res, 503, 'no available server\n');
      return;
    }
    ctx.service ??= name;
    resolve(best)!.handler(req, res, ctx);
  };
  const info: ServiceInfo = {
    name,
    type: 'weighted',
    servers: () => children.flatMap((c) => resolve(c.name)?.info.servers() ?? []),
    available: () => children.some((c) => available(c.name)),
  };
  return { handler, info };
}

/** Failover: the main service while it has a healthy server, else the fallback. */
export function failoverHandler(
  name: string,
  main: string,
  fallback: string,
  resolve: (n: string) => { handler: Handler; info: ServiceInfo } | undefined,
): { handler: Handler; info: ServiceInfo } {
  const handler: Handler = (req, res, ctx) => {
    const m = resolve(main);
    const target = m?.info.available() ? m : resolve(fallback);
    if (!target) {
      sendStatus(res, 503, 'no available server\n');
      return;
    }
    ctx.service ??= name;
    target.handler(req, res, ctx);
  };
  const info: ServiceInfo = {
    name,
    type: 'failover',
    servers: () => [...(resolve(main)?.info.servers() ?? []), ...(resolve(fallback)?.info.servers() ?? [])],
    available: () => (resolve(main)?.info.available() ?? false) || (resolve(fallback)?.info.available() ?? false),
  };
  return { handler, info };
}

/** The CA certificates of `rootCAs`: file paths, or PEM text written inline. */
/** A serversTransport's client certificates: files, or PEM content in place of a path (as Traefik's FileOrContent). */
function readClientCertificates(
  list: readonly { certFile: string; keyFile: string }[] | undefined,
): { pairs: { cert: string; key: string }[] } | { error: string } {
  const pairs: { cert: string; key: string }[] = [];
  for (const c of list ?? []) {
    try {
      const cert = c.certFile.includes('-----BEGIN') ? c.certFile : readFileSync(c.certFile, 'utf8');
      const key = c.keyFile.includes('-----BEGIN') ? c.keyFile : readFileSync(c.keyFile, 'utf8');
      pairs.push({ cert, key });
    } catch (err) {
      return { error: `serversTransport certificates ${c.certFile}: ${errorMessage(err)}` };
    }
  }
  return { pairs };
}
