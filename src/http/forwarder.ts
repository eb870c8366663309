import { Agent as HttpAgent, ServerResponse, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import { Pool, type Dispatcher } from 'undici';
import type { RequestContext } from './handler.ts';
import { sendStatus } from './responses.ts';
import { hasBody } from './middlewares/body.ts';

/** Timeouts and pooling of one upstream transport (Traefik's serversTransport). */
export interface TransportOptions {
  readonly dialTimeoutMs: number;
  /** 0 = no limit (Traefik's default). */
  readonly responseHeaderTimeoutMs: number;
  readonly idleConnTimeoutMs: number;
  readonly maxIdleConnsPerHost: number;
  readonly insecureSkipVerify: boolean;
  readonly rootCAs?: readonly (string | Buffer)[];
  readonly serverName?: string;
}

/** One upstream server as the forwarder needs it, parsed once when the snapshot is built. */
export interface UpstreamTarget {
  readonly url: string;
  readonly target: URL;
  readonly https: boolean;
}

/**
 * The pooled keep-alive connections of one transport: an undici `Pool` per upstream origin for
 * requests, and `http.Agent`s for WebSocket upgrades (which go through http-proxy-3).
 */
export interface Transport {
  readonly options: TransportOptions;
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
  /** The request pool of one origin (`http://host:port`), created on first use. */
  pool(origin: string, https: boolean): Pool;
  close(): void;
}

/** Builds a transport; connections stay alive across requests (and across snapshots, via the service pool). */
export function createTransport(options: TransportOptions): Transport {
  const common = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: options.maxIdleConnsPerHost, timeout: options.idleConnTimeoutMs, scheduling: 'lifo' as const };
  const httpAgent = new HttpAgent(common);
  const tlsOptions = {
    rejectUnauthorized: !options.insecureSkipVerify,
    ...(options.rootCAs ? { ca: options.rootCAs as (string | Buffer)[] } : {}),
    ...(options.serverName ? { servername: options.serverName } : {}),
  };
  const httpsAgent = new HttpsAgent({ ...common, ...tlsOptions });
  const pools = new Map<string, Pool>();
  let closed = false;
  return {
    options, httpAgent, httpsAgent,
    pool(origin, https) {
      let p = pools.get(origin);
      if (p === undefined) {
        p = new Pool(origin, {
          connectTimeout: options.dialTimeoutMs,
          // Traefik has no body timeout and no header timeout unless responseHeaderTimeout is set;
          // both are given per request.
          headersTimeout: 0,
          bodyTimeout: 0,
          keepAliveTimeout: options.idleConnTimeoutMs,
          keepAliveMaxTimeout: Math.max(options.idleConnTimeoutMs, 1000),
          pipelining: 1,
          ...(https ? { connect: tlsOptions } : {}),
        });
        // A transport closed while an old snapshot still uses it: the pool serves this request
        // (dispatched right after this returns) and then closes, so nothing lingers.
        if (closed) { const q = p; queueMicrotask(() => { void q.close().catch(() => undefined); }); } else pools.set(origin, p);
      }
      return p;
    },
    close: () => {
      closed = true;
      httpAgent.destroy();
      httpsAgent.destroy();
      for (const p of pools.values()) void p.destroy().catch(() => undefined);
      pools.clear();
    },
  };
}

/** Why a forward failed, mapped to berth's own status. */
export type ForwardFailure = 'refused' | 'timeout' | 'reset' | 'dial-timeout';

const kState = Symbol('berth.forward');
interface ForwardState {
  transport: Transport;
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
}
type WithState = IncomingMessage & { [kState]?: ForwardState; berthBody?: Readable };

