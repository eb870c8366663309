import { METHODS } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { StorageStatus } from '../acme/certificate-manager.ts';
import type { EntryPointConfig, PrometheusConfig } from '../config/static/types.ts';
import type { ProxyRequest, RequestContext } from '../engine/message.ts';
import type { ProxyResponse } from '../engine/response.ts';
import type { ServiceInfo } from '../http/service-builder.ts';
import type { ProviderState } from '../providers/provider.ts';
import { L4Counters, l4Counters, type L4CounterState } from '../tcp/l4-counters.ts';
import { Exposition, LABEL_NAME, METRIC_NAME, labelString } from './prometheus-text.ts';
import { requestBytes, responseBytes } from './response-bytes.ts';

/** Traefik's default histogram buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.1, 0.3, 1.2, 5];

/** A certificate as the `tls_certs_not_after` gauge needs it. */
export interface CertificateInfo {
  readonly names: readonly string[];
  readonly notAfter: Date;
  readonly serial?: string;
}

/** The live state `render` reads besides the request counters. */
export interface MetricsSources {
  /** What the gauges read of the snapshot in force (a `RoutingSnapshot` fits). */
  readonly snapshot: {
    readonly version: number;
    readonly createdAt: number;
    readonly serviceInfo: ReadonlyMap<string, ServiceInfo>;
  };
  readonly providers: ReadonlyMap<string, ProviderState>;
  readonly certificates: readonly CertificateInfo[];
  /** Open connections per entrypoint (`TCP` / `UDP`, as Traefik labels them). */
  readonly openConnections?: readonly { entrypoint: string; protocol: string; count: number }[];
  /** The latest `exportState()` of each data-plane worker, added to this process's own counts. */
  readonly workers?: readonly MetricsState[];
  /** Per ACME resolver: whether its storage holds what it issued, and its failed writes. */
  readonly acmeStorage?: readonly StorageStatus[];
  /** Fleet mode: Redis connection, leases held, last reconcile. */
  readonly fleet?: {
    readonly node: string;
    readonly connected: boolean;
    readonly leases: readonly string[];
    readonly lastSync?: string;
  };
}

/** One series as plain data: key, label string, count, sum, bucket counts, request and response bytes. */
export type SeriesState = readonly [string, string, number, number, readonly number[], number, number];

/**
 * A process's request counters as plain data (structured-clone and JSON safe), so data-plane
 * workers can send theirs to the process that serves `/metrics`.
 */
export interface MetricsState {
  readonly bounds: readonly number[];
  readonly entrypoint: readonly SeriesState[];
  readonly router: readonly SeriesState[];
  readonly service: readonly SeriesState[];
  /** TCP connections refused by middlewares and UDP sessions dropped, in this process. */
  readonly l4?: L4CounterState;
}

type FamilyName = 'entrypoint' | 'router' | 'service';

/** Options beside the static `metrics.prometheus` section. */
export interface MetricsOptions {
  /** Entrypoints; those with `observability.metrics: false` are not counted. */
  readonly entryPoints?: Readonly<Record<string, EntryPointConfig>>;
  /** `metrics.addInternals`: count requests to `*@internal` services too. */
  readonly addInternals?: boolean;
}

/** One label set of a request family: a counter, a histogram and two byte counters. */
interface Series {
  readonly labels: string;
  count: number;
  sum: number;
  readonly buckets: Float64Array;
  requestBytes: number;
  responseBytes: number;
}

const KNOWN_METHODS = new Set(METHODS);
/** Unknown methods share one label value, so a client cannot grow the series without bound. */
const methodLabel = (m: string | undefined): string =>
  m !== undefined && KNOWN_METHODS.has(m) ? m : 'EXTENSION_METHOD';

/** Traefik's protocol label: `websocket`, `sse` or `http`. */
function protocolLabel(req: ProxyRequest): string {
  if (req.upgrade) return 'websocket';
  const accept = req.headers.get('accept');
  if (accept?.includes('text/event-stream')) return 'sse';
  return 'http';
}

