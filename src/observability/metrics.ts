import { METHODS } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { EntryPointConfig, PrometheusConfig } from '../config/static/types.ts';
import type { ProxyRequest, RequestContext } from '../engine/message.ts';
import type { ProxyResponse } from '../engine/response.ts';
import { L4Counters, l4Counters } from '../tcp/l4-counters.ts';
import { type MetricsSources, renderL4, renderProviderGauges, renderStateGauges } from './metrics-gauges.ts';
import { addInto, type MetricsState, type Series, type SeriesState, sameBounds } from './metrics-state.ts';
import { Exposition, LABEL_NAME, METRIC_NAME, labelString } from './prometheus-text.ts';
import { requestBytes, responseBytes } from './response-bytes.ts';

/** Traefik's default histogram buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.1, 0.3, 1.2, 5];

type FamilyName = 'entrypoint' | 'router' | 'service';

/** Options beside the static `metrics.prometheus` section. */
export interface MetricsOptions {
  /** Entrypoints; those with `observability.metrics: false` are not counted. */
  readonly entryPoints?: Readonly<Record<string, EntryPointConfig>>;
  /** `metrics.addInternals`: count requests to `*@internal` services too. */
  readonly addInternals?: boolean;
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

    renderStateGauges(e, p, src);

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

    renderProviderGauges(e, src.providers);
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
