import { createServer, type Server } from 'node:http';
import { stringify as toYaml } from 'yaml';
import type { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import type { ProviderState } from '../providers/provider.ts';
import type { Logger } from '../lib/logger.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import { explain } from './explain.ts';
import { portsReport, type PortAllocations } from './ports-report.ts';
import { routesReport } from './routes-report.ts';
import { traefikApi } from './traefik-api.ts';

/** The request side the API reads: Node's `IncomingMessage` and the data plane's request both fit. */
export interface ApiRequest {
  readonly url?: string | undefined;
  readonly method?: string | undefined;
}

/** The response side the API writes (so `api@internal` serves it on an entrypoint too). */
export interface ApiResponse {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: string | Buffer): unknown;
  readonly headersSent: boolean;
  destroy(): unknown;
}

/** A part of the control plane beside the providers (DNS automation), as the API shows it. */
export interface StatusPart {
  readonly name: string;
  /** Shown in `/health` under `name`; a `failing` or `down` status makes berth `degraded`. */
  state(): { readonly status: string };
  /** Problems it has now, appended to `/diagnostics` and `/routes.json`. */
  diagnostics(): readonly Diagnostic[];
}

/** Everything the API reads; each source is a function so the API always shows the live state. */
export interface ApiSources {
  readonly holder: SnapshotHolder;
  readonly providers: () => ReadonlyMap<string, ProviderState>;
  readonly version: string;
  readonly startedAt: number;
  /** Certificates and their state (ACME manager + store), for /health and `berth certs`. */
  readonly certificates?: () => unknown;
  readonly certificateFor?: (sni: string) => unknown;
  /** TCP/UDP port allocations from `edge.dynamicPorts`. */
  readonly ports?: () => PortAllocations;
  /** Entrypoints and where they listen. */
  readonly entrypoints: () => readonly { name: string; address: string; protocol: string }[];
  /** Prometheus text exposition, when metrics are enabled. */
  readonly metrics?: () => string;
  /** The dashboard page. */
  readonly dashboard?: (req: ApiRequest, res: ApiResponse) => void;
  /** Fleet state (Redis connection, leases held, last sync), in fleet mode. */
  readonly fleet?: () => { connected: boolean };
  /** Parts beside the providers (DNS automation). */
  readonly parts?: () => readonly StatusPart[];
}

function json(res: ApiResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function text(res: ApiResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}

function memorySummary(): { rssMB: number; heapUsedMB: number; externalMB: number } {
  const m = process.memoryUsage();
  const mb = (n: number): number => Math.round(n / 1e5) / 10;
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), externalMB: mb(m.external) };
}

/** `/health`: overall status and every provider's state. */
export function healthReport(src: ApiSources): Record<string, unknown> {
  const snap = src.holder.current();
  const providers: Record<string, ProviderState> = {};
  let degraded = false;
  for (const [name, st] of src.providers()) {
    // Who stands behind each dynamic port is `/ports`' business.
    const { ports: _ports, ...state } = st;
    providers[name] = state;
    if (st.status !== 'ok') degraded = true;
  }
  const routers =
    Object.keys(snap.config.http?.routers ?? {}).length +
    Object.keys(snap.config.tcp?.routers ?? {}).length +
    Object.keys(snap.config.udp?.routers ?? {}).length;
  const services =
    Object.keys(snap.config.http?.services ?? {}).length +
    Object.keys(snap.config.tcp?.services ?? {}).length +
    Object.keys(snap.config.udp?.services ?? {}).length;
  const autoRoutes = Object.keys(snap.config.http?.routers ?? {}).filter(
    (n) => n.includes('-auto@') || n.endsWith('-auto'),
  ).length;
  const errors = snap.diagnostics.filter((d) => d.level === 'error').length;
  const fleet = src.fleet?.();
  if (fleet && !fleet.connected) degraded = true;
  const parts: Record<string, unknown> = {};
  for (const part of src.parts?.() ?? []) {
    const st = part.state();
    parts[part.name] = st;
    if (st.status === 'failing' || st.status === 'down') degraded = true;
  }
  return {
    status: degraded ? 'degraded' : 'ok',
    version: src.version,
    uptimeSeconds: Math.round((Date.now() - src.startedAt) / 1000),
    configVersion: snap.version,
    routers,
    services,
    autoRoutes,
    errors,
    memory: memorySummary(),
    providers,
    ...parts,
    ...(src.certificates ? { certificates: src.certificates() } : {}),
    ...(fleet ? { fleet } : {}),
  };
}