/**
 * Prometheus metrics with Traefik's names under a configurable prefix (default `traefik`), so
 * existing dashboards and alerts keep working. Counting happens in `onResponse` (one map lookup
 * per enabled family); everything derived from the snapshot is computed in `render`.
 */
export class Metrics {
  readonly prefix: string;
  private readonly bounds: readonly number[];
  private readonly entrypoints: Map<string, Series> | undefined;
  private readonly routers: Map<string, Series> | undefined;
  private readonly services: Map<string, Series> | undefined;
  private readonly headerNames: string[] = [];
  private readonly headerLabelNames: string[] = [];
  private readonly skip: Set<string>;
  private readonly addInternals: boolean;
  /** L4 counts of workers that exited, kept so totals never go backwards. */
  private readonly exitedL4 = new L4Counters();

  constructor(cfg: PrometheusConfig, opts: MetricsOptions = {}) {
    const prefix = cfg.prefix ?? 'traefik';
    this.prefix = METRIC_NAME.test(prefix) ? prefix : 'traefik';
    const b = (cfg.buckets ?? DEFAULT_BUCKETS).filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
    this.bounds = [...new Set(b.length > 0 ? b : DEFAULT_BUCKETS)];
    this.entrypoints = cfg.addEntryPointsLabels !== false ? new Map() : undefined;
    this.routers = cfg.addRoutersLabels === true ? new Map() : undefined;
    this.services = cfg.addServicesLabels !== false ? new Map() : undefined;
    for (const [label, header] of Object.entries(cfg.headerLabels ?? {})) {
      if (
        !LABEL_NAME.test(label) ||
        ['code', 'method', 'protocol', 'entrypoint', 'router', 'service', 'le'].includes(label)
      )
        continue;
      this.headerLabelNames.push(label);
      this.headerNames.push(header.toLowerCase());
    }
    this.skip = new Set(
      Object.entries(opts.entryPoints ?? {})
        .filter(([, e]) => e.observability?.metrics === false)
        .map(([n]) => n),
    );
    this.addInternals = opts.addInternals === true;
  }

  /** The entrypoint's `onResponse` hook. */
  onResponse(req: ProxyRequest, res: ProxyResponse, ctx: RequestContext): void {
    const service = ctx.service;
    if (!this.addInternals && service !== undefined && service.endsWith('@internal')) return;
    if (this.skip.size > 0 && this.skip.has(ctx.entrypoint)) return;
    const code = String(res.statusCode);
    const method = methodLabel(req.method);
    const protocol = protocolLabel(req);
    const seconds = (performance.now() - ctx.start) / 1000;
    const inBytes = requestBytes(req.headers);
    const outBytes = responseBytes(res, req.method, res.statusCode);
    let headerValues: string[] | undefined;
    let headerKey = '';
    if (this.headerNames.length > 0) {
      headerValues = this.headerNames.map((h) => req.headers.get(h) ?? '');
      headerKey = '\u0000' + headerValues.join('\u0000');
    }
    if (this.entrypoints) {
      const key = code + '\u0000' + method + '\u0000' + protocol + '\u0000' + ctx.entrypoint + headerKey;
      this.observe(
        this.entrypoints,
        key,
        ['code', 'method', 'protocol', 'entrypoint'],
        [code, method, protocol, ctx.entrypoint],
        headerValues,
        seconds,
        inBytes,
        outBytes,
      );
    }
    if (this.routers && ctx.router !== undefined) {
      const svc = service ?? '';
      const key = code + '\u0000' + method + '\u0000' + protocol + '\u0000' + ctx.router + '\u0000' + svc + headerKey;
      this.observe(
        this.routers,
        key,
        ['code', 'method', 'protocol', 'router', 'service'],
        [code, method, protocol, ctx.router, svc],
        headerValues,
        seconds,
        inBytes,
        outBytes,
      );
    }
    if (this.services && service !== undefined) {
      const key = code + '\u0000' + method + '\u0000' + protocol + '\u0000' + service + headerKey;
      this.observe(
        this.services,
        key,
        ['code', 'method', 'protocol', 'service'],
        [code, method, protocol, service],
        headerValues,
        seconds,
        inBytes,
        outBytes,
      );
    }
  }