const WS_LINGER_MS = 5000;
const proxy = new ProxyServer({ xfwd: false, ws: true, prependPath: true });
// WebSocket upgrades only (requests go through undici). The per-request state rides on the request
// object so the shared proxy's events can reach it.
proxy.on('proxyReq', (proxyReq: ClientRequest, req: IncomingMessage) => {
  const st = (req as WithState)[kState];
  if (!st) return;
  const ms = st.transport.options.responseHeaderTimeoutMs;
  if (ms > 0) {
    st.timer = setTimeout(() => { st.timedOut = true; proxyReq.destroy(new Error('response header timeout')); }, ms);
    proxyReq.once('response', () => { if (st.timer) clearTimeout(st.timer); });
    proxyReq.once('close', () => { if (st.timer) clearTimeout(st.timer); });
  }
});
// A WebSocket tunnel lives exactly as long as both sides: when one side goes away the other is
// destroyed, not half-closed, so an upstream that never answers a FIN cannot pin descriptors.
proxy.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, socket: Socket) => {
  proxyReq.once('upgrade', (_res: IncomingMessage, proxySocket: Socket) => {
    socket.once('close', () => proxySocket.destroy());
    proxySocket.once('close', () => socket.destroy());
    // A FIN from either side ends the tunnel: the other side gets a few seconds to finish its
    // close handshake, then both are destroyed (a peer that never sends its own FIN would
    // otherwise keep the descriptor in FIN-WAIT-2 forever).
    let timer: NodeJS.Timeout | undefined;
    const linger = (): void => {
      if (timer) return;
      timer = setTimeout(() => { socket.destroy(); proxySocket.destroy(); }, WS_LINGER_MS);
      timer.unref();
    };
    socket.once('end', linger);
    proxySocket.once('end', linger);
    socket.once('close', () => { if (timer) clearTimeout(timer); });
  });
});
proxy.on('error', () => { /* handled per call */ });

/** Classifies a forwarding error. */
export function classifyError(err: NodeJS.ErrnoException, timedOut: boolean): ForwardFailure {
  if (timedOut) return 'timeout';
  switch (err.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return 'refused';
    case 'ECONNECT_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'dial-timeout';
    default:
      return 'reset';
  }
}

const STATUS: Record<ForwardFailure, number> = { refused: 502, reset: 502, timeout: 504, 'dial-timeout': 504 };

/**
 * Forwards a request (or a WebSocket upgrade) to `upstream` over `transport`. Headers are prepared
 * by `prepareForwardHeaders` before this is called. Errors become 502/504 answers (or an aborted
 * response once one has started); `onFailure` reports the failure kind for passive health and logs.
 */
export function forward(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, upstream: UpstreamTarget, transport: Transport, passHostHeader: boolean, onFailure?: (kind: ForwardFailure) => void): void {
  ctx.upstream = upstream.url;
  if (ctx.upgradeHead !== undefined) {
    forwardUpgrade(req, res, ctx, upstream, transport, passHostHeader, onFailure);
    return;
  }
  const headers = (req as { stream?: unknown }).stream === undefined ? req.headers : h2Headers(req.headers);
  if (!passHostHeader) headers.host = upstream.target.host;
  // Node's server has already answered `100-continue`; the upstream gets the body straight away.
  if (headers.expect !== undefined) delete headers.expect;
  const body = (req as WithState).berthBody ?? (hasBody(req) ? req : null);
  const exchange = new Exchange(req, res, ctx, transport, onFailure, body !== null);
  exchange.dispatch(upstream, {
    origin: upstream.target.origin,
    path: joinPath(upstream.target, req.url ?? '/'),
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: headers as Record<string, string | string[]>,
    body,
    headersTimeout: transport.options.responseHeaderTimeoutMs,
    bodyTimeout: 0,
  });
}

/** HTTP/2 request headers without the pseudo-headers; `:authority` becomes `Host` when there is none. */
function h2Headers(src: IncomingMessage['headers']): IncomingMessage['headers'] {
  const out: IncomingMessage['headers'] = {};
  for (const k in src) if (k.charCodeAt(0) !== 58 /* : */) out[k] = src[k];
  if (out.host === undefined && typeof src[':authority'] === 'string') out.host = src[':authority'];
  return out;
}

