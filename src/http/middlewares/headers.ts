import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import {
  checkKeys,
  goRegexpOption,
  guard,
  optBool,
  optNumber,
  optString,
  optStringList,
  optStringMap,
} from './options.ts';
import { beforeHead, reply } from './respond.ts';

const KNOWN = [
  'customRequestHeaders',
  'customResponseHeaders',
  'accessControlAllowCredentials',
  'accessControlAllowHeaders',
  'accessControlAllowMethods',
  'accessControlAllowOriginList',
  'accessControlAllowOriginListRegex',
  'accessControlExposeHeaders',
  'accessControlMaxAge',
  'addVaryHeader',
  'allowedHosts',
  'hostsProxyHeaders',
  'sslProxyHeaders',
  'stsSeconds',
  'stsIncludeSubdomains',
  'stsPreload',
  'forceSTSHeader',
  'frameDeny',
  'customFrameOptionsValue',
  'contentTypeNosniff',
  'browserXssFilter',
  'customBrowserXSSValue',
  'contentSecurityPolicy',
  'contentSecurityPolicyReportOnly',
  'publicKey',
  'referrerPolicy',
  'permissionsPolicy',
  'isDevelopment',
  // Deprecated in Traefik v2 and removed in v3; accepted and ignored so old labels still load.
  'featurePolicy',
  'sslRedirect',
  'sslTemporaryRedirect',
  'sslHost',
  'sslForceHost',
] as const;

/**
 * Traefik's `headers` middleware: custom request/response headers (`""` removes), the security
 * headers of unrolled/secure (HSTS, frame, nosniff, XSS, CSP, referrer and permissions policies,
 * allowed hosts) and CORS, including answering preflight requests.
 */
export const headersFactory: MiddlewareFactory = (options) => guard(() => buildHeaders(options));

function buildHeaders(options: Record<string, unknown>): BuiltMiddleware {
  checkKeys(options, KNOWN);
  const customRequest = (optStringMap(options, 'customRequestHeaders') ?? []).map(
    ([k, v]) => [k.toLowerCase(), v] as const,
  );
  const customResponse = (optStringMap(options, 'customResponseHeaders') ?? []).map(
    ([k, v]) => [k.toLowerCase(), v] as const,
  );
  const secure = buildSecure(options);
  const cors = buildCors(options);

  const wrap =
    (next: Handler): Handler =>
    (req, res, ctx) => {
      if (cors?.preflight(req, res)) return;
      if (secure) {
        // allowedHosts is the only request-side check of the secure headers.
        if (secure.rejectHost(req, ctx)) {
          reply(res, 500, 'Bad Host');
          return;
        }
      }
      for (const [name, value] of customRequest) {
        if (value === '') req.headers.delete(name);
        else req.headers.set(name, value);
      }
      if (secure || customResponse.length > 0 || cors) {
        const origin = req.headers.first('origin');
        const isSsl = secure ? secure.isSsl(req, ctx) : false;
        beforeHead(res, () => {
          if (secure) secure.apply(res, isSsl);
          for (const [name, value] of customResponse) {
            if (value === '') res.removeHeader(name);
            else res.setHeader(name, value);
          }
          if (cors) cors.response(res, typeof origin === 'string' ? origin : '');
        });
      }
      next(req, res, ctx);
    };
  return { wrap };
}

interface Secure {
  rejectHost(req: ProxyRequest, ctx: RequestContext): boolean;
  isSsl(req: ProxyRequest, ctx: RequestContext): boolean;
  apply(res: ProxyResponse, ssl: boolean): void;
}