  private observe(
    family: Map<string, Series>,
    key: string,
    names: string[],
    values: string[],
    headerValues: string[] | undefined,
    seconds: number,
    inBytes: number,
    outBytes: number,
  ): void {
    let s = family.get(key);
    if (s === undefined) {
      const labels = headerValues
        ? labelString([...names, ...this.headerLabelNames], [...values, ...headerValues])
        : labelString(names, values);
      s = {
        labels,
        count: 0,
        sum: 0,
        buckets: new Float64Array(this.bounds.length),
        requestBytes: 0,
        responseBytes: 0,
      };
      family.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= bounds[i]!) {
        s.buckets[i]!++;
        break;
      }
    }
    s.requestBytes += inBytes;
    s.responseBytes += outBytes;
  }

  /** This process's request counters as plain data (cumulative). */
  exportState(): MetricsState {
    const dump = (m: Map<string, Series> | undefined): SeriesState[] =>
      m
        ? [...m].map(
            ([k, x]) => [k, x.labels, x.count, x.sum, [...x.buckets], x.requestBytes, x.responseBytes] as const,
          )
        : [];
    return {
      bounds: this.bounds,
      entrypoint: dump(this.entrypoints),
      router: dump(this.routers),
      service: dump(this.services),
      l4: l4Counters.exportState(),
    };
  }

  /**
   * Adds another process's counters to this one for good — for a worker that exited, so totals
   * never go backwards. States with other buckets are ignored (they cannot be added up).
   */
  absorb(state: MetricsState): void {
    if (state.l4 !== undefined) this.exitedL4.add(state.l4);
    if (!sameBounds(state.bounds, this.bounds)) return;
    for (const f of ['entrypoint', 'router', 'service'] as const) {
      const own = this.family(f);
      if (own) addInto(own, state[f], this.bounds.length);
    }
  }

  private family(f: FamilyName): Map<string, Series> | undefined {
    return f === 'entrypoint' ? this.entrypoints : f === 'router' ? this.routers : this.services;
  }

  /** Own series plus the workers' (copies; nothing is mutated). */
  private merged(f: FamilyName, workers: readonly MetricsState[] | undefined): Map<string, Series> | undefined {
    const own = this.family(f);
    if (!own || !workers || workers.length === 0) return own;
    const out = new Map<string, Series>();
    for (const [k, x] of own) out.set(k, { ...x, buckets: Float64Array.from(x.buckets) });
    for (const w of workers) if (sameBounds(w.bounds, this.bounds)) addInto(out, w[f], this.bounds.length);
    return out;
  }

  /** The whole exposition: request families, then config, TLS, server and provider gauges. */
  render(src: MetricsSources): string {
    const p = this.prefix;
    const e = new Exposition();
    const snap = src.snapshot;

    e.family(`${p}_config_reloads_total`, 'counter', 'Config reloads.').sample(
      `${p}_config_reloads_total`,
      '',
      snap.version,
    );
    e.family(`${p}_config_last_reload_success`, 'gauge', 'Last config reload success (Unix time, seconds).').sample(
      `${p}_config_last_reload_success`,
      '',
      Math.floor(snap.createdAt / 1000),
    );

    if (src.openConnections && src.openConnections.length > 0) {
      e.family(`${p}_open_connections`, 'gauge', 'How many open connections exist, by entryPoint and protocol.');
      for (const c of src.openConnections)
        e.sample(`${p}_open_connections`, labelString(['entrypoint', 'protocol'], [c.entrypoint, c.protocol]), c.count);
    }

    if (src.certificates.length > 0) {
      e.family(`${p}_tls_certs_not_after`, 'gauge', 'Certificate expiration timestamp (Unix time, seconds).');
      const seen = new Set<string>();
      for (const c of src.certificates) {
        const labels = labelString(['cn', 'sans', 'serial'], [c.names[0] ?? '', c.names.join(','), c.serial ?? '']);
        if (seen.has(labels)) continue;
        seen.add(labels);
        e.sample(`${p}_tls_certs_not_after`, labels, Math.floor(c.notAfter.getTime() / 1000));
      }
    }

    if (src.acmeStorage && src.acmeStorage.length > 0) {
      // Not Traefik's: a certificate that exists only in memory is lost with the process (and ordered again).
      e.family(
        'berth_acme_storage_stored',
        'gauge',
        'ACME storage holds every account and certificate the resolver has (1), or a write failed and is being retried (0).',
      );
      for (const s of src.acmeStorage)
        e.sample(
          'berth_acme_storage_stored',
          labelString(['resolver', 'storage'], [s.resolver, s.storage]),
          s.stored ? 1 : 0,
        );
      e.family('berth_acme_storage_write_failures_total', 'counter', 'Failed writes of the ACME storage.');
      for (const s of src.acmeStorage)
        e.sample(
          'berth_acme_storage_write_failures_total',
          labelString(['resolver', 'storage'], [s.resolver, s.storage]),
          s.failedWrites,
        );
    }

    if (src.fleet) {
      const node = labelString(['node'], [src.fleet.node]);
      e.family(
        'berth_fleet_connected',
        'gauge',
        "This host reaches the fleet's Redis (1) or serves from its local copy (0).",
      );
      e.sample('berth_fleet_connected', node, src.fleet.connected ? 1 : 0);
      e.family(
        'berth_fleet_leases_held',
        'gauge',
        'Order leases this host holds (certificates it is ordering for the fleet).',
      );
      e.sample('berth_fleet_leases_held', node, src.fleet.leases.length);
      e.family(
        'berth_fleet_last_sync_timestamp_seconds',
        'gauge',
        'When this host last reconciled its certificates with Redis.',
      );
      e.sample(
        'berth_fleet_last_sync_timestamp_seconds',
        node,
        src.fleet.lastSync ? Math.floor(Date.parse(src.fleet.lastSync) / 1000) : 0,
      );
    }

    const entrypoints = this.merged('entrypoint', src.workers);
    const routers = this.merged('router', src.workers);
    const services = this.merged('service', src.workers);
    if (entrypoints) this.renderRequests(e, `${p}_entrypoint`, 'entrypoint', entrypoints);
    if (routers) this.renderRequests(e, `${p}_router`, 'router', routers);
    if (services) {
      this.renderRequests(e, `${p}_service`, 'service', services);
      const up = new Map<string, number>();
      for (const [name, info] of snap.serviceInfo) {
        if (name.endsWith('@internal') || info.type !== 'loadBalancer') continue;
        for (const s of info.servers()) up.set(labelString(['service', 'url'], [name, s.url]), s.healthy ? 1 : 0);
      }
      if (up.size > 0) {
        e.family(`${p}_service_server_up`, 'gauge', 'Service server is up (1) or down (0).');
        for (const [labels, v] of up) e.sample(`${p}_service_server_up`, labels, v);
      }
    }

    renderL4(e, [
      l4Counters.exportState(),
      this.exitedL4.exportState(),
      ...(src.workers ?? []).flatMap((w) => (w.l4 ? [w.l4] : [])),
    ]);

    e.family('berth_provider_up', 'gauge', 'Provider state: 1 when ok, 0 when starting, degraded or down.');
    for (const [name, st] of src.providers)
      e.sample('berth_provider_up', labelString(['provider'], [name]), st.status === 'ok' ? 1 : 0);
    if ([...src.providers.values()].some((st) => st.refusedClaims !== undefined)) {
      // Not Traefik's: a repository asking for a host (entrypoint, name) that another repository owns.
      e.family(
        'berth_claims_refused',
        'gauge',
        'Claims currently refused because another repository owns the host, entrypoint or name, by provider and daemon.',
      );
      for (const [name, st] of src.providers)
        for (const [daemon, n] of Object.entries(st.refusedClaims ?? {}))
          e.sample('berth_claims_refused', labelString(['provider', 'daemon'], [name, daemon]), n);
    }
    return e.toString();
  }

  private renderRequests(e: Exposition, base: string, what: string, family: Map<string, Series>): void {
    if (family.size === 0) return;
    e.family(
      `${base}_requests_total`,
      'counter',
      `How many HTTP requests processed, by ${what}, code, method and protocol.`,
    );
    for (const s of family.values()) e.sample(`${base}_requests_total`, s.labels, s.count);
    e.family(
      `${base}_request_duration_seconds`,
      'histogram',
      `How long it took to process the request, by ${what}, code, method and protocol.`,
    );
    for (const s of family.values())
      e.histogram(`${base}_request_duration_seconds`, s.labels, this.bounds, s.buckets, s.sum, s.count);
    e.family(
      `${base}_requests_bytes_total`,
      'counter',
      `The total size of requests in bytes, by ${what}, code, method and protocol.`,
    );
    for (const s of family.values()) e.sample(`${base}_requests_bytes_total`, s.labels, s.requestBytes);
    e.family(
      `${base}_responses_bytes_total`,
      'counter',
      `The total size of responses in bytes, by ${what}, code, method and protocol.`,
    );
    for (const s of family.values()) e.sample(`${base}_responses_bytes_total`, s.labels, s.responseBytes);
  }
}