/** The target's path prefix joined with the request target, as Traefik does (no doubled slash). */
function joinPath(target: URL, url: string): string {
  const base = target.pathname;
  if (base === '/' || base === '') return target.search === '' ? url : mergeQuery(url, target.search);
  const joined = base.endsWith('/') && url.charCodeAt(0) === 47 ? base + url.slice(1) : base + url;
  return target.search === '' ? joined : mergeQuery(joined, target.search);
}

function mergeQuery(url: string, search: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url + search : `${url.slice(0, q)}${search}&${url.slice(q + 1)}`;
}

const protoWriteHead = ServerResponse.prototype.writeHead;
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * One request/response exchange with an upstream, as an undici dispatch handler: the response head
 * goes to the client in one `writeHead`, and a body that arrives with its end in the same read
 * goes out in the same write as the head. Backpressure flows both ways; a client that goes away
 * aborts the upstream request; an upstream that fails mid-body aborts the client response.
 */
class Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: RequestContext;
  readonly transport: Transport;
  readonly onFailure: ((kind: ForwardFailure) => void) | undefined;
  readonly withBody: boolean;
  abort: ((err?: Error) => void) | undefined = undefined;
  resume: (() => void) | undefined = undefined;
  /** The first body chunk, held until the end arrives in the same read or the next tick. */
  held: Buffer | undefined = undefined;
  /** Past the first chunk: writes go straight out and their result is the backpressure. */
  streaming = false;
  headed = false;
  done = false;
  retried = false;
  opts: Dispatcher.DispatchOptions | undefined = undefined;
  upstream: UpstreamTarget | undefined = undefined;

  constructor(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, transport: Transport, onFailure: ((kind: ForwardFailure) => void) | undefined, withBody: boolean) {
    this.req = req; this.res = res; this.ctx = ctx; this.transport = transport; this.onFailure = onFailure; this.withBody = withBody;
  }

  dispatch(upstream: UpstreamTarget, opts: Dispatcher.DispatchOptions): void {
    this.upstream = upstream;
    this.opts = opts;
    try {
      this.transport.pool(upstream.target.origin, upstream.https).dispatch(opts, this as unknown as Dispatcher.DispatchHandler);
    } catch (err) {
      this.onError(err as Error);
      return;
    }
    if (!this.retried) {
      this.res.once('close', () => {
        if (!this.done) { this.done = true; this.abort?.(); }
      });
      this.res.on('drain', () => this.resume?.());
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.done) abort();
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    if (status < 200) return true; // 1xx informational: not relayed (101 goes through the upgrade path)
    this.resume = resume;
    this.headed = true;
    const res = this.res;
    this.ctx.responseStarted = true;
    if (this.done) return false;
    const list: string[] = [];
    let connection: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!.toString('latin1');
      const v = raw[i + 1]!.toString('latin1');
      const l = k.length <= 17 ? k.toLowerCase() : '';
      if (l !== '' && HOP.has(l)) {
        if (l === 'connection') connection = connection === undefined ? v : `${connection},${v}`;
        continue;
      }
      list.push(k, v);
    }
    if (connection !== undefined && !PLAIN_CONNECTION.has(connection.toLowerCase())) dropNamed(list, connection);
    const h1 = this.req.httpVersionMajor === 1;
    if (h1) list.push('connection', res.shouldKeepAlive ? 'keep-alive' : 'close');
    if (h1 && res.writeHead === protoWriteHead && !res.hasHeader('set-cookie')) {
      res.writeHead(status, statusText, list);
      return true;
    }
    // Middlewares watch writeHead and edit headers through res: set them there, then head.
    // A name seen twice is appended; Set-Cookie also joins cookies set before forwarding (sticky).
    const seen = new Set<string>();
    for (let i = 0; i < list.length; i += 2) {
      const k = list[i]!;
      const l = k.toLowerCase();
      if (seen.has(l) || (l === 'set-cookie' && res.hasHeader(l))) appendHeader(res, l, list[i + 1]!);
      else res.setHeader(k, list[i + 1]!);
      seen.add(l);
    }
    if (h1 && statusText) res.statusMessage = statusText;
    res.writeHead(status);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.done) return false;
    // After the first chunk every write reports the client's backpressure to undici.
    if (this.streaming) return this.res.write(chunk);
    if (this.held === undefined) {
      this.held = chunk;
      process.nextTick(flushHeld, this);
      return true;
    }
    // More body in the same read: stream from here on.
    const h = this.held;
    this.held = undefined;
    this.streaming = true;
    this.res.write(h);
    return this.res.write(chunk);
  }

  onComplete(): void {
    if (this.done) return;
    this.done = true;
    const h = this.held;
    this.held = undefined;
    if (h !== undefined) this.res.end(h);
    else this.res.end();
  }

  onError(err: Error): void {
    if (this.done) return;
    const kind = classifyError(err as NodeJS.ErrnoException, (err as NodeJS.ErrnoException).code === 'UND_ERR_HEADERS_TIMEOUT');
    // A kept-alive connection the upstream closed just as the request went out: the request never
    // reached it. Idempotent requests without a body are sent once more on a fresh connection,
    // as Go's transport does.
    if (!this.headed && !this.retried && !this.withBody && kind === 'reset' && (err as NodeJS.ErrnoException).code === 'UND_ERR_SOCKET' && IDEMPOTENT.has(this.req.method ?? '')) {
      this.retried = true;
      this.abort = undefined;
      this.dispatch(this.upstream!, this.opts!);
      return;
    }
    this.done = true;
    this.onFailure?.(kind);
    if (this.headed) { this.res.destroy(); return; }
    sendStatus(this.res, STATUS[kind]);
  }
}

