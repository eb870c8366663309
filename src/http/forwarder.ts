import { ProxyExchange, type ForwardFailure } from '../engine/proxy-exchange.ts';
import { UpstreamPool, type TransportOptions } from '../engine/upstream-pool.ts';
import type { UpstreamTarget } from '../engine/upstream-target.ts';
import type { ProxyRequest, ProxyResponse, RequestContext } from './handler.ts';

export type { ForwardFailure } from '../engine/proxy-exchange.ts';
export type { TransportOptions } from '../engine/upstream-pool.ts';
export { upstreamTarget, type UpstreamTarget } from '../engine/upstream-target.ts';

/** The keep-alive connections of one transport (Traefik's serversTransport): berth's own pool. */
export type Transport = UpstreamPool;

/** Builds a transport; connections stay alive across requests (and across snapshots, via the service pool). */
export function createTransport(options: TransportOptions): Transport {
  return new UpstreamPool(options);
}

/**
 * Forwards a request (or a WebSocket handshake) to `upstream` over `transport`. Headers are
 * prepared by the entrypoint before this is called. Failures become 502/504 answers (or an
 * aborted response once one has started); `onFailure` reports the failure kind.
 */
export function forward(req: ProxyRequest, res: ProxyResponse, ctx: RequestContext, upstream: UpstreamTarget, transport: Transport, passHostHeader: boolean, onFailure?: (kind: ForwardFailure) => void): void {
  ctx.upstream = upstream.url;
  new ProxyExchange(req, res, ctx, upstream, transport, passHostHeader, onFailure).start();
}