function partDiagnostics(src: ApiSources): Diagnostic[] {
  return (src.parts?.() ?? []).flatMap((p) => p.diagnostics());
}

/** Handles one API request; exported so `api@internal` can serve it on an entrypoint too. */
export function createApiHandler(src: ApiSources, log: Logger): (req: ApiRequest, res: ApiResponse) => void {
  return (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://api');
      const p = url.pathname.replace(/\/+$/, '') || '/';
      const snap = src.holder.current();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        text(res, 405, 'method not allowed\n');
        return;
      }
      switch (p) {
        case '/ping':
          text(res, 200, 'OK');
          return;
        case '/health':
          json(res, 200, healthReport(src));
          return;
        case '/routes.json':
          json(res, 200, routesReport(snap, partDiagnostics(src)));
          return;
        case '/ports':
          json(
            res,
            200,
            src.ports ? portsReport(src.ports(), snap, src.providers()) : { allocations: [], unassigned: [] },
          );
          return;
        case '/config.json':
          json(res, 200, snap.config);
          return;
        case '/config.yaml':
          text(res, 200, toYaml(snap.config), 'application/yaml; charset=utf-8');
          return;
        case '/certs':
          json(res, 200, src.certificates ? src.certificates() : []);
          return;
        case '/diagnostics':
          json(res, 200, [...snap.diagnostics, ...partDiagnostics(src)]);
          return;
        case '/explain': {
          const target = url.searchParams.get('url');
          if (!target) {
            json(res, 400, { error: 'give the URL to explain: /explain?url=https://host/path' });
            return;
          }
          const r = explain(snap, target, url.searchParams.get('method') ?? 'GET', src.certificateFor);
          json(res, 'error' in r ? 400 : 200, r);
          return;
        }
        case '/metrics':
          if (src.metrics) text(res, 200, src.metrics(), 'text/plain; version=0.0.4; charset=utf-8');
          else text(res, 404, 'metrics are not enabled (metrics.prometheus)\n');
          return;
        default:
          if (p.startsWith('/api/')) {
            const r = traefikApi(p, snap, src);
            if (r !== undefined) {
              json(res, 200, r);
              return;
            }
            json(res, 404, { message: 'not found' });
            return;
          }
          if ((p === '/' || p === '/dashboard') && src.dashboard) {
            src.dashboard(req, res);
            return;
          }
          json(res, 404, {
            error: `unknown path ${p}`,
            paths: [
              '/health',
              '/routes.json',
              '/ports',
              '/config.json',
              '/config.yaml',
              '/explain?url=',
              '/certs',
              '/ping',
              '/metrics',
              '/api/rawdata',
            ],
          });
      }
    } catch (err) {
      log.error({ err }, 'api request failed');
      if (!res.headersSent) json(res, 500, { error: (err as Error).message });
      else res.destroy();
    }
  };
}

/** The API listener (default 127.0.0.1:7111). */
export class ApiServer {
  private readonly server: Server;
  private readonly listen: string;

  constructor(listen: string, src: ApiSources, log: Logger) {
    this.listen = listen;
    this.server = createServer(createApiHandler(src, log));
  }

  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(this.listen);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) =>
        reject(
          new BerthError(ErrorCodes.LISTEN, `api: cannot listen on ${this.listen}: ${err.message}`, { cause: err }),
        ),
      );
      this.server.listen(port, host, () => resolve());
    });
    const a = this.server.address();
    return { host, port: a && typeof a === 'object' ? a.port : port };
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Parses `host:port`, `[::1]:port` or `:port` (all interfaces only when written so). */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new BerthError(ErrorCodes.CONFIG_INVALID, `api.listen: expected host:port, got "${listen}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}
