import { request, type Dispatcher } from 'undici';
import type { Dns01Challenge, Dns01Provider, Dns01Timing } from './dns01-provider.ts';
import { ProviderEnv } from './env.ts';

/** Settings of {@link HttpReqProvider} (lego's `HTTPREQ_*`). */
export interface HttpReqOptions {
  readonly endpoint: URL;
  readonly raw: boolean;
  readonly username?: string;
  readonly password?: string;
  readonly httpTimeoutMs: number;
  readonly timing: Dns01Timing;
}

/** Reads `HTTPREQ_ENDPOINT` (required), `HTTPREQ_MODE`, `HTTPREQ_USERNAME`/`PASSWORD`, timeouts. */
export function httpReqOptions(env: ProviderEnv): HttpReqOptions {
  const raw = env.require('HTTPREQ_ENDPOINT', 'the base URL of the HTTP service that manages the records');
  let endpoint: URL;
  try {
    endpoint = new URL(raw);
  } catch {
    throw env.error(`HTTPREQ_ENDPOINT "${raw}" is not a URL`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:')
    throw env.error(`HTTPREQ_ENDPOINT must be http:// or https://, got ${endpoint.protocol}`);
  const mode = (env.get('HTTPREQ_MODE') ?? '').toUpperCase();
  if (mode !== '' && mode !== 'RAW') throw env.error(`HTTPREQ_MODE "${mode}" is not known (RAW, or unset)`);
  const username = env.get('HTTPREQ_USERNAME');
  const password = env.get('HTTPREQ_PASSWORD');
  if ((username === undefined) !== (password === undefined))
    throw env.error('HTTPREQ_USERNAME and HTTPREQ_PASSWORD go together');
  return {
    endpoint,
    raw: mode === 'RAW',
    ...(username !== undefined && password !== undefined ? { username, password } : {}),
    httpTimeoutMs: env.seconds('HTTPREQ_HTTP_TIMEOUT', 30_000),
    timing: env.timing('HTTPREQ'),
  };
}

/**
 * lego's `httpreq` provider: `POST <endpoint>/present` and `/cleanup` with
 * `{"fqdn": "_acme-challenge.example.com.", "value": "…"}`, or with `HTTPREQ_MODE=RAW`
 * `{"domain", "token", "keyAuth"}`; HTTP basic auth when a user is set. Any 2xx is success.
 */
export class HttpReqProvider implements Dns01Provider {
  readonly name = 'httpreq';
  readonly timing: Dns01Timing;
  private readonly opts: HttpReqOptions;

  constructor(opts: HttpReqOptions) {
    this.opts = opts;
    this.timing = opts.timing;
  }

  present(c: Dns01Challenge): Promise<void> {
    return this.send('present', c);
  }

  cleanup(c: Dns01Challenge): Promise<void> {
    return this.send('cleanup', c);
  }

  private async send(action: 'present' | 'cleanup', c: Dns01Challenge): Promise<void> {
    const url = new URL(this.opts.endpoint);
    url.pathname = url.pathname.replace(/\/?$/, `/${action}`);
    const body = this.opts.raw
      ? { domain: c.domain, token: c.token, keyAuth: c.keyAuthorization }
      : { fqdn: c.effectiveFqdn, value: c.value };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.opts.username !== undefined && this.opts.password !== undefined) {
      headers['authorization'] =
        `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
    }
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        headersTimeout: this.opts.httpTimeoutMs,
        bodyTimeout: this.opts.httpTimeoutMs,
      });
    } catch (err) {
      throw new Error(`httpreq: POST ${url.origin}${url.pathname} failed: ${(err as Error).message}`, { cause: err });
    }
    const text = (await res.body.text()).slice(0, 500);
    if (res.statusCode < 200 || res.statusCode > 299) {
      const hint =
        res.statusCode === 401 || res.statusCode === 403 ? ' (check HTTPREQ_USERNAME / HTTPREQ_PASSWORD)' : '';
      throw new Error(
        `httpreq: POST ${url.origin}${url.pathname} answered ${res.statusCode}${hint}${text ? `: ${text}` : ''}`,
      );
    }
  }
}

/** Builds the provider from the environment. */
export function createHttpReqProvider(env: NodeJS.ProcessEnv): HttpReqProvider {
  return new HttpReqProvider(httpReqOptions(new ProviderEnv('httpreq', env)));
}
