import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { EntryPointConfig } from '../config/static/types.ts';
import type { RequestContext } from '../http/handler.ts';
import { forwardedClientIp, setForwardedHeaders, stripUntrustedForwarded } from '../http/forwarded-headers.ts';
import { canonicalPath, splitTarget, validHostHeader } from '../http/request-target.ts';
import { sendStatus } from '../http/responses.ts';
import { stripHopByHop } from '../http/hop-by-hop.ts';
import { markChunked } from '../http/middlewares/body.ts';
import { buildIpMatcher, normalizeIp, type IpMatcher } from '../lib/ip.ts';
import { normalizeHost } from '../rules/host.ts';
import type { HttpRequestView } from '../rules/types.ts';
import type { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import type { CompiledHttpRouter, HttpRouterTable, RoutingSnapshot } from '../pipeline/snapshot.ts';
import type { TLSSocket } from 'node:tls';
import { policyOfSocket, wantedOptionsName } from '../tls/policy.ts';
import { clientAddressOf } from '../tcp/client-address.ts';

/** Hooks the entrypoint calls around routing (ACME HTTP-01, access log, metrics). */
export interface RequestHooks {
  /** Answers ACME HTTP-01 challenges before routing; returns true when it answered. */
  http01?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Called when a response finished or was aborted. */
  onResponse?: (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void;
}

/** Limits applied per request. */
export interface RequestLimits {
  readonly maxHeaderCount: number;
}

/**
 * The per-request path of an HTTP entrypoint: validate the request line and Host, strip untrusted
 * forwarding headers, canonicalise the path, find the router in the current snapshot and run it.
 * Everything here runs for every request: keep it allocation-light.
 */
export function createRequestHandler(name: string, ep: EntryPointConfig, scheme: 'http' | 'https', holder: SnapshotHolder, hooks: RequestHooks, limits: RequestLimits) {
  const trusted: IpMatcher | undefined = ep.forwardedHeaders?.insecure ? undefined : buildIpMatcher(ep.forwardedHeaders?.trustedIPs ?? []).matcher;
  const insecure = ep.forwardedHeaders?.insecure === true;
  const port = ep.port;
  // One listener for every response ('close' fires once): no closure per request.
  const onResponse = hooks.onResponse;
  const onClose = onResponse === undefined ? undefined : function (this: ServerResponse): void {
    onResponse(this.req, this, (this as WithCtx)[kCtx]!);
  };

  return function handle(req: IncomingMessage, res: ServerResponse, upgradeHead?: Buffer): void {
    const snap: RoutingSnapshot = holder.current();
    const remoteIp = normalizeIp(clientAddressOf(req.socket));
    const headers = req.headers;
    const raw = req.rawHeaders;
    const h2 = (req as { stream?: unknown }).stream !== undefined;
    if (raw.length > limits.maxHeaderCount * 2) { refuse(res, 431, h2); return; }
    // `HTTP/2.0` or `HTTP/0.9` on an HTTP/1 connection: Node's parser accepts both request lines.
    if (!h2 && req.httpVersionMajor !== 1) { refuse(res, 505, h2); return; }
    // Two Host headers (Node keeps only the first) and HTTP/1.0 with Transfer-Encoding are refused.
    let hostCount = 0;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === 4 && k.toLowerCase() === 'host') hostCount++;
    }
    const te = headers['transfer-encoding'];
    if (hostCount > 1 || (te !== undefined && req.httpVersionMinor === 0)) { refuse(res, 400, h2); return; }
    // Berth re-frames every body: a coding other than plain `chunked` (`gzip, chunked`) would be
    // lost when the body is re-chunked, so it is refused as Go's server does.
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked') { refuse(res, 501, h2); return; }

    let url = req.url ?? '/';
    let hostHeader = (headers.host ?? (headers[':authority'] as string | undefined)) ?? '';
    if (url.charCodeAt(0) !== 47 /* / */) {
      // Absolute-form: the target's authority replaces Host; berth only forwards to its own routes.
      const m = /^https?:\/\/([^/?#]*)(.*)$/i.exec(url);
      if (!m) { refuse(res, 400, h2); return; }
      hostHeader = m[1]!;
      url = m[2] || '/';
      if (url.charCodeAt(0) !== 47) url = '/' + url;
      headers.host = hostHeader;
    }
    if (!validHostHeader(hostHeader) && !(hostHeader === '' && req.httpVersionMajor === 1 && req.httpVersionMinor === 0)) { refuse(res, 400, h2); return; }
    const { path: rawPath, query } = splitTarget(url);
    const path = canonicalPath(rawPath);
    if (path === null) { refuse(res, 400, h2); return; }
    // Rewritten when canonicalised, taken from an absolute form, or carrying a fragment (which never
    // goes upstream: it is the client's own).
    if (path !== rawPath || url !== req.url || url.length !== rawPath.length + (query ? query.length + 1 : 0)) req.url = query ? `${path}?${query}` : path;

    const trustedPeer = insecure || (trusted !== undefined && trusted.has(remoteIp));
    if (!trustedPeer) stripUntrustedForwarded(headers);
    const host = normalizeHost(hostHeader);
    const ctx: RequestContext = {
      entrypoint: name, scheme, remoteIp,
      clientIp: trustedPeer ? forwardedClientIp(headers, remoteIp) : remoteIp,
      trustedPeer, host, path, start: performance.now(),
    };
    if (upgradeHead !== undefined) ctx.upgradeHead = upgradeHead;
    if (te !== undefined) markChunked(req);
    if (onClose !== undefined) {
      (res as WithCtx)[kCtx] = ctx;
      res.on('close', onClose);
    }
    if (scheme === 'http' && hooks.http01 && path.startsWith('/.well-known/acme-challenge/') && hooks.http01(req, res)) return;

    const tables = snap.http.get(name);
    const table = tables ? (scheme === 'https' ? tables.tls : tables.plain) : undefined;
    const view: HttpRequestView = { host, path, method: req.method ?? 'GET', headers, query, clientIp: ctx.clientIp };
    const router = table?.find(view);
    if (!router) { sendStatus(res, 404); return; }
    if (scheme === 'https' && misdirected(req, router, snap)) { sendStatus(res, 421); return; }
    stripHopByHop(headers, upgradeHead !== undefined);
    setForwardedHeaders(headers, remoteIp, scheme, port, upgradeHead !== undefined, hostHeader);
    router.handler(req, res, ctx);
  };
}

const kCtx = Symbol('berth.ctx');
type WithCtx = ServerResponse & { [kCtx]?: RequestContext };

/**
 * Answers a request berth will not process and, on HTTP/1, closes the connection after the
 * answer: whatever follows (an unread body, pipelined requests) can no longer be framed safely.
 */
function refuse(res: ServerResponse, status: number, h2: boolean): void {
  if (!h2) {
    res.shouldKeepAlive = false;
    if (!res.headersSent) res.setHeader('connection', 'close');
    res.once('finish', () => res.socket?.destroySoon?.());
  }
  sendStatus(res, status);
}

/**
 * HARDENING: a client must not pass the handshake under one set of TLS options (client
 * certificates, versions) and then reach a router that requires another: 421, as Traefik. The
 * handshake's options are those of its SNI (`src/tls/policy.ts`); HTTP/1 Host and HTTP/2
 * :authority alike.
 */
function misdirected(req: IncomingMessage, router: CompiledHttpRouter, snap: RoutingSnapshot): boolean {
  const stream = (req as { stream?: { session?: { socket?: TLSSocket } } }).stream;
  const sock = stream?.session?.socket ?? req.socket;
  const used = policyOfSocket(sock)?.name ?? 'default';
  return used !== wantedOptionsName(snap, router.name);
}
