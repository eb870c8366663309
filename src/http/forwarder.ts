import { H2Exchange } from '../engine/h2-exchange.ts';
import type { ForwardFailure } from '../engine/exchange-base.ts';
import { ProxyExchange } from '../engine/proxy-exchange.ts';
import { UpstreamPool, type TransportOptions } from '../engine/upstream-pool.ts';
import type { UpstreamTarget } from '../engine/upstream-target.ts';
import type { ProxyRequest, ProxyResponse, RequestContext } from './handler.ts';

export type { ForwardFailure } from '../engine/exchange-base.ts';
export type { TransportOptions } from '../engine/upstream-pool.ts';
export { upstreamTarget, type UpstreamTarget } from '../engine/upstream-target.ts';

/** The keep-alive connections of one transport (Traefik's serversTransport): berth's own pool. */
export type Transport = UpstreamPool;

/** Builds a transport; connections stay alive across requests (and across snapshots, via the service pool). */
export function createTransport(options: TransportOptions): Transport {
  return new UpstreamPool(options);
}

/**
 * Forwards a request (or a WebSocket handshake) to `upstream` over `transport`: HTTP/1.1 from the
 * keep-alive pool, or a stream of the server's HTTP/2 session for `h2c://` servers. Headers are
 * prepared by the entrypoint before this is called. Failures become 502/504 answers (or an
 * aborted response once one has started); `onFailure` reports the failure kind.
 */
export function forward(
  req: ProxyRequest,
  res: ProxyResponse,
  ctx: RequestContext,
  upstream: UpstreamTarget,
  transport: Transport,
  passHostHeader: boolean,
  onFailure?: (kind: ForwardFailure) => void,
): void {
  ctx.upstream = upstream.url;
  // A WebSocket handshake to an h2c server goes over HTTP/1.1: berth offers no extended CONNECT.
  if (upstream.h2c && !req.upgrade) {
    new H2Exchange(
      req,
      res,
      ctx,
      upstream,
      transport.h2Sessions(),
      transport.options.responseHeaderTimeoutMs,
      passHostHeader,
      onFailure,
    ).start();
    return;
  }
  new ProxyExchange(req, res, ctx, upstream, transport, passHostHeader, onFailure).start();
}
