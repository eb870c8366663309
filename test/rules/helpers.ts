import assert from 'node:assert/strict';
import { normalizeHost } from '../../src/rules/host.ts';
import type { HttpRequestView, TcpConnectionView } from '../../src/rules/types.ts';

/** A request view with harmless defaults, overridden per test. */
export function httpReq(over: Partial<HttpRequestView> = {}): HttpRequestView {
  return { host: 'example.com', path: '/', method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1', ...over };
}

/** A connection view with harmless defaults, overridden per test. */
export function tcpConn(over: Partial<TcpConnectionView> = {}): TcpConnectionView {
  return { sni: 'example.com', alpn: [], clientIp: '127.0.0.1', tls: true, ...over };
}

/**
 * A request for `https://host[:port]/path?query` as berth's entrypoint views it (host normalised,
 * path and query split), for Traefik's tables that name requests by URL. Traefik's canonical host
 * keeps a trailing dot; the entrypoint passes it when it differs.
 */
export function requestFromUrl(url: string, over: Partial<HttpRequestView> = {}): HttpRequestView {
  const m = /^https?:\/\/([^/?]*)([^?]*)(?:\?(.*))?$/.exec(url);
  assert.ok(m, url);
  const host = normalizeHost(m[1] ?? '');
  const canonical = (m[1] ?? '').toLowerCase().replace(/:\d*$/, '');
  return httpReq({
    host,
    ...(canonical !== host ? { canonicalHost: canonical } : {}),
    path: m[2] || '/',
    query: m[3] ?? '',
    ...over,
  });
}
