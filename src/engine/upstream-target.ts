/** One upstream server, parsed once when the snapshot is built (never per request). */
export interface UpstreamTarget {
  /** The server URL as configured. */
  readonly url: string;
  readonly target: URL;
  readonly https: boolean;
  /** `h2c:`: HTTP/2 without TLS, over one kept session per server (gRPC). */
  readonly h2c: boolean;
  /** Host to connect to (no IPv6 brackets). */
  readonly hostname: string;
  readonly port: number;
  /** `host[:port]` as the URL spells it: the Host header when the client's is not passed on. */
  readonly authority: string;
  /** Pool key: scheme, host and port. */
  readonly origin: string;
  /** Path prefix of the server URL (`''` for none). */
  readonly basePath: string;
  /** Query of the server URL (`''` for none, else with `?`). */
  readonly baseSearch: string;
}

/** Describes a server URL (`http:`, `https:` or `h2c:`). */
export function upstreamTarget(url: string, parsed: URL): UpstreamTarget {
  const https = parsed.protocol === 'https:';
  const h2c = parsed.protocol === 'h2c:';
  const hostname = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port !== '' ? Number(parsed.port) : https ? 443 : 80;
  // `h2c:` is not a special scheme for WHATWG URLs: its empty path is `''`, its host keeps its case.
  const path = parsed.pathname === '/' || parsed.pathname === '' ? '' : parsed.pathname;
  const authority = h2c ? parsed.host.toLowerCase() : parsed.host;
  return {
    url,
    target: parsed,
    https,
    h2c,
    hostname,
    port,
    authority,
    origin: `${https ? 'https' : h2c ? 'h2c' : 'http'}://${authority}`,
    basePath: path,
    baseSearch: parsed.search,
  };
}

/** The server URL's path prefix joined with the request target, as Traefik does (no doubled slash). */
export function joinPath(t: UpstreamTarget, url: string): string {
  const base = t.basePath;
  let joined = url;
  if (base !== '') joined = base.endsWith('/') && url.charCodeAt(0) === 47 ? base + url.slice(1) : base + url;
  if (t.baseSearch === '') return joined;
  const q = joined.indexOf('?');
  return q === -1 ? joined + t.baseSearch : `${joined.slice(0, q)}${t.baseSearch}&${joined.slice(q + 1)}`;
}
