import type { ProxyRequest, RequestContext } from '../handler.ts';

/** `req.url` split into its raw (still percent-encoded) path and its `?query` part (with `?`). */
export function splitUrl(url: string | undefined): { rawPath: string; query: string } {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? { rawPath: u, query: '' } : { rawPath: u.slice(0, q), query: u.slice(q) };
}

/** Percent-decodes a path, leaving `%2F` encoded so segments keep their meaning; invalid escapes stay. */
export function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  return raw.replace(/(%[0-9a-fA-F]{2})+/g, (seq) => {
    try {
      return decodeURIComponent(seq).replace(/\//g, '%2F');
    } catch {
      return seq;
    }
  });
}

/** Encodes a decoded path for the request line (spaces, non-ASCII), keeping `/` and existing escapes. */
export function encodePath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/g, (c) => encodeURIComponent(c));
}

/** Makes `str` start with `/` (Traefik's ensureLeadingSlash), `""` becoming `/`. */
export function ensureLeadingSlash(str: string): string {
  return str.startsWith('/') ? str : `/${str}`;
}

/** Rewrites the request path (raw form), keeping the query; updates `ctx.path` to match. */
export function setRawPath(req: ProxyRequest, ctx: RequestContext, rawPath: string, query: string): void {
  req.url = rawPath + query;
  ctx.path = decodePath(rawPath);
}

/** Appends a value to a request header (Go's `Header.Add`, joined as one line). */
export function addRequestHeader(req: ProxyRequest, name: string, value: string): void {
  const cur = req.headers.get(name);
  req.headers.set(name, cur === undefined ? value : `${cur}, ${value}`);
}
