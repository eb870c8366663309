import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { goReplaceAll, parseGoTemplate } from '../../lib/go-replace.ts';
import { checkKeys, goRegexpOption, guard, optBool, optString, OptionError } from './options.ts';
import { reply, statusText } from './respond.ts';

/**
 * Sends the redirect the way Traefik does: 302 (307 for methods other than GET), or with
 * `permanent` 301 (308 for methods other than GET), so a POST keeps its method and body.
 */
export function sendRedirect(req: ProxyRequest, res: ProxyResponse, location: string, permanent: boolean): void {
  const get = req.method === 'GET';
  const status = permanent ? (get ? 301 : 308) : get ? 302 : 307;
  reply(res, status, statusText(status), { location });
}

/** The host as the client sent it (with its port): Host (HTTP/2's `:authority` becomes one), else the normal form. */
function rawHost(req: ProxyRequest, ctx: RequestContext): string {
  const h = req.headers.first('host');
  return h && h.trim() !== '' ? h.trim() : ctx.host;
}

/** Splits `host:port` / `[v6]:port`; port is `""` when absent. */
function splitHostPort(hostport: string): { host: string; port: string } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostport);
  if (!m) return { host: hostport, port: '' };
  return { host: m[1]!, port: m[2] ?? '' };
}

/** The scheme the client used: trusted `X-Forwarded-Proto` first (ws/wss count as http/https). */
function clientScheme(req: ProxyRequest, ctx: RequestContext): 'http' | 'https' {
  const v = req.headers.first('x-forwarded-proto')?.trim().toLowerCase();
  if (v === 'http' || v === 'ws') return 'http';
  if (v === 'https' || v === 'wss') return 'https';
  return ctx.scheme;
}

/**
 * Traefik's `redirectScheme`: `scheme` (required), `port`, `permanent`. The target keeps host,
 * path and query; a default port (80 for http, 443 for https) is never written. No redirect when
 * the request already has the target scheme and port — also when a trusted proxy says so with
 * `X-Forwarded-Proto` (untrusted forwarded headers are removed before middlewares run).
 */
export const redirectSchemeFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['scheme', 'port', 'permanent']);
    const scheme = optString(options, 'scheme')?.toLowerCase();
    if (!scheme) throw new OptionError('scheme: you must provide a target scheme');
    if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new OptionError(`scheme: invalid scheme ${JSON.stringify(scheme)}`);
    const portOpt = optString(options, 'port')?.trim() ?? '';
    if (portOpt !== '' && !/^\d{1,5}$/.test(portOpt)) throw new OptionError('port: expected a port number');
    const permanent = optBool(options, 'permanent') ?? false;
    const targetPort =
      portOpt === '' || (scheme === 'http' && portOpt === '80') || (scheme === 'https' && portOpt === '443')
        ? ''
        : `:${portOpt}`;

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const { host, port } = splitHostPort(rawHost(req, ctx));
        const current = clientScheme(req, ctx);
        const currentPort =
          port === '' || (current === 'http' && port === '80') || (current === 'https' && port === '443')
            ? ''
            : `:${port}`;
        const uri = req.url ?? '/';
        const oldUrl = `${current}://${host}${currentPort}${uri}`;
        const newUrl = `${scheme}://${host}${targetPort}${uri}`;
        if (oldUrl === newUrl) {
          next(req, res, ctx);
          return;
        }
        sendRedirect(req, res, newUrl, permanent);
      };
    return { wrap } satisfies BuiltMiddleware;
  });

/**
 * Traefik's `redirectRegex`: `regex` is matched against the full request URL
 * (`scheme://host[:port]/path?query`), `replacement` may use `$1`/`${name}`; redirects only when
 * the URL changes.
 */
export const redirectRegexFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['regex', 'replacement', 'permanent']);
    const source = optString(options, 'regex');
    if (source === undefined) throw new OptionError('regex: required');
    const re = goRegexpOption('regex', source);
    const replacement = parseGoTemplate(optString(options, 'replacement') ?? '');
    const permanent = optBool(options, 'permanent') ?? false;

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const oldUrl = `${ctx.scheme}://${rawHost(req, ctx)}${req.url ?? '/'}`;
        if (!re.test(oldUrl)) {
          next(req, res, ctx);
          return;
        }
        const newUrl = goReplaceAll(re, oldUrl, replacement);
        if (newUrl === oldUrl) {
          next(req, res, ctx);
          return;
        }
        if (/[\r\n]/.test(newUrl)) {
          reply(res, 500, statusText(500));
          return;
        }
        sendRedirect(req, res, newUrl, permanent);
      };
    return { wrap } satisfies BuiltMiddleware;
  });
