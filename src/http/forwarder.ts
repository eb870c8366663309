import { Agent as HttpAgent, type IncomingMessage, type ServerResponse, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ProxyServer } from 'http-proxy-3';
import type { RequestContext } from './handler.ts';
import { sendStatus } from './responses.ts';
import { stripHopByHop } from './hop-by-hop.ts';

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

/** The pooled keep-alive agents of one transport. */
export interface Transport {
  readonly options: TransportOptions;
  readonly httpAgent: HttpAgent;
  readonly httpsAgent: HttpsAgent;
  close(): void;
}

/** Builds a transport; agents keep connections alive across requests (and across snapshots, via the pool). */
export function createTransport(options: TransportOptions): Transport {
  const common = { keepAlive: true, keepAliveMsecs: 1000, maxFreeSockets: options.maxIdleConnsPerHost, timeout: options.idleConnTimeoutMs, scheduling: 'lifo' as const };
  const httpAgent = new HttpAgent(common);
  const httpsAgent = new HttpsAgent({
    ...common,
    rejectUnauthorized: !options.insecureSkipVerify,
    ...(options.rootCAs ? { ca: options.rootCAs as (string | Buffer)[] } : {}),
    ...(options.serverName ? { servername: options.serverName } : {}),
  });
  return { options, httpAgent, httpsAgent, close: () => { httpAgent.destroy(); httpsAgent.destroy(); } };
}

/** Why a forward failed, mapped to berth's own status. */
export type ForwardFailure = 'refused' | 'timeout' | 'reset' | 'dial-timeout';

const kState = Symbol('berth.forward');
interface ForwardState {
  ctx: RequestContext;
  transport: Transport;
  timedOut: boolean;
  timer: NodeJS.Timeout | undefined;
}
type WithState = IncomingMessage & { [kState]?: ForwardState; berthBody?: Readable };

const WS_LINGER_MS = 5000;
const proxy = new ProxyServer({ xfwd: false, ws: true, prependPath: true });
// The per-request state rides on the request object so the shared proxy's events can reach it.
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
proxy.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: ServerResponse) => {
  const st = (req as WithState)[kState];
  if (st) st.ctx.responseStarted = true;
  // Connection-specific headers of the upstream never reach the client; keep-alive towards the client
  // follows the client's own connection, not the upstream's.
  stripHopByHop(proxyRes.headers, false);
  if (req.httpVersionMajor === 1) proxyRes.headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
  // An upstream that dies mid-body must abort the client response, never end it as if complete.
  proxyRes.once('aborted', () => res.destroy());
  proxyRes.once('error', () => res.destroy());
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
proxy.on('econnreset', (_err: Error, _req: IncomingMessage, res: ServerResponse) => { if (!res.writableEnded) res.destroy(); });

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
 * response once one has started); `onDone` reports the failure kind for passive health and logs.
 */
export function forward(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, upstream: UpstreamTarget, transport: Transport, passHostHeader: boolean, onFailure?: (kind: ForwardFailure) => void): void {
  const st: ForwardState = { ctx, transport, timedOut: false, timer: undefined };
  (req as WithState)[kState] = st;
  ctx.upstream = upstream.url;
  const agent = upstream.https ? transport.httpsAgent : transport.httpAgent;
  const onError = (err: Error): void => {
    if (st.timer) clearTimeout(st.timer);
    const kind = classifyError(err as NodeJS.ErrnoException, st.timedOut);
    onFailure?.(kind);
    if (ctx.upgradeHead !== undefined) {
      if (!res.headersSent) sendStatus(res, STATUS[kind]);
      else req.socket.destroy();
      return;
    }
    sendStatus(res, STATUS[kind]);
  };
  const body = (req as WithState).berthBody;
  const opts = {
    target: upstream.target,
    agent,
    changeOrigin: !passHostHeader,
    connectTimeout: transport.options.dialTimeoutMs,
    secure: !transport.options.insecureSkipVerify,
    ...(body ? { buffer: body } : {}),
  };
  if (ctx.upgradeHead !== undefined) {
    proxy.ws(req, req.socket as Socket, ctx.upgradeHead, opts, onError);
  } else {
    proxy.web(req, res, opts, onError);
  }
}