/** `Connection` values that name no other header (the common case: nothing to drop). */
const PLAIN_CONNECTION = new Set(['keep-alive', 'close']);
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** The end did not come with the first chunk: send it on its own and stream the rest. */
function flushHeld(x: Exchange): void {
  x.streaming = true;
  const h = x.held;
  if (h === undefined || x.done) return;
  x.held = undefined;
  x.res.write(h);
}

/** `appendHeader` for HTTP/1 and HTTP/2 compatibility responses alike. */
function appendHeader(res: ServerResponse, name: string, value: string): void {
  const prior = res.getHeader(name);
  if (prior === undefined) res.setHeader(name, value);
  else res.setHeader(name, ([] as string[]).concat(prior as string | string[], value));
}

/** Removes the headers named in the upstream's `Connection` header from a flat list. */
function dropNamed(list: string[], connection: string): void {
  const names = new Set(connection.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
  if (names.size === 0) return;
  let w = 0;
  for (let r = 0; r < list.length; r += 2) {
    if (names.has(list[r]!.toLowerCase())) continue;
    list[w++] = list[r]!; list[w++] = list[r + 1]!;
  }
  list.length = w;
}

/** WebSocket upgrades go through http-proxy-3 over the transport's agents. */
function forwardUpgrade(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, upstream: UpstreamTarget, transport: Transport, passHostHeader: boolean, onFailure?: (kind: ForwardFailure) => void): void {
  const st: ForwardState = { transport, timedOut: false, timer: undefined };
  (req as WithState)[kState] = st;
  const agent = upstream.https ? transport.httpsAgent : transport.httpAgent;
  const onError = (err: Error): void => {
    if (st.timer) clearTimeout(st.timer);
    const kind = classifyError(err as NodeJS.ErrnoException, st.timedOut);
    onFailure?.(kind);
    if (!res.headersSent) sendStatus(res, STATUS[kind]);
    else req.socket.destroy();
  };
  const opts = {
    target: upstream.target,
    agent,
    changeOrigin: !passHostHeader,
    connectTimeout: transport.options.dialTimeoutMs,
    secure: !transport.options.insecureSkipVerify,
  };
  proxy.ws(req, req.socket as Socket, ctx.upgradeHead!, opts, onError);
}
