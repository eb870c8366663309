import { hasToken, sameName, type HeaderList } from '../engine/header-list.ts';

/** Headers berth sets itself and never lets a `Connection` token remove. */
const PROTECTED = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-real-ip',
  'host',
]);

/** RFC 9110 §7.6.1 connection-specific request headers, plus the legacy ones proxies must not forward. */
function hopByHop(n: string): 'connection' | 'upgrade' | 'te' | 'other' | undefined {
  switch (n.length) {
    case 2:
      return sameName(n, 'te') ? 'te' : undefined;
    case 7:
      return sameName(n, 'upgrade') ? 'upgrade' : sameName(n, 'trailer') ? 'other' : undefined;
    case 10:
      return sameName(n, 'connection') ? 'connection' : sameName(n, 'keep-alive') ? 'other' : undefined;
    case 16:
      return sameName(n, 'proxy-connection') ? 'other' : undefined;
    case 17:
      return sameName(n, 'transfer-encoding') ? 'other' : undefined;
    case 18:
      return sameName(n, 'proxy-authenticate') ? 'other' : undefined;
    default:
      return undefined;
  }
}

/**
 * Removes hop-by-hop headers and those named in `Connection` (case-insensitively), in one pass
 * over the list (a second only when `Connection` names other headers). `keepUpgrade` keeps
 * `Upgrade` and sends `Connection: upgrade` for WebSocket handshakes. `TE: trailers` is kept (as
 * Go's reverse proxy does): gRPC servers require it.
 */
export function stripHopByHop(headers: HeaderList, keepUpgrade: boolean): void {
  const raw = headers.raw;
  let named: string | undefined;
  let trailers = false;
  let w = 0;
  for (let r = 0; r < raw.length; r += 2) {
    const n = raw[r]!;
    const kind = hopByHop(n);
    if (kind !== undefined) {
      if (kind === 'connection') named = named === undefined ? raw[r + 1]! : `${named},${raw[r + 1]!}`;
      else if (kind === 'te' && !trailers) trailers = hasToken(raw[r + 1]!, 'trailers');
      if (!(keepUpgrade && kind === 'upgrade')) continue;
    }
    if (w !== r) {
      raw[w] = n;
      raw[w + 1] = raw[r + 1]!;
    }
    w += 2;
  }
  raw.length = w;
  if (named !== undefined) {
    const drop = new Set<string>();
    for (const token of named.split(',')) {
      const name = token.trim().toLowerCase();
      if (
        name !== '' &&
        name !== 'close' &&
        name !== 'keep-alive' &&
        !PROTECTED.has(name) &&
        !(keepUpgrade && name === 'upgrade')
      )
        drop.add(name);
    }
    if (drop.size > 0) {
      let k = 0;
      for (let r = 0; r < raw.length; r += 2) {
        if (drop.has(raw[r]!.toLowerCase())) continue;
        raw[k++] = raw[r]!;
        raw[k++] = raw[r + 1]!;
      }
      raw.length = k;
    }
  }
  if (trailers) raw.push('te', 'trailers');
  if (keepUpgrade) raw.push('connection', 'upgrade');
}
