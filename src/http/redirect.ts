import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from './handler.ts';

/**
 * The redirect status Traefik uses: 301/302 for GET and HEAD, 308/307 for other methods so that
 * clients keep the method and body.
 */
export function redirectStatus(method: string | undefined, permanent: boolean): number {
  const safe = method === 'GET' || method === 'HEAD';
  if (permanent) return safe ? 301 : 308;
  return safe ? 302 : 307;
}

/** Sends a redirect with an empty body. */
export function sendRedirect(res: ProxyResponse, status: number, location: string): void {
  res.statusCode = status;
  res.setHeader('location', location);
  res.setHeader('content-length', 0);
  res.end();
}

/**
 * Entrypoint redirection (`http.redirections.entryPoint`): same host and path, other scheme/port.
 * A request whose `X-Forwarded-Proto` from a trusted peer already is `scheme` — a tunnel or CDN in
 * front terminated TLS — is not sent round again (a redirect loop, behind a Cloudflare tunnel):
 * `forwarded` serves it, as Traefik's redirectScheme also trusts that header.
 */
export function entrypointRedirect(scheme: string, port: number, permanent: boolean, forwarded?: Handler): Handler {
  const defaultPort = scheme === 'https' ? 443 : 80;
  const portPart = port === defaultPort ? '' : `:${port}`;
  return (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext): void => {
    if (forwarded !== undefined && ctx.trustedPeer && forwardedProto(req) === scheme) {
      forwarded(req, res, ctx);
      return;
    }
    const host = ctx.host.includes(':') ? `[${ctx.host}]` : ctx.host;
    sendRedirect(res, redirectStatus(req.method, permanent), `${scheme}://${host}${portPart}${req.url ?? '/'}`);
  };
}

/** The first `X-Forwarded-Proto` value, lower-cased ('' when absent). */
function forwardedProto(req: ProxyRequest): string {
  const first = req.headers.first('x-forwarded-proto') ?? '';
  const comma = first.indexOf(',');
  return (comma === -1 ? first : first.slice(0, comma)).trim().toLowerCase();
}
