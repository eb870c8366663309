import type { IncomingHttpHeaders } from 'node:http';

/** RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies must not forward. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Headers berth sets itself and never lets a `Connection` token remove. */
const PROTECTED = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-forwarded-server', 'x-real-ip', 'host']);

/**
 * Removes hop-by-hop headers and those named in `Connection` (case-insensitively), in place.
 * `keepUpgrade` keeps `Upgrade`/`Connection: upgrade` for WebSocket handshakes.
 */
export function stripHopByHop(headers: IncomingHttpHeaders, keepUpgrade: boolean): void {
  const conn = headers.connection;
  if (conn) {
    for (const token of String(conn).split(',')) {
      const name = token.trim().toLowerCase();
      if (name && !PROTECTED.has(name) && !(keepUpgrade && name === 'upgrade')) delete headers[name];
    }
  }
  for (const name of HOP_BY_HOP) {
    if (keepUpgrade && (name === 'upgrade' || name === 'connection')) continue;
    if (headers[name] !== undefined) delete headers[name];
  }
  if (keepUpgrade) headers.connection = 'upgrade';
}
