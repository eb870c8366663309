import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import type { ProxyRequest } from './message.ts';
import { joinPath, type UpstreamTarget } from './upstream-target.ts';

/**
 * Request fields HTTP/2 forbids (RFC 9113 §8.2.2) or carries as pseudo-headers; node:http2 refuses
 * a request naming them. `te` is allowed with the value `trailers` only.
 */
/** Fields HTTP/2 forbids in either direction (RFC 9113 §8.2.2): connection-specific ones. */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

const NOT_FORWARDED = new Set([...CONNECTION_SPECIFIC, 'host', 'expect', 'content-length', 'te']);

/**
 * The head of a request forwarded to an `h2c://` server: pseudo-headers from the method, the
 * server's path prefix joined with the target, and the Host berth would send over HTTP/1.1 as
 * `:authority`; the length of a known body; `te: trailers` when the client asked for trailers (gRPC
 * does). Repeated fields become arrays (node:http2 sends one line each), `cookie` included.
 */
export function h2RequestHeaders(req: ProxyRequest, t: UpstreamTarget, passHostHeader: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    ':method': req.method,
    ':scheme': 'http',
    ':path': joinPath(t, req.url),
    ':authority': passHostHeader ? (req.headers.get('host') ?? t.authority) : t.authority,
  };
  const raw = req.headers.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    if (NOT_FORWARDED.has(n)) {
      if (
        n === 'te' &&
        v
          .toLowerCase()
          .split(',')
          .some((t) => t.trim() === 'trailers')
      )
        out.te = 'trailers';
      continue;
    }
    const prior = out[n];
    if (prior === undefined) out[n] = v;
    else if (Array.isArray(prior)) prior.push(v);
    else out[n] = [String(prior), v];
  }
  const body = req.body;
  if (body !== null && body.length >= 0) out['content-length'] = String(body.length);
  return out;
}

/** The fields of an HTTP/2 head or trailer block as a flat `[name, value, …]` list, pseudo-headers left out. */
export function fieldsOf(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const n in h) {
    if (n.charCodeAt(0) === 58 /* : */) continue;
    const v = h[n];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(n, x);
    else out.push(n, String(v));
  }
  return out;
}
