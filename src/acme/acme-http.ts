import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import { BerthError, ErrorCodes } from '../lib/errors.ts';

/**
 * acme-client talks HTTP through one shared axios instance. Here it is adapted once for berth:
 * - its own blind retries are off: the certificate manager owns retry timing and backoff;
 * - `Retry-After` of 429/503 answers is remembered per CA origin (acme-client's errors drop it);
 * - a CA that cannot be reached becomes a typed error instead of a TypeError;
 * - extra trust roots (`caCertificates`) are added to the system roots.
 */

interface Pause {
  until: number;
  status: number;
}

const pauses = new Map<string, Pause>();
const extraRoots = new Set<string>();
let installed = false;
let agent: Agent | undefined;

interface AxiosLikeError {
  config?: { url?: string };
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
    interceptors: { response: { handlers?: unknown[]; use(ok: unknown, err: unknown): number } };
  };
  if (ax.defaults.acmeSettings) ax.defaults.acmeSettings.retryMaxAttempts = 0;
  ax.defaults.timeout = 30_000;
  const onError = (error: AxiosLikeError) => {
    const res = error.response;
    if (res) {
      record(res.config?.url ?? error.config?.url, res.status, res.headers['retry-after']);
      return Promise.reject(error);
    }
    const url = error.config?.url ?? 'the ACME server';
    return Promise.reject(new BerthError(ErrorCodes.ACME_ORDER, `cannot reach ${url}: ${error.code ?? error.message ?? 'connection failed'}`, { cause: error }));
  };
  const handler = { fulfilled: null, rejected: onError, synchronous: false, runWhen: null };
  // acme-client's own error interceptor must see our typed error, so ours goes first.
  if (Array.isArray(ax.interceptors.response.handlers)) ax.interceptors.response.handlers.unshift(handler);
  else ax.interceptors.response.use(null, onError);
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

/** Adds PEM roots to the trust acme-client uses (system roots stay trusted). */
export function trustAcmeRoots(pems: string[]): void {
  let changed = false;
  for (const p of pems) {
    if (!extraRoots.has(p)) {
      extraRoots.add(p);
      changed = true;
    }
  }
  if (!changed && agent) return;
  agent?.destroy();
  agent = new Agent({ ca: [...rootCertificates, ...extraRoots], keepAlive: true });
  (acme.axios as unknown as { defaults: { httpsAgent?: unknown } }).defaults.httpsAgent = agent;
}
