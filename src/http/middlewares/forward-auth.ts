import { readFileSync } from 'node:fs';
import type { Agent } from 'undici';
import { BufferBody, readWholeBody } from '../../engine/body.ts';
import type { Handler, ProxyRequest, RequestContext } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { hasBody, setReplayableBody } from './body.ts';
import {
  checkKeys,
  goRegexpOption,
  guard,
  nested,
  optBool,
  optNumber,
  optObject,
  optString,
  optStringList,
  OptionError,
} from './options.ts';
import { beforeHead, reply, statusText } from './respond.ts';

const HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'host',
  'content-length',
]);

/** undici is loaded on first use: it is large, and most configurations have no forwardAuth. */
let undici: Promise<typeof import('undici')> | undefined;
const loadUndici = (): Promise<typeof import('undici')> => (undici ??= import('undici'));

/**
 * Traefik's `forwardAuth`: asks `address` (GET, or the request's method with
 * `preserveRequestMethod`) with the request's headers (only `authRequestHeaders` if set) plus
 * `X-Forwarded-Method|Proto|Host|Uri|For` (taken from the request when `trustForwardHeader`).
 * A 2xx lets the request through, copying `authResponseHeaders` / `authResponseHeadersRegex` onto
 * it and adding the cookies named in `addAuthCookiesToResponse` to the response; any other answer
 * is returned to the client as is (Location resolved against `address`). Unreachable → 500.
 */
export const forwardAuthFactory: MiddlewareFactory = (options, env) =>
  guard(() => {
    checkKeys(options, [
      'address',
      'tls',
      'trustForwardHeader',
      'authResponseHeaders',
      'authResponseHeadersRegex',
      'authRequestHeaders',
      'addAuthCookiesToResponse',
      'headerField',
      'forwardBody',
      'maxBodySize',
      'maxResponseBodySize',
      'preserveLocationHeader',
      'preserveRequestMethod',
    ]);
    const address = optString(options, 'address');
    if (!address) throw new OptionError('address: required');
    let target: URL;
    try {
      target = new URL(address);
    } catch {
      throw new OptionError(`address: invalid URL ${JSON.stringify(address)}`);
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw new OptionError('address: must be an http:// or https:// URL');
    const trust = optBool(options, 'trustForwardHeader') ?? false;
    const responseHeaders = (optStringList(options, 'authResponseHeaders') ?? []).map((h) => h.toLowerCase());
    const regexSrc = optString(options, 'authResponseHeadersRegex');
    // Go matches canonical header names (X-Auth-User); Node's are lower case, so match case-insensitively.
    const regexCi = regexSrc ? goRegexpOption('authResponseHeadersRegex', regexSrc, { ignoreCase: true }) : undefined;
    const requestHeaders = (optStringList(options, 'authRequestHeaders') ?? []).map((h) => h.toLowerCase());
    const cookieNames = new Set(optStringList(options, 'addAuthCookiesToResponse') ?? []);
    const headerField = optString(options, 'headerField');
    const forwardBody = optBool(options, 'forwardBody') ?? false;
    const maxBodySize = optNumber(options, 'maxBodySize', { integer: true }) ?? -1;
    // A negative limit (Traefik's default, -1) reads the authentication server's answer whole.
    const maxResponseBodySize = optNumber(options, 'maxResponseBodySize', { integer: true }) ?? -1;
    const preserveLocation = optBool(options, 'preserveLocationHeader') ?? false;
    const preserveMethod = optBool(options, 'preserveRequestMethod') ?? false;
    const tlsOpts = optObject(options, 'tls');
    const connect = tlsOpts ? nested('tls', () => readTls(tlsOpts)) : {};
    let dispatcher: Agent | undefined;

    const authorize = async (req: ProxyRequest, ctx: RequestContext, body: Buffer | undefined): Promise<AuthAnswer> => {
      const headers = authRequestHeaders(req, ctx, trust, requestHeaders);
      const { Agent, request } = await loadUndici();
      dispatcher ??= new Agent({ connect, headersTimeout: 30_000, bodyTimeout: 30_000 });
      const answer = await request(target, {
        method: (preserveMethod ? req.method : 'GET') as 'GET',
        headers,
        body: body ?? null,
        dispatcher,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).length;
        // Past maxResponseBodySize the rest is not read: the request gets a 401, as Traefik answers.
        if (maxResponseBodySize >= 0 && size > maxResponseBodySize) {
          answer.body.destroy();
          return TOO_LARGE;
        }
        chunks.push(chunk as Buffer);
      }
      return { status: answer.statusCode, headers: answer.headers, body: Buffer.concat(chunks, size) };
    };

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const run = async (): Promise<void> => {
          let body: Buffer | undefined;
          if (forwardBody && hasBody(req) && !req.upgrade) {
            try {
              body = await readWholeBody(req.body, maxBodySize);
            } catch {
              return; // the body could not complete: the engine answers
            }
            if (body === undefined) {
              reply(res, 401, statusText(401));
              return;
            }
            const copy = body;
            setReplayableBody(req, copy.length, () => new BufferBody(copy));
          }
          let answer: AuthAnswer;
          try {
            answer = await authorize(req, ctx, body);
          } catch (err) {
            env.logger.debug({ middleware: env.name, err }, 'forwardAuth: authentication server unreachable');
            reply(res, 500, statusText(500));
            return;
          }
          if (res.destroyed) return;
          if (answer === TOO_LARGE) {
            reply(res, 401, statusText(401));
            return;
          }
          if (headerField) {
            const v = answer.headers[headerField.toLowerCase()];
            const user = Array.isArray(v) ? v[0] : v;
            if (user) ctx.extra = { ...ctx.extra, clientUsername: user };
          }
          if (answer.status < 200 || answer.status >= 300) {
            for (const [k, v] of Object.entries(answer.headers)) {
              if (v !== undefined && !HOP.has(k)) res.setHeader(k, v);
            }
            const loc = answer.headers.location;
            if (typeof loc === 'string' && loc !== '' && !preserveLocation) {
              try {
                res.setHeader('location', new URL(loc, target).toString());
              } catch {
                /* keep as sent */
              }
            }
            res.setHeader('content-length', answer.body.length);
            res.writeHead(answer.status);
            res.end(answer.body);
            return;
          }
          for (const name of responseHeaders) {
            const v = answer.headers[name];
            if (v === undefined) req.headers.delete(name);
            else req.headers.set(name, Array.isArray(v) ? v.join(', ') : v);
          }
          if (regexCi) {
            for (const k of req.headers.names()) if (regexCi.test(k)) req.headers.delete(k);
            for (const [k, v] of Object.entries(answer.headers)) {
              if (v !== undefined && regexCi.test(k)) req.headers.set(k, Array.isArray(v) ? v.join(', ') : v);
            }
          }
          const authCookies = toList(answer.headers['set-cookie']).filter((c) => cookieNames.has(cookieName(c)));
          if (authCookies.length > 0) {
            beforeHead(res, () => {
              const upstream = toList(res.getHeader('set-cookie') as string | string[] | undefined).filter(
                (c) => !cookieNames.has(cookieName(c)),
              );
              res.setHeader('set-cookie', [...upstream, ...authCookies]);
            });
          }
          next(req, res, ctx);
        };
        run().catch((err: unknown) => {
          env.logger.error({ middleware: env.name, err }, 'forwardAuth: unexpected failure');
          reply(res, 500, statusText(500));
        });
      };
    return { wrap, close: () => void dispatcher?.close().catch(() => undefined) } satisfies BuiltMiddleware;
  });