/** berth's own L4 counters, summed over this process, exited workers and live workers. */
function renderL4(e: Exposition, states: readonly L4CounterState[]): void {
  const sum = (
    rows: (s: L4CounterState) => L4CounterState['tcpRefused'],
    names: [string, string],
  ): Map<string, number> => {
    const out = new Map<string, number>();
    for (const s of states)
      for (const [a, b, n] of rows(s)) {
        const l = labelString(names, [a, b]);
        out.set(l, (out.get(l) ?? 0) + n);
      }
    return out;
  };
  const refused = sum((s) => s.tcpRefused, ['router', 'middleware']);
  if (refused.size > 0) {
    e.family(
      'berth_tcp_connections_refused_total',
      'counter',
      "TCP connections closed by a router's middleware before any upstream was dialled.",
    );
    for (const [l, n] of refused) e.sample('berth_tcp_connections_refused_total', l, n);
  }
  const dropped = sum((s) => s.udpDropped, ['entrypoint', 'reason']);
  if (dropped.size > 0) {
    e.family(
      'berth_udp_sessions_dropped_total',
      'counter',
      "UDP sessions lost at the session table's bound: evicted to make room, or refused.",
    );
    for (const [l, n] of dropped) e.sample('berth_udp_sessions_dropped_total', l, n);
  }
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Adds plain-data series into a family map (new label sets are created). */
function addInto(target: Map<string, Series>, series: readonly SeriesState[], nBuckets: number): void {
  for (const [key, labels, count, sum, buckets, reqB, respB] of series) {
    let t = target.get(key);
    if (!t) {
      t = { labels, count: 0, sum: 0, buckets: new Float64Array(nBuckets), requestBytes: 0, responseBytes: 0 };
      target.set(key, t);
    }
    t.count += count;
    t.sum += sum;
    for (let i = 0; i < nBuckets; i++) t.buckets[i]! += buckets[i] ?? 0;
    t.requestBytes += reqB;
    t.responseBytes += respB;
  }
}
