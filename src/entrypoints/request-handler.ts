import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { EntryPointConfig } from '../config/static/types.ts';
import { hasToken, sameName, type HeaderList } from '../engine/header-list.ts';
import type { ProxyRequest, RequestContext } from '../engine/message.ts';
import type { RequestHandler } from '../engine/request-handler.ts';
import type { ProxyResponse } from '../engine/response.ts';
import { forwardedClientIp, setForwardedHeaders, stripUntrustedForwarded } from '../http/forwarded-headers.ts';
import {
  canonicalPath,
  deniedEncodedCharacters,
  encodedIn,
  routingPathOf,
  splitTarget,
  validHostHeader,
} from '../http/request-target.ts';
import { sendStatus } from '../http/responses.ts';
import { stripHopByHop } from '../http/hop-by-hop.ts';
import { buildIpMatcher, type IpMatcher } from '../lib/ip.ts';
import { normalizeHost } from '../rules/host.ts';
import type { HttpRequestView } from '../rules/types.ts';
import type { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import type { CompiledHttpRouter, RoutingSnapshot } from '../pipeline/snapshot.ts';
import { policyOfSocket, wantedOptionsName } from '../tls/policy.ts';

/** Hooks the entrypoint calls around routing (ACME HTTP-01, access log, metrics). */
export interface RequestHooks {
  /** Answers ACME HTTP-01 challenges before routing; returns true when it answered. */
  http01?: (req: ProxyRequest, res: ProxyResponse) => boolean;
  /** Called when a response finished or was aborted. */
  onResponse?: (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext) => void;
}

/** Limits applied per request. */
export interface RequestLimits {
  readonly maxHeaderCount: number;
}

const ACME_PREFIX = '/.well-known/acme-challenge/';
/** An absolute-form target (any scheme, as Go's `url.ParseRequestURI`): authority and the rest. */
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)(.*)$/;

/** What rules look at; Node-style headers only built when a rule asks for them (Header, HeaderRegexp). */
class RouteView implements HttpRequestView {
  readonly host: string;
  readonly path: string;
  readonly method: string;
  readonly query: string;
  readonly clientIp: string;
  private readonly list: HeaderList;
  private object: IncomingHttpHeaders | undefined = undefined;

  constructor(host: string, path: string, method: string, list: HeaderList, query: string, clientIp: string) {
    this.host = host;
    this.path = path;
    this.method = method;
    this.list = list;
    this.query = query;
    this.clientIp = clientIp;
  }

  get headers(): IncomingHttpHeaders {
    return (this.object ??= this.list.toObject());
  }
}

/**
 * The per-request path of an HTTP entrypoint: validate the request line and Host, strip untrusted
 * forwarding headers, canonicalise the path, find the router in the current snapshot and run it.
 * One pass over the header list; everything here runs for every request: keep it allocation-light.
 */