interface AuthAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The authentication server's answer was longer than maxResponseBodySize. */
const TOO_LARGE: AuthAnswer = { status: 401, headers: {}, body: Buffer.alloc(0) };

function authRequestHeaders(
  req: ProxyRequest,
  ctx: RequestContext,
  trust: boolean,
  allowed: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  const headers = req.headers.toObject();
  const connectionTokens = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase()),
  );
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP.has(k) || connectionTokens.has(k) || k.startsWith(':')) continue;
    if (allowed.length > 0 && !allowed.includes(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  const header = (name: string): string | undefined => req.headers.get(name);
  const prior = header('x-forwarded-for');
  out['x-forwarded-for'] = trust && prior ? `${prior}, ${ctx.remoteIp}` : ctx.remoteIp;
  out['x-forwarded-method'] = (trust && header('x-forwarded-method')) || req.method;
  out['x-forwarded-proto'] = (trust && header('x-forwarded-proto')) || ctx.scheme;
  const port = trust ? header('x-forwarded-port') : undefined;
  if (port) out['x-forwarded-port'] = port;
  else delete out['x-forwarded-port'];
  out['x-forwarded-host'] = (trust && header('x-forwarded-host')) || (req.headers.first('host') ?? ctx.host);
  out['x-forwarded-uri'] = (trust && header('x-forwarded-uri')) || req.url;
  return out;
}

function readTls(tls: Record<string, unknown>): Record<string, unknown> {
  const read = (key: string): Buffer | undefined => {
    const v = optString(tls, key);
    if (!v) return undefined;
    if (v.includes('-----BEGIN')) return Buffer.from(v);
    try {
      return readFileSync(v);
    } catch {
      throw new OptionError(`${key}: cannot read ${v}`);
    }
  };
  const out: Record<string, unknown> = {};
  const ca = read('ca');
  const cert = read('cert');
  const key = read('key');
  if (ca) out.ca = ca;
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (optBool(tls, 'insecureSkipVerify')) out.rejectUnauthorized = false;
  optBool(tls, 'caOptional');
  return out;
}

function toList(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

function cookieName(setCookie: string): string {
  const i = setCookie.indexOf('=');
  return (i === -1 ? setCookie : setCookie.slice(0, i)).trim();
}
