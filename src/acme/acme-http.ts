import { Agent } from 'node:https';
import { checkServerIdentity, getCACertificates, type PeerCertificate } from 'node:tls';
import * as acme from 'acme-client';
import { BerthError, ErrorCodes } from '../lib/errors.ts';

/**
 * acme-client talks HTTP through one shared axios instance. Here it is adapted once for berth:
 * - its own blind retries are off: the certificate manager owns retry timing and backoff;
 * - `Retry-After` of 429/503 answers is remembered per CA origin (acme-client's errors drop it);
 * - a CA that cannot be reached becomes a typed error instead of a TypeError;
 * - each CA origin gets its own TLS settings and timeout (`caCertificates`, `caSystemCertPool`,
 *   `caServerName`, `clientTimeout`), picked per request by URL.
 */

interface Pause {
  until: number;
  status: number;
}

const pauses = new Map<string, Pause>();
/** TLS agent and timeout per CA origin. */
const origins = new Map<string, { agent: Agent | undefined; timeoutMs: number | undefined }>();
let installed = false;

interface AxiosLikeError {
  config?: { url?: string; timeout?: number };
  response?: { status: number; headers: Record<string, unknown>; config?: { url?: string } };
  code?: string;
  message?: string;
}

/** Installs berth's adaptations on acme-client's axios instance (idempotent). */
export function installAcmeHttp(): void {
  if (installed) return;
  installed = true;
  const ax = acme.axios as unknown as {
    defaults: { acmeSettings?: { retryMaxAttempts: number }; httpsAgent?: unknown; timeout?: number };
    interceptors: {
      response: { handlers?: unknown[]; use(ok: unknown, err: unknown): number };
      request: { use(ok: (c: { url?: string; httpsAgent?: unknown; timeout?: number }) => unknown): number };
    };
  };
  if (ax.defaults.acmeSettings) ax.defaults.acmeSettings.retryMaxAttempts = 0;
  // Traefik's `clientTimeout` default: a whole request to the CA may take 2 minutes.
  ax.defaults.timeout = 120_000;
  const onError = (error: AxiosLikeError) => {
    const res = error.response;
    if (res) {
      record(res.config?.url ?? error.config?.url, res.status, res.headers['retry-after']);
      return Promise.reject(error);
    }
    const url = error.config?.url ?? 'the ACME server';
    // axios reports its own timeout as ECONNABORTED "timeout of N ms exceeded".
    const timedOut =
      error.code === 'ETIMEDOUT' || (error.code === 'ECONNABORTED' && /timeout/i.test(error.message ?? ''));
    const limit = error.config?.timeout;
    const reason = timedOut
      ? `no answer within ${limit ? `${limit} ms` : 'the timeout'} (acme.clientTimeout)`
      : (error.code ?? error.message ?? 'connection failed');
    return Promise.reject(new BerthError(ErrorCodes.ACME_ORDER, `cannot reach ${url}: ${reason}`, { cause: error }));
  };
  const handler = { fulfilled: null, rejected: onError, synchronous: false, runWhen: null };
  // acme-client's own error interceptor must see our typed error, so ours goes first.
  if (Array.isArray(ax.interceptors.response.handlers)) ax.interceptors.response.handlers.unshift(handler);
  else ax.interceptors.response.use(null, onError);
  ax.interceptors.request.use((config) => {
    const o = origins.get(originOf(config.url));
    if (o?.agent) config.httpsAgent = o.agent;
    if (o?.timeoutMs !== undefined) config.timeout = o.timeoutMs;
    return config;
  });
}

function originOf(url: string | undefined): string {
  try {
    return url ? new URL(url).origin : '';
  } catch {
    return '';
  }
}

function record(url: string | undefined, status: number, retryAfter: unknown): void {
  if (!url || (status !== 429 && status !== 503)) return;
  let seconds = Number(retryAfter);
  if (!Number.isFinite(seconds)) {
    const at = typeof retryAfter === 'string' ? Date.parse(retryAfter) : NaN;
    seconds = Number.isFinite(at) ? (at - Date.now()) / 1000 : 0;
  }
  try {
    pauses.set(new URL(url).origin, { until: Date.now() + Math.max(0, seconds) * 1000, status });
  } catch {
    // not a URL: nothing to remember
  }
}

/** The CA's latest 429/503 `Retry-After` deadline (epoch ms) seen since `since`, if any. */
export function caPause(directoryUrl: string, since: number): { until: number; rateLimited: boolean } | undefined {
  let origin: string;
  try {
    origin = new URL(directoryUrl).origin;
  } catch {
    return undefined;
  }
  const p = pauses.get(origin);
  if (!p || p.until < since) return undefined;
  return { until: p.until, rateLimited: p.status === 429 };
}

/** How berth connects to one CA (Traefik's resolver options of the same names). */
export interface CaConnection {
  /** PEM contents of `caCertificates`: the only roots trusted for the CA, unless `caSystemCertPool`. */
  readonly caCertificates?: readonly string[];
  /** Trust the system roots (see {@link systemRoots}) as well as `caCertificates`. */
  readonly caSystemCertPool?: boolean;
  /** The name the CA's certificate is checked against and sent as SNI (`caServerName`). */
  readonly caServerName?: string;
  /** Whole-request timeout (`clientTimeout`, Traefik's default 2 m). */
  readonly timeoutMs?: number;
}

/**
 * Sets how requests to the CA at `directoryUrl` are made. Every URL of one CA shares its origin
 * (RFC 8555 servers hand out their own URLs), so the settings follow all of them. Without
 * `caCertificates` the system roots are trusted, also with `caServerName` alone (Traefik would
 * then trust nothing at all).
 */
export function configureCa(directoryUrl: string, conn: CaConnection): void {
  const origin = originOf(directoryUrl);
  if (origin === '') return;
  const custom = (conn.caCertificates?.length ?? 0) > 0;
  const name = conn.caServerName;
  let agent: Agent | undefined;
  if (custom || name) {
    const ca = custom
      ? [...(conn.caSystemCertPool ? systemRoots() : []), ...conn.caCertificates!]
      : getCACertificates('default');
    agent = new Agent({
      ca,
      keepAlive: true,
      ...(name
        ? {
            servername: name,
            checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert),
          }
        : {}),
    });
  }
  origins.get(origin)?.agent?.destroy();
  origins.set(origin, { agent, timeoutMs: conn.timeoutMs });
}

/**
 * The roots `caSystemCertPool` adds, Go's system pool as Traefik uses it: the operating system's
 * store as OpenSSL finds it (SSL_CERT_FILE and SSL_CERT_DIR honoured), plus what Node trusts by
 * default (its bundled roots and NODE_EXTRA_CA_CERTS).
 */
function systemRoots(): string[] {
  return [...new Set([...getCACertificates('system'), ...getCACertificates('default')])];
}