export function createRequestHandler(
  name: string,
  ep: EntryPointConfig,
  scheme: 'http' | 'https',
  holder: SnapshotHolder,
  hooks: RequestHooks,
  limits: RequestLimits,
): RequestHandler {
  const trusted: IpMatcher | undefined = ep.forwardedHeaders?.insecure
    ? undefined
    : buildIpMatcher(ep.forwardedHeaders?.trustedIPs ?? []).matcher;
  const insecure = ep.forwardedHeaders?.insecure === true;
  const port = String(ep.port);
  const onResponse = hooks.onResponse;
  const http01 = scheme === 'http' ? hooks.http01 : undefined;
  const sanitize = ep.http?.sanitizePath !== false;
  const denied = deniedEncodedCharacters(ep.http?.encodedCharacters);

  const request = (req: ProxyRequest, res: ProxyResponse): void => {
    const snap: RoutingSnapshot = holder.current();
    const remoteIp = req.remoteAddress;
    const headers = req.headers;
    const raw = headers.raw;
    const h2 = req.http2;
    if (raw.length > limits.maxHeaderCount * 2) {
      refuse(res, 431, h2);
      return;
    }
    // `HTTP/2.0` or `HTTP/0.9` on an HTTP/1 connection: llhttp accepts both request lines.
    if (!h2 && req.httpVersionMajor !== 1) {
      refuse(res, 505, h2);
      return;
    }
    // Two Host headers, and HTTP/1.0 with Transfer-Encoding, are refused.
    let hostCount = 0;
    let hostHeader = '';
    let te: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!;
      if (k.length === 4) {
        if (sameName(k, 'host')) {
          if (hostCount++ === 0) hostHeader = raw[i + 1]!;
        }
      } else if (k.length === 17 && sameName(k, 'transfer-encoding'))
        te = te === undefined ? raw[i + 1]! : `${te}, ${raw[i + 1]!}`;
    }
    if (hostCount > 1 || (te !== undefined && !h2 && req.httpVersionMinor === 0)) {
      refuse(res, 400, h2);
      return;
    }
    // Berth re-frames every body: a coding other than plain `chunked` (`gzip, chunked`) would be
    // lost when the body is re-chunked, so it is refused as Go's server does.
    if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
      refuse(res, 501, h2);
      return;
    }

    const original = req.url;
    let url = original;
    // As Go's server: HTTP/1.1 needs a valid Host header even when an absolute-form target names one.
    if (!validHostHeader(hostHeader) && !(hostHeader === '' && !h2 && req.httpVersionMinor === 0)) {
      refuse(res, 400, h2);
      return;
    }
    if (url.charCodeAt(0) !== 47 /* / */) {
      // Absolute-form: as Go's net/http, the target's authority (when it has one) is the request's
      // host and the Host header is ignored; berth only forwards to its own routes.
      const m = ABSOLUTE_FORM.exec(url);
      if (!m) {
        refuse(res, 400, h2);
        return;
      }
      const authority = m[1]!;
      if (authority !== '') {
        if (!validHostHeader(authority)) {
          refuse(res, 400, h2);
          return;
        }
        hostHeader = authority;
        headers.set('host', authority);
      }
      url = m[2] || '/';
      if (url.charCodeAt(0) !== 47) url = '/' + url;
    }
    const { path: rawPath, query } = splitTarget(url);
    const path = canonicalPath(rawPath, sanitize);
    if (path === null) {
      refuse(res, 400, h2);
      return;
    }
    // Rewritten when canonicalised, taken from an absolute form, or carrying a fragment (which never
    // goes upstream: it is the client's own).
    if (path !== rawPath || url !== original || url.length !== rawPath.length + (query ? query.length + 1 : 0))
      req.url = query ? `${path}?${query}` : path;
    const routing = routingPathOf(path);

    const trustedPeer = insecure || trusted?.has(remoteIp) === true;
    if (!trustedPeer) stripUntrustedForwarded(headers);
    const host = normalizeHost(hostHeader);
    const ctx: RequestContext = {
      entrypoint: name,
      scheme,
      remoteIp,
      clientIp: trustedPeer ? forwardedClientIp(headers, remoteIp) : remoteIp,
      trustedPeer,
      host,
      path: routing,
      start: performance.now(),
    };
    req.ctx = ctx;
    if (req.tunnel !== undefined) {
      // Only WebSocket becomes a tunnel; `Upgrade: h2c` and other tokens are served as plain requests.
      const token = headers.get('upgrade');
      if (token !== undefined && hasToken(token, 'websocket')) req.upgrade = true;
      else headers.delete('upgrade');
    }
    if (http01 !== undefined && routing.startsWith(ACME_PREFIX) && http01(req, res)) return;

    const tables = snap.http.get(name);
    const table = tables ? (scheme === 'https' ? tables.tls : tables.plain) : undefined;
    const router = table?.find(new RouteView(host, routing, req.method, headers, query, remoteIp));
    if (!router) {
      sendStatus(res, 404);
      return;
    }
    // Traefik refuses the encoded characters its entrypoint does not allow once a root router matched.
    if (denied !== 0 && (encodedIn(path) & denied) !== 0) {
      refuse(res, 400, h2);
      return;
    }
    if (scheme === 'https' && misdirected(req, router, snap)) {
      sendStatus(res, 421);
      return;
    }
    const upgrade = req.upgrade;
    stripHopByHop(headers, upgrade);
    setForwardedHeaders(
      headers,
      remoteIp,
      upgrade ? (scheme === 'https' ? 'wss' : 'ws') : scheme,
      port,
      hostHeader,
      trustedPeer,
    );
    router.handler(req, res, ctx);
  };

  const done =
    onResponse === undefined
      ? (): void => undefined
      : (req: ProxyRequest, res: ProxyResponse): void => {
          const ctx = req.ctx;
          if (ctx !== undefined) onResponse(req, res, ctx);
        };
  return { request, done };
}

/**
 * Answers a request berth will not process and, on HTTP/1, closes the connection after the
 * answer: whatever follows (an unread body, pipelined requests) can no longer be framed safely.
 */
function refuse(res: ProxyResponse, status: number, h2: boolean): void {
  if (!h2) res.closeConnection = true;
  sendStatus(res, status);
}

/**
 * HARDENING: a client must not pass the handshake under one set of TLS options (client
 * certificates, versions) and then reach a router that requires another: 421, as Traefik. The
 * handshake's options are those of its SNI (`src/tls/policy.ts`); HTTP/1 Host and HTTP/2
 * :authority alike.
 */
function misdirected(req: ProxyRequest, router: CompiledHttpRouter, snap: RoutingSnapshot): boolean {
  const used = policyOfSocket(req.socket)?.name ?? 'default';
  return used !== wantedOptionsName(snap, router.name);
}
