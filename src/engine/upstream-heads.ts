import { sameName, type HeaderList } from './header-list.ts';
import type { ProxyRequest } from './message.ts';
import { joinPath, type UpstreamTarget } from './upstream-target.ts';

/**
 * The request head berth sends upstream, as one string: the request line with the server's path
 * prefix, the client's headers (already stripped of hop-by-hop and untrusted forwarding headers
 * by the entrypoint), Host, and berth's own framing — the body is always re-framed, so the
 * client's Content-Length/Transfer-Encoding are replaced by the length berth will send, or by
 * `chunked`. `Expect` is dropped: berth answered it and sends the body straight away.
 */
export function requestHead(req: ProxyRequest, t: UpstreamTarget, passHostHeader: boolean): string {
  let s = `${req.method} ${joinPath(t, req.url)} HTTP/1.1\r\n`;
  if (!passHostHeader) s += `host: ${t.authority}\r\n`;
  const body = req.body;
  const raw = req.headers.raw;
  let host = !passHostHeader;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    switch (n.length) {
      case 4:
        if (sameName(n, 'host')) {
          if (host) continue;
          host = true;
        }
        break;
      case 6:
        if (sameName(n, 'expect')) continue;
        break;
      case 14:
        if (body !== null && sameName(n, 'content-length')) continue;
        break;
      case 17:
        if (sameName(n, 'transfer-encoding')) continue;
        break;
    }
    s += `${n}: ${raw[i + 1]!}\r\n`;
  }
  // An HTTP/1.0 client may send no Host: the upstream still gets one.
  if (!host) s += `host: ${t.authority}\r\n`;
  if (body !== null) s += body.length >= 0 ? `content-length: ${body.length}\r\n` : 'transfer-encoding: chunked\r\n';
  return s + '\r\n';
}

/** RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones proxies must not forward. */
function isHopByHop(n: string): boolean {
  switch (n.length) {
    case 2:
      return sameName(n, 'te');
    case 7:
      return sameName(n, 'trailer') || sameName(n, 'upgrade');
    case 10:
      return sameName(n, 'connection') || sameName(n, 'keep-alive');
    case 16:
      return sameName(n, 'proxy-connection');
    case 17:
      return sameName(n, 'transfer-encoding');
    case 18:
      return sameName(n, 'proxy-authenticate');
    default:
      return false;
  }
}

/**
 * Removes, in place, the hop-by-hop headers of an upstream response and those its `Connection`
 * names; returns the same list. `keepUpgrade` keeps `Upgrade` and `Connection` (a `101`).
 */
export function stripResponseHopByHop(raw: string[], keepUpgrade = false): string[] {
  let connection: string | undefined;
  let w = 0;
  for (let r = 0; r < raw.length; r += 2) {
    const n = raw[r]!;
    if (isHopByHop(n)) {
      const isConnection = n.length === 10 && sameName(n, 'connection');
      if (isConnection) connection = connection === undefined ? raw[r + 1]! : `${connection},${raw[r + 1]!}`;
      if (!keepUpgrade || !(isConnection || (n.length === 7 && sameName(n, 'upgrade')))) continue;
    }
    if (w !== r) {
      raw[w] = n;
      raw[w + 1] = raw[r + 1]!;
    }
    w += 2;
  }
  raw.length = w;
  if (connection !== undefined && !hasOnly(connection, ['keep-alive', 'close', 'upgrade']))
    dropNamed(raw, connection, keepUpgrade);
  return raw;
}

/** Whether every token of a `Connection` value is one of `tokens` (the usual case: nothing named). */
function hasOnly(value: string, tokens: readonly string[]): boolean {
  if (sameName(value, 'keep-alive') || sameName(value, 'close')) return true;
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase();
    if (t !== '' && !tokens.includes(t)) return false;
  }
  return true;
}

function dropNamed(raw: string[], connection: string, keepUpgrade: boolean): void {
  const names = new Set(
    connection
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== '' && !(keepUpgrade && t === 'upgrade')),
  );
  let w = 0;
  for (let r = 0; r < raw.length; r += 2) {
    if (names.has(raw[r]!.toLowerCase())) continue;
    raw[w++] = raw[r]!;
    raw[w++] = raw[r + 1]!;
  }
  raw.length = w;
}

/**
 * Adds an upstream response's headers to those set before forwarding (a sticky cookie, a
 * middleware's): the upstream's value wins, `Set-Cookie` lines are added to the earlier ones.
 */
export function mergeUpstreamHeaders(into: HeaderList, upstream: string[]): void {
  if (into.raw.length === 0) {
    into.raw = upstream;
    return;
  }
  const names = new Set<string>();
  for (let i = 0; i < upstream.length; i += 2) {
    const n = upstream[i]!.toLowerCase();
    if (n !== 'set-cookie') names.add(n);
  }
  const kept: string[] = [];
  const raw = into.raw;
  for (let i = 0; i < raw.length; i += 2) if (!names.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
  for (const v of upstream) kept.push(v);
  into.raw = kept;
}

/** Trailers of an upstream response worth passing on (framing and hop-by-hop names removed). */
export function responseTrailers(raw: string[]): string[] {
  stripResponseHopByHop(raw);
  let w = 0;
  for (let r = 0; r < raw.length; r += 2) {
    const n = raw[r]!;
    if ((n.length === 14 && sameName(n, 'content-length')) || (n.length === 4 && sameName(n, 'host'))) continue;
    raw[w++] = n;
    raw[w++] = raw[r + 1]!;
  }
  raw.length = w;
  return raw;
}

/** The `101 Switching Protocols` head relayed to the client of a WebSocket handshake. */
export function switchingHead(reason: string, headers: string[]): string {
  stripResponseHopByHop(headers, true);
  let s = `HTTP/1.1 101 ${reason || 'Switching Protocols'}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]!}: ${headers[i + 1]!}\r\n`;
  return s + '\r\n';
}
