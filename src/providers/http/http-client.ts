/**
 * The HTTP provider's fetch: one GET with headers, a deadline covering connect, headers and body, a
 * body size cap, and redirects followed as Go's client does. Every failure is a `BerthError`
 * (`PROVIDER_FETCH`) whose message is safe to log: the endpoint is shown without credentials or query.
 */
import { readFile } from 'node:fs/promises';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import type { HttpProviderConfig } from '../../config/static/types.ts';
import { BerthError, ErrorCodes, errorMessage } from '../../lib/errors.ts';

/** A fetched body and what the server said it is. */
export interface FetchedBody {
  readonly body: Buffer;
  readonly contentType: string | undefined;
}

/** The endpoint as it may appear in logs and `/health`: no user-info, no query (tokens live there). */
export function redactEndpoint(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid endpoint)';
  }
}

/** `ca`/`cert`/`key` are a path or the PEM itself, as Traefik's ClientTLS accepts. */
async function fileOrContent(value: string): Promise<string> {
  return value.includes('-----BEGIN') ? value : readFile(value, 'utf8');
}

/** Owns the connection pool used for polling; `close()` releases it. */
export class ConfigFetcher {
  readonly #endpoint: string;
  readonly #headers: Record<string, string>;
  readonly #maxBodyBytes: number;
  readonly #agent: Agent;
  readonly #dispatcher: Dispatcher;

  private constructor(endpoint: string, headers: Record<string, string>, maxBodyBytes: number, agent: Agent) {
    this.#endpoint = endpoint;
    this.#headers = headers;
    this.#maxBodyBytes = maxBodyBytes;
    this.#agent = agent;
    this.#dispatcher = agent.compose(interceptors.redirect({ maxRedirections: 10 }));
  }

  /** Builds a fetcher; fails (with a loggable message) on a bad endpoint or unreadable TLS files. */
  static async create(cfg: HttpProviderConfig, maxBodyBytes: number): Promise<ConfigFetcher> {
    let url: URL;
    try {
      url = new URL(cfg.endpoint);
    } catch {
      throw new BerthError(ErrorCodes.CONFIG_INVALID, 'providers.http.endpoint: not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new BerthError(
        ErrorCodes.CONFIG_INVALID,
        `providers.http.endpoint: expected http:// or https://, got ${url.protocol}`,
      );
    }
    const connect: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean } = {};
    if (cfg.tls) {
      try {
        if (cfg.tls.ca) connect.ca = await fileOrContent(cfg.tls.ca);
        if (cfg.tls.cert) connect.cert = await fileOrContent(cfg.tls.cert);
        if (cfg.tls.key) connect.key = await fileOrContent(cfg.tls.key);
      } catch (err) {
        throw new BerthError(ErrorCodes.CONFIG_READ, `providers.http.tls: ${errorMessage(err)}`, { cause: err });
      }
      if (cfg.tls.insecureSkipVerify) connect.rejectUnauthorized = false;
    }
    const headers: Record<string, string> = {
      'user-agent': 'berth',
      accept: 'application/json, application/yaml;q=0.9, */*;q=0.5',
    };
    // Configured headers replace the defaults whatever their case.
    for (const [k, v] of Object.entries(cfg.headers ?? {})) headers[k.toLowerCase()] = v;
    return new ConfigFetcher(cfg.endpoint, headers, maxBodyBytes, new Agent({ connect, keepAliveTimeout: 30_000 }));
  }

  /** GETs the endpoint; `signal` aborts it (timeout or stop). Only 2xx answers count as success. */
  async fetch(signal: AbortSignal): Promise<FetchedBody> {
    const where = `GET ${redactEndpoint(this.#endpoint)}`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(this.#endpoint, {
        method: 'GET',
        headers: this.#headers,
        signal,
        dispatcher: this.#dispatcher,
      });
    } catch (err) {
      throw new BerthError(ErrorCodes.PROVIDER_FETCH, `${where}: ${describeNetError(err)}`, { cause: err });
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => undefined);
      const hint =
        res.statusCode === 401 || res.statusCode === 403
          ? ' (check the Authorization header in providers.http.headers)'
          : '';
      throw new BerthError(ErrorCodes.PROVIDER_FETCH, `${where}: HTTP ${res.statusCode}${hint}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.#maxBodyBytes) {
          res.body.destroy();
          throw new BerthError(ErrorCodes.PROVIDER_FETCH, `${where}: body larger than ${this.#maxBodyBytes} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError(ErrorCodes.PROVIDER_FETCH, `${where}: reading the body: ${describeNetError(err)}`, {
        cause: err,
      });
    }
    const ct = res.headers['content-type'];
    return { body: Buffer.concat(chunks, size), contentType: Array.isArray(ct) ? ct[0] : ct };
  }

  /** Closes pooled connections and aborts anything still running. */
  async close(): Promise<void> {
    await this.#agent.destroy().catch(() => undefined);
  }
}

/** undici's errors carry the interesting part (`ECONNREFUSED`) in `code` or in `cause`. */
function describeNetError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const msg = errorMessage(err);
  const code = typeof e.code === 'string' && !msg.includes(e.code) ? ` (${e.code})` : '';
  const cause =
    e.cause && typeof e.cause.message === 'string' && !msg.includes(e.cause.message) ? `: ${e.cause.message}` : '';
  return `${msg}${code}${cause}`;
}
