import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createSecureServer, type Http2SecureServer, type SecureServerOptions } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { EntryPointConfig } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import { dispatchConnection, type DispatchLimits, type HttpHandoff } from '../tcp/dispatch.ts';
import { inboundProxyProtocol, type InboundProxyProtocol } from '../tcp/inbound-proxy-protocol.ts';
import { createRequestHandler, type RequestHooks } from './request-handler.ts';

/** Limits of an HTTP-capable entrypoint. */
export interface EntrypointLimits extends DispatchLimits {
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
  readonly handshakeTimeoutMs: number;
  readonly http2MaxConcurrentStreams: number;
  /** Time for a client to send complete request headers (slowloris); default 30 s, never above readTimeout. */
  readonly headersTimeoutMs?: number;
  /** Open connections on this entrypoint; 0 or absent = unlimited. */
  readonly maxConnections?: number;
}

/** What an entrypoint needs from the rest of berth. */
export interface EntrypointDeps {
  readonly holder: SnapshotHolder;
  /** TLS server options (SNI callback, versions, ALPN); undefined when TLS is not available. */
  readonly tlsOptions?: () => SecureServerOptions;
  readonly hooks: RequestHooks;
  readonly limits: EntrypointLimits;
  readonly logger: Logger;
}

/**
 * A TCP entrypoint: one listening socket that carries plain HTTP/1.1, TLS (HTTPS with h2 via
 * ALPN) and raw TCP routes, told apart per connection by `dispatchConnection`. The HTTP servers
 * never listen themselves; they receive connections from here.
 */
export class TcpEntrypoint {
  readonly name: string;
  readonly config: EntryPointConfig;
  private readonly deps: EntrypointDeps;
  private readonly net: NetServer;
  private readonly httpServer: HttpServer;
  private tlsServer: Http2SecureServer | undefined;
  private readonly sockets = new Set<Socket>();
  /** HTTP/1 connections (plain and over TLS) and the answers each still owes, for the drain. */
  private readonly h1 = new Map<Socket, H1Connection>();
  /** Connections closed by a lingering close: they read and discard until the client closes. */
  private readonly lingering = new WeakSet<object>();
  private draining = false;
  private drainStartedAt = 0;
  private settleMs = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly handoff: HttpHandoff = {
    http: (s) => { this.trackH1(s); this.httpServer.emit('connection', s); },
    https: (s) => this.tls(s),
  };
  private readonly limitsWithHttps: EntrypointLimits;
  /** `proxyProtocol`: read before anything else on a connection. */
  private readonly inbound: InboundProxyProtocol | undefined;
  private readonly headersMs: number;
  private readonly readMs: number;

  constructor(name: string, config: EntryPointConfig, deps: EntrypointDeps) {
    this.name = name;
    this.config = config;
    this.deps = deps;
    this.limitsWithHttps = { ...deps.limits, httpsRouters: true };
    this.inbound = inboundProxyProtocol(config.proxyProtocol, { timeoutMs: deps.limits.peekTimeoutMs, logger: deps.logger });
    const timeouts = config.transport?.respondingTimeouts;
    const readMs = durationOr(timeouts?.readTimeout, 60_000);
    this.headersMs = Math.min(readMs > 0 ? readMs : Infinity, deps.limits.headersTimeoutMs ?? 30_000);
    this.readMs = readMs;
    this.httpServer = createHttpServer({
      maxHeaderSize: deps.limits.maxHeaderBytes,
      requestTimeout: readMs,
      headersTimeout: this.headersMs,
      // Node checks both timeouts on this interval (default 30 s): a slowloris must not get 30 s more.
      connectionsCheckingInterval: checkingInterval(this.headersMs),
      keepAliveTimeout: durationOr(timeouts?.idleTimeout, 180_000),
      requireHostHeader: true,
      joinDuplicateHeaders: false,
    });
    // Count headers ourselves (431) instead of letting Node silently drop those past 2000.
    this.httpServer.maxHeadersCount = 0;
    // The HTTP server never listens itself (connections are handed over), and Node only starts
    // enforcing headersTimeout/requestTimeout on 'listening': without this a slowloris is never cut.
    this.httpServer.emit('listening');
    this.wire(this.httpServer, 'http');
    this.net = this.createListener();
  }