function buildSecure(options: Record<string, unknown>): Secure | undefined {
  const stsSeconds = optNumber(options, 'stsSeconds', { min: 0, integer: true }) ?? 0;
  const stsIncludeSubdomains = optBool(options, 'stsIncludeSubdomains') ?? false;
  const stsPreload = optBool(options, 'stsPreload') ?? false;
  const forceSTSHeader = optBool(options, 'forceSTSHeader') ?? false;
  const frameDeny = optBool(options, 'frameDeny') ?? false;
  const customFrameOptionsValue = optString(options, 'customFrameOptionsValue') ?? '';
  const contentTypeNosniff = optBool(options, 'contentTypeNosniff') ?? false;
  const browserXssFilter = optBool(options, 'browserXssFilter') ?? false;
  const customBrowserXSSValue = optString(options, 'customBrowserXSSValue') ?? '';
  const csp = optString(options, 'contentSecurityPolicy') ?? '';
  const cspReportOnly = optString(options, 'contentSecurityPolicyReportOnly') ?? '';
  const publicKey = optString(options, 'publicKey') ?? '';
  const referrerPolicy = optString(options, 'referrerPolicy') ?? '';
  const permissionsPolicy = optString(options, 'permissionsPolicy') ?? '';
  const isDevelopment = optBool(options, 'isDevelopment') ?? false;
  const allowedHosts = (optStringList(options, 'allowedHosts') ?? []).map((h) => h.toLowerCase());
  const hostsProxyHeaders = (optStringList(options, 'hostsProxyHeaders') ?? []).map((h) => h.toLowerCase());
  const sslProxyHeaders = (optStringMap(options, 'sslProxyHeaders') ?? []).map(
    ([k, v]) => [k.toLowerCase(), v] as const,
  );

  const enabled =
    stsSeconds > 0 ||
    frameDeny ||
    customFrameOptionsValue !== '' ||
    contentTypeNosniff ||
    browserXssFilter ||
    customBrowserXSSValue !== '' ||
    csp !== '' ||
    cspReportOnly !== '' ||
    publicKey !== '' ||
    referrerPolicy !== '' ||
    permissionsPolicy !== '' ||
    allowedHosts.length > 0 ||
    forceSTSHeader;
  if (!enabled) return undefined;

  let sts = '';
  if (stsSeconds > 0) {
    sts = `max-age=${stsSeconds}`;
    if (stsIncludeSubdomains) sts += '; includeSubDomains';
    if (stsPreload) sts += '; preload';
  }
  const frame = customFrameOptionsValue !== '' ? customFrameOptionsValue : frameDeny ? 'DENY' : '';
  const xss = customBrowserXSSValue !== '' ? customBrowserXSSValue : browserXssFilter ? '1; mode=block' : '';
  const allowed = new Set(allowedHosts);

  return {
    rejectHost(req, ctx) {
      if (allowed.size === 0 || isDevelopment) return false;
      let host = ctx.host;
      for (const h of hostsProxyHeaders) {
        const v = req.headers.get(h);
        if (v !== undefined && v !== '') {
          host = v.toLowerCase();
          break;
        }
      }
      return !allowed.has(host);
    },
    isSsl(req, ctx) {
      if (ctx.scheme === 'https') return true;
      for (const [name, value] of sslProxyHeaders) {
        if (req.headers.get(name) === value) return true;
      }
      return false;
    },
    apply(res, ssl) {
      if (sts !== '' && (ssl || forceSTSHeader) && !isDevelopment) res.setHeader('strict-transport-security', sts);
      if (frame !== '') res.setHeader('x-frame-options', frame);
      if (contentTypeNosniff) res.setHeader('x-content-type-options', 'nosniff');
      if (xss !== '') res.setHeader('x-xss-protection', xss);
      if (csp !== '') res.setHeader('content-security-policy', csp);
      if (cspReportOnly !== '') res.setHeader('content-security-policy-report-only', cspReportOnly);
      if (publicKey !== '' && ssl && !isDevelopment) res.setHeader('public-key-pins', publicKey);
      if (referrerPolicy !== '') res.setHeader('referrer-policy', referrerPolicy);
      if (permissionsPolicy !== '') res.setHeader('permissions-policy', permissionsPolicy);
    },
  };
}

interface Cors {
  /** Answers a preflight request (OPTIONS + Origin + Access-Control-Request-Method); true if it did. */
  preflight(req: ProxyRequest, res: ProxyResponse): boolean;
  response(res: ProxyResponse, origin: string): void;
}

