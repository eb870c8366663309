import { createServer as createHttpServer, ServerResponse, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createSecureServer, type Http2SecureServer, type SecureServerOptions } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EntryPointConfig } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import { dispatchConnection, type DispatchLimits, type HttpHandoff } from '../tcp/dispatch.ts';
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
  private draining = false;
  private readonly handoff: HttpHandoff = {
    http: (s) => this.httpServer.emit('connection', s),
    https: (s) => this.tls(s),
  };
  private readonly limitsWithHttps: EntrypointLimits;
  private readonly headersMs: number;
  private readonly readMs: number;

  constructor(name: string, config: EntryPointConfig, deps: EntrypointDeps) {
    this.name = name;
    this.config = config;
    this.deps = deps;
    this.limitsWithHttps = { ...deps.limits, httpsRouters: true };
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
    this.net = createNetServer({ pauseOnConnect: false, noDelay: true, keepAlive: true, allowHalfOpen: true }, (socket) => this.onConnection(socket));
    if ((deps.limits.maxConnections ?? 0) > 0) this.net.maxConnections = deps.limits.maxConnections!;
    this.net.on('error', (err) => deps.logger.error({ err, entrypoint: name }, 'listener error'));
  }

  /** Starts listening on the configured address, or adopts an inherited socket (`{ fd }`). */
  async listen(handle?: { fd: number }): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new BerthError(ErrorCodes.LISTEN, `entrypoint ${this.name}: cannot listen on ${this.config.address}: ${err.message}`, { cause: err }));
      this.net.once('error', onError);
      const done = (): void => { this.net.off('error', onError); resolve(); };
      if (handle) this.net.listen(handle, done);
      else this.net.listen({ port: this.config.port, host: this.config.host || undefined, ipv6Only: false, reusePort: this.config.reusePort === true }, done);
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

  private onConnection(socket: Socket): void {
    if (this.draining) { socket.destroy(); return; }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => { /* reset by peer: nothing to do */ });
    const snap = this.deps.holder.current();
    const tcp = snap.tcp.get(this.name);
    const limits = tcp !== undefined && (snap.http.get(this.name)?.tls.size ?? 0) > 0 ? this.limitsWithHttps : this.deps.limits;
    dispatchConnection(socket, tcp, this.handoff, limits);
  }

  private tls(socket: Socket): void {
    if (!this.deps.tlsOptions) { socket.destroy(); return; }
    if (!this.tlsServer) {
      const server = createSecureServer({
        ...this.deps.tlsOptions(),
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
      owed.set(s, (owed.get(s) ?? 0) + 1);
      latest.set(s, { req, res });
      res.once('close', () => {
        const n = (owed.get(s) ?? 1) - 1;
        owed.set(s, n);
        if (n === 0) afterOwed.get(s)?.();
      });
      // While draining, every answer ends its connection cleanly, so keep-alive clients move to the
      // successor without a request lost on a connection closed under them.
      if (this.draining && req.httpVersionMajor === 1) res.setHeader('connection', 'close');
      handle(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
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

  /** Stops accepting; idle keep-alive connections close now, busy ones when done or at the deadline. */
  async close(graceMs: number): Promise<void> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    // Busy connections close after their current answer (Connection: close). Idle keep-alive ones
    // are closed after a short settle time, not at once: a client may be sending on one right now.
    const settle = setTimeout(() => this.httpServer.closeIdleConnections(), Math.min(1000, graceMs / 2));
    settle.unref();
    this.tlsServer?.close();
    const deadline = setTimeout(() => { for (const s of this.sockets) s.destroy(); }, graceMs);
    deadline.unref();
    const drained = new Promise<void>((resolve) => {
      const check = (): void => { if (this.sockets.size === 0) resolve(); else setTimeout(check, 20).unref(); };
      check();
    });
    await Promise.all([closed, drained]);
    clearTimeout(deadline);
    clearTimeout(settle);
    this.httpServer.close();
  }
}

/** How often Node sweeps connections for header/request timeouts: a fraction of the shortest one. */
function checkingInterval(headersMs: number): number {
  return Math.max(250, Math.min(1000, Math.floor(headersMs / 4)));
}