  private createListener(): NetServer {
    const server = createNetServer({ pauseOnConnect: false, noDelay: true, keepAlive: true, allowHalfOpen: true }, (socket) => this.onConnection(socket));
    if ((this.deps.limits.maxConnections ?? 0) > 0) server.maxConnections = this.deps.limits.maxConnections!;
    server.on('error', (err) => this.deps.logger.error({ err, entrypoint: this.name }, 'listener error'));
    return server;
  }

  /**
   * Also accepts on another inherited socket (a worker that serves more than one of the sockets a
   * previous berth passed on). `maxConnections` then applies per socket.
   */
  async listenAlso(handle: { fd: number }): Promise<void> {
    const server = this.createListener();
    await this.listenOn(server, handle);
    this.more.push(server);
  }

  private readonly more: NetServer[] = [];

  /** Starts listening on the configured address, or adopts an inherited socket (`{ fd }`). */
  async listen(handle?: { fd: number }): Promise<void> {
    await this.listenOn(this.net, handle);
  }

  private listenOn(server: NetServer, handle: { fd: number } | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new BerthError(ErrorCodes.LISTEN, `entrypoint ${this.name}: cannot listen on ${this.config.address}: ${err.message}`, { cause: err }));
      server.once('error', onError);
      const done = (): void => { server.off('error', onError); resolve(); };
      if (handle) server.listen(handle, done);
      else server.listen({ port: this.config.port, host: this.config.host || undefined, ipv6Only: false, reusePort: this.config.reusePort === true }, done);
    });
  }

  /** The bound address (port 0 resolved). */
  address(): { address: string; port: number } {
    const a = this.net.address();
    if (a && typeof a === 'object') return { address: a.address, port: a.port };
    return { address: this.config.host, port: this.config.port };
  }

  /** The listening socket, for hand-over to a new process. */
  listener(): NetServer {
    return this.net;
  }

  /** Descriptors of every listening socket of this entrypoint, for hand-over to a new process. */
  listenerFds(): number[] {
    return [this.net, ...this.more].map(listenerFd).filter((fd): fd is number => fd !== undefined);
  }

  private onConnection(socket: Socket): void {
    if (this.draining) { socket.destroy(); return; }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => { /* reset by peer: nothing to do */ });
    if (this.inbound !== undefined) this.inbound.accept(socket, this.dispatch);
    else this.dispatch(socket);
  }

  private readonly dispatch = (socket: Socket): void => {
    const snap = this.deps.holder.current();
    const tcp = snap.tcp.get(this.name);
    const limits = tcp !== undefined && (snap.http.get(this.name)?.tls.size ?? 0) > 0 ? this.limitsWithHttps : this.deps.limits;
    dispatchConnection(socket, tcp, this.handoff, limits);
  };

  /** Replaces the TLS session ticket keys (48 bytes) of this entrypoint's TLS server, if it runs. */
  setTicketKeys(keys: Buffer): void {
    this.tlsServer?.setTicketKeys(keys);
  }

  private tls(socket: Socket): void {
    if (!this.deps.tlsOptions) { socket.destroy(); return; }
    if (!this.tlsServer) {
      const tlsOptions = this.deps.tlsOptions();
      const server = createSecureServer({
        ...tlsOptions,
        allowHTTP1: true,
        handshakeTimeout: this.deps.limits.handshakeTimeoutMs,
        maxSessionMemory: 10,
        settings: { maxConcurrentStreams: this.config.http2?.maxConcurrentStreams ?? this.deps.limits.http2MaxConcurrentStreams },
        maxHeaderListPairs: this.deps.limits.maxHeaderCount,
      } as SecureServerOptions);
      server.setTimeout(durationOr(this.config.transport?.respondingTimeouts?.idleTimeout, 180_000));
      // HTTP/1 over TLS: the same slowloris bounds as plain HTTP (see the constructor).
      const h1 = server as unknown as { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
      h1.headersTimeout = this.headersMs;
      h1.requestTimeout = this.readMs;
      h1.connectionsCheckingInterval = checkingInterval(this.headersMs);
      server.emit('listening');
      this.wire(server as unknown as HttpServer, 'https');
      // Handshake failures (including the handshake timeout) are the client's problem, but the raw
      // connection must go with them: a TLSSocket over a socket with peeked bytes runs on a stream
      // wrapper, and destroying it alone can leave the accepted socket open.
      server.on('tlsClientError', (_err: Error, tlsSocket: Socket) => {
        tlsSocket.destroy();
        (tlsSocket as unknown as { _parent?: Socket })._parent?.destroy();
      });
      server.on('sessionError', () => { /* per-session, already torn down */ });
      const verify = (tlsOptions as { verifyHandshake?: (s: TLSSocket) => boolean }).verifyHandshake;
      if (verify) server.on('secureConnection', (s: TLSSocket) => { if (!verify(s)) s.destroy(); });
      this.tlsServer = server;
    }
    this.tlsServer.emit('connection', socket);
  }

  private wire(server: HttpServer, scheme: 'http' | 'https'): void {
    const handle = createRequestHandler(this.name, this.config, scheme, this.deps.holder, this.deps.hooks, { maxHeaderCount: this.deps.limits.maxHeaderCount });
    // Responses still owed on each HTTP/1 connection: a parse error on a pipelined request must be
    // answered after them, never before (the client would pair the 400 with an earlier request).
    const owed = new WeakMap<object, number>();
    const afterOwed = new WeakMap<object, () => void>();
    const latest = new WeakMap<object, { req: IncomingMessage; res: ServerResponse }>();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const s = req.socket;
      if (this.lingering.has(s)) {
        // A request that crossed our FIN: it is not processed (RFC 9112 §9.6); the client sees the
        // connection close before any answer and may retry it. Its bytes are read and dropped.
        req.resume();
        return;
      }
      owed.set(s, (owed.get(s) ?? 0) + 1);
      latest.set(s, { req, res });
      const conn = req.httpVersionMajor === 1 ? this.trackH1(s) : undefined;
      conn?.answers.add(res);
      res.once('close', () => {
        const n = (owed.get(s) ?? 1) - 1;
        owed.set(s, n);
        if (n === 0) afterOwed.get(s)?.();
        if (conn) { conn.answers.delete(res); if (conn.answers.size === 0) { conn.idleSince = Date.now(); conn.idleBytes = s.bytesRead; } }
      });
      // While draining, every answer ends its connection (Connection: close, then a lingering
      // close), so keep-alive clients move to the successor without a request lost.
      if (this.draining && conn) closeAfter(res);
      handle(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (this.lingering.has(socket)) { socket.resume(); return; }
      this.h1.delete(socket as Socket);
      const res = new ServerResponse(req);
      res.assignSocket(socket as Socket);
      res.once('finish', () => { res.detachSocket(socket as Socket); socket.end(); });
      socket.on('error', () => socket.destroy());
      const token = String(req.headers.upgrade ?? '').toLowerCase();
      if (token !== 'websocket') {
        // `Upgrade: h2c` and other tokens are never forwarded: serve it as a plain request.
        delete req.headers.upgrade;
        handle(req, res);
        return;
      }
      handle(req, res, head);
    });
    server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (!socket.writable) { socket.destroy(); return; }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
      const answer = (): void => { if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`); else socket.destroy(); };
      const n = owed.get(socket) ?? 0;
      const last = latest.get(socket);
      if (n > 0 && last !== undefined && !last.req.complete) {
        // The error is in the body of the request being forwarded: it can no longer complete.
        if (n === 1 && !last.res.headersSent) answer(); else socket.destroy();
        return;
      }
      if (n > 0) { afterOwed.set(socket, answer); return; }
      answer();
    });
  }

  /** Starts tracking an HTTP/1 connection for the drain (idempotent). */
  private trackH1(socket: Socket): H1Connection {
    let conn = this.h1.get(socket);
    if (conn) return conn;
    // Handed over with the first request's bytes already read: not idle until that one is answered.
    conn = { answers: new Set(), idleSince: Date.now(), idleBytes: -1 };
    this.h1.set(socket, conn);
    socket.once('close', () => this.h1.delete(socket));
    if (this.draining) this.lingerOnClose(socket);
    return conn;
  }

  /**
   * Node ends a connection after a `Connection: close` answer with `destroySoon()`: while
   * draining that becomes a lingering close, so a request the client sent before it saw the close
   * never turns the close into a reset.
   */
  private lingerOnClose(socket: Socket): void {
    socket.destroySoon = () => this.linger(socket);
  }

  /**
   * Closes an HTTP/1 connection the way RFC 9112 §9.6 asks: FIN after the last answer, then keep
   * reading (and discarding) until the client closes too, or at most LINGER_MS. Closing at once
   * with unread request bytes would make the kernel send a reset, which the client reports as an
   * error instead of a closed connection it can retry on.
   */
  private linger(socket: Duplex): void {
    if (this.lingering.has(socket) || socket.destroyed) return;
    this.lingering.add(socket);
    socket.once('end', () => socket.destroy());
    socket.on('error', () => socket.destroy());
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.end();
    // Upgraded or parser-less sockets have no reader left: read and drop.
    if (socket.listenerCount('data') === 0) socket.resume();
  }

  /**
   * While draining: closes the HTTP/1 connections that owe nothing and have been quiet for the
   * settle time since the drain began (or since their last answer). A client that sends its next
   * request within the settle time gets it answered with `Connection: close`; the rest get a
   * lingering close. Bytes of a request that has begun arriving keep a connection open.
   */
  private sweepIdle(): void {
    const now = Date.now();
    for (const [socket, conn] of this.h1) {
      if (conn.answers.size > 0 || conn.idleBytes < 0 || this.lingering.has(socket)) continue;
      if (socket.bytesRead !== conn.idleBytes) continue; // the next request is arriving
      if (now - Math.max(conn.idleSince, this.drainStartedAt) < this.settleMs) continue;
      this.linger(socket);
    }
  }

  /**
   * Stops accepting and drains: answers still owed (and any that arrive meanwhile) end their
   * connection with `Connection: close`; quiet keep-alive connections are closed after a short
   * settle time; whatever is still open at `graceMs` (WebSockets, TCP tunnels, slow answers) is cut.
   */
  async close(graceMs: number): Promise<void> {
    this.draining = true;
    this.drainStartedAt = Date.now();
    this.settleMs = Math.min(SETTLE_MS, graceMs / 2);
    const closed = Promise.all([this.net, ...this.more].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const [socket, conn] of this.h1) {
      this.lingerOnClose(socket);
      for (const res of conn.answers) closeAfter(res);
    }
    this.sweeper = setInterval(() => this.sweepIdle(), SWEEP_MS);
    this.sweeper.unref();
    this.tlsServer?.close();
    const deadline = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, graceMs);
    deadline.unref();
    const drained = new Promise<void>((resolve) => {
      const check = (): void => { if (this.sockets.size === 0) resolve(); else setTimeout(check, 20).unref(); };
      check();
    });
    await Promise.all([closed, drained]);
    clearTimeout(deadline);
    clearInterval(this.sweeper);
    this.httpServer.close();
  }
}

/** One HTTP/1 connection as the drain sees it. */
interface H1Connection {
  /** Answers not finished yet (pipelined requests owe several). */
  readonly answers: Set<ServerResponse>;
  /** When the last answer finished (or tracking began). */
  idleSince: number;
  /** `bytesRead` when the last answer finished; -1 while the first request is still owed. */
  idleBytes: number;
}

/** How long a draining entrypoint lets quiet keep-alive clients send one more request (ms). */
const SETTLE_MS = 1000;
/** How often the drain looks for quiet connections (ms). */
const SWEEP_MS = 50;
/** Longest wait for the client's FIN after a lingering close (ms). */
const LINGER_MS = 2000;

/** Makes an answer end its HTTP/1 connection, if its head is not sent yet. */
function closeAfter(res: ServerResponse): void {
  if (res.headersSent) return;
  // The forwarder derives the Connection header from shouldKeepAlive; Node then ends the
  // connection after the answer (destroySoon, which the drain turns into a lingering close).
  res.shouldKeepAlive = false;
  res.setHeader('connection', 'close');
}

/** The descriptor of a listening net.Server (libuv keeps it on the handle on Unix). */
function listenerFd(server: NetServer): number | undefined {
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** How often Node sweeps connections for header/request timeouts: a fraction of the shortest one. */
function checkingInterval(headersMs: number): number {
  return Math.max(250, Math.min(1000, Math.floor(headersMs / 4)));
}