function buildCors(options: Record<string, unknown>): Cors | undefined {
  const allowCredentials = optBool(options, 'accessControlAllowCredentials') ?? false;
  const allowHeaders = optStringList(options, 'accessControlAllowHeaders') ?? [];
  const allowMethods = optStringList(options, 'accessControlAllowMethods') ?? [];
  const originList = optStringList(options, 'accessControlAllowOriginList') ?? [];
  const originRegex = (optStringList(options, 'accessControlAllowOriginListRegex') ?? []).map((r, i) =>
    goRegexpOption(`accessControlAllowOriginListRegex[${i}]`, r),
  );
  const exposeHeaders = optStringList(options, 'accessControlExposeHeaders') ?? [];
  const maxAge = optNumber(options, 'accessControlMaxAge', { integer: true });
  const addVary = optBool(options, 'addVaryHeader') ?? false;
  if (
    !allowCredentials &&
    allowHeaders.length === 0 &&
    allowMethods.length === 0 &&
    originList.length === 0 &&
    originRegex.length === 0 &&
    exposeHeaders.length === 0 &&
    maxAge === undefined &&
    !addVary
  )
    return undefined;
  // Traefik v3.7: with credentials, a wildcard is never sent (browsers refuse it); the request's
  // own origin, method or headers are echoed instead, and a wildcard expose list is left out.
  const match = (origin: string): string | undefined => {
    for (const item of originList) {
      if (item === origin) return item;
      if (item === '*') return allowCredentials ? origin : item;
    }
    for (const re of originRegex) if (origin !== '' && re.test(origin)) return origin;
    return undefined;
  };
  const allowHeadersValue = allowHeaders.join(',');
  const allowMethodsValue = allowMethods.join(',');
  const echoHeaders = allowCredentials && allowHeaders.includes('*');
  const echoMethod = allowCredentials && allowMethods.includes('*');
  const exposeValue = allowCredentials && exposeHeaders.includes('*') ? '' : exposeHeaders.join(',');
  const vary = (res: ProxyResponse): void => {
    if (!addVary) return;
    const cur = res.getHeader('vary');
    const text = Array.isArray(cur) ? cur.join(',') : cur === undefined ? '' : String(cur);
    if (text.split(',').some((t) => t.trim().toLowerCase() === 'origin')) return;
    res.setHeader('vary', text === '' ? 'Origin' : `${text},Origin`);
  };

  return {
    preflight(req, res) {
      const origin = req.headers.first('origin');
      if (req.method !== 'OPTIONS' || !origin || !req.headers.get('access-control-request-method')) return false;
      if (allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
      if (echoHeaders) {
        const requested = req.headers.get('access-control-request-headers');
        if (requested) res.setHeader('access-control-allow-headers', requested);
      } else if (allowHeadersValue !== '') res.setHeader('access-control-allow-headers', allowHeadersValue);
      if (echoMethod) res.setHeader('access-control-allow-methods', req.headers.get('access-control-request-method')!);
      else if (allowMethodsValue !== '') res.setHeader('access-control-allow-methods', allowMethodsValue);
      const allowed = match(origin);
      if (allowed) res.setHeader('access-control-allow-origin', allowed);
      // No Access-Control-Max-Age unless configured: the browser's own default applies.
      if (maxAge !== undefined) res.setHeader('access-control-max-age', String(maxAge));
      if (exposeValue !== '') res.setHeader('access-control-expose-headers', exposeValue);
      vary(res);
      res.setHeader('content-length', '0');
      res.writeHead(200);
      res.end();
      return true;
    },
    response(res, origin) {
      const allowed = match(origin);
      if (allowed) res.setHeader('access-control-allow-origin', allowed);
      if (allowCredentials) res.setHeader('access-control-allow-credentials', 'true');
      if (exposeValue !== '') res.setHeader('access-control-expose-headers', exposeValue);
      vary(res);
    },
  };
}
