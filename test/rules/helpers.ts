import type { HttpRequestView, TcpConnectionView } from '../../src/rules/types.ts';

/** A request view with harmless defaults, overridden per test. */
export function httpReq(over: Partial<HttpRequestView> = {}): HttpRequestView {
  return { host: 'example.com', path: '/', method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1', ...over };
}

/** A connection view with harmless defaults, overridden per test. */
export function tcpConn(over: Partial<TcpConnectionView> = {}): TcpConnectionView {
  return { sni: 'example.com', alpn: [], clientIp: '127.0.0.1', tls: true, ...over };
}
