import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { EntryPointConfig } from '../config/static/types.ts';
import type { H1Options } from '../engine/h1-options.ts';
import { H1Server } from '../engine/h1-server.ts';
import { durationOr } from '../lib/duration.ts';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { SnapshotHolder } from '../pipeline/snapshot-holder.ts';
import { dispatchConnection, type DispatchLimits, type HttpHandoff } from '../tcp/dispatch.ts';
import { inboundProxyProtocol, type InboundProxyProtocol } from '../tcp/inbound-proxy-protocol.ts';
import type { TlsServerOptions } from '../tls/options.ts';
import { createRequestHandler, type RequestHooks } from './request-handler.ts';
import { TlsFront } from './tls-front.ts';

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
  /** TLS server options (SNI callback, versions, ALPN, ticket keys); undefined when TLS is not available. */
  readonly tlsOptions?: () => TlsServerOptions & { readonly ticketKeys?: Buffer };
  readonly hooks: RequestHooks;
  readonly limits: EntrypointLimits;
  readonly logger: Logger;
}

/** How long a draining entrypoint lets quiet keep-alive clients send one more request (ms). */
const SETTLE_MS = 1000;

/**
 * A TCP entrypoint: one listening socket that carries plain HTTP/1.1, TLS (HTTPS, with h2 by
 * ALPN) and raw TCP routes, told apart per connection by `dispatchConnection`. HTTP/1.1 runs on
 * berth's own engine (`H1Server`), plain or after TLS; HTTP/2 on node:http2 behind the same
 * request handler.
 */
export class TcpEntrypoint {
  readonly name: string;
  readonly config: EntryPointConfig;
  private readonly deps: EntrypointDeps;
  private readonly net: NetServer;
  private readonly more: NetServer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly h1: H1Server;
  private readonly h1Options: H1Options;
  private h1Tls: H1Server | undefined;
  private tlsFront: TlsFront | undefined;
  private ticketKeys: Buffer | undefined;
  private draining = false;
  private readonly handoff: HttpHandoff = {
    http: (s) => this.h1.accept(s),
    https: (s) => this.tls(s),
  };
  private readonly limitsWithHttps: EntrypointLimits;
  /** `proxyProtocol`: read before anything else on a connection. */
  private readonly inbound: InboundProxyProtocol | undefined;

  constructor(name: string, config: EntryPointConfig, deps: EntrypointDeps) {
    this.name = name;
    this.config = config;
    this.deps = deps;
    this.limitsWithHttps = { ...deps.limits, httpsRouters: true };
    this.inbound = inboundProxyProtocol(config.proxyProtocol, {
      timeoutMs: deps.limits.peekTimeoutMs,
      logger: deps.logger,
    });
    const timeouts = config.transport?.respondingTimeouts;
    const readMs = durationOr(timeouts?.readTimeout, 60_000);
    this.h1Options = {
      maxHeaderBytes: deps.limits.maxHeaderBytes,
      maxHeaderCount: deps.limits.maxHeaderCount,
      headersTimeoutMs: Math.min(readMs > 0 ? readMs : Infinity, deps.limits.headersTimeoutMs ?? 30_000),
      requestTimeoutMs: readMs,
      idleTimeoutMs: durationOr(timeouts?.idleTimeout, 180_000),
    };
    this.h1 = new H1Server(this.h1Options, this.handler('http'));
    this.net = this.createListener();
  }

  private handler(scheme: 'http' | 'https'): ReturnType<typeof createRequestHandler> {
    return createRequestHandler(this.name, this.config, scheme, this.deps.holder, this.deps.hooks, {
      maxHeaderCount: this.deps.limits.maxHeaderCount,
    });
  }

  private createListener(): NetServer {
    const server = createNetServer(
      { pauseOnConnect: false, noDelay: true, keepAlive: true, allowHalfOpen: true },
      (socket) => this.onConnection(socket),
    );
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

  /** Starts listening on the configured address, or adopts an inherited socket (`{ fd }`). */
  async listen(handle?: { fd: number }): Promise<void> {
    await this.listenOn(this.net, handle);
  }

  private listenOn(server: NetServer, handle: { fd: number } | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(
          new BerthError(
            ErrorCodes.LISTEN,
            `entrypoint ${this.name}: cannot listen on ${this.config.address}: ${err.message}`,
            { cause: err },
          ),
        );
      server.once('error', onError);
      const done = (): void => {
        server.off('error', onError);
        resolve();
      };
      if (handle) server.listen(handle, done);
      else
        server.listen(
          {
            port: this.config.port,
            host: this.config.host || undefined,
            ipv6Only: false,
            reusePort: this.config.reusePort === true,
          },
          done,
        );
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
    if (this.draining) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => {
      /* reset by peer: nothing to do */
    });
    if (this.inbound !== undefined) this.inbound.accept(socket, this.dispatch);
    else this.dispatch(socket);
  }

  private readonly dispatch = (socket: Socket): void => {
    const snap = this.deps.holder.current();
    const tcp = snap.tcp.get(this.name);
    const limits =
      tcp !== undefined && (snap.http.get(this.name)?.tls.size ?? 0) > 0 ? this.limitsWithHttps : this.deps.limits;
    dispatchConnection(socket, tcp, this.handoff, limits);
  };

  /** Replaces the TLS session ticket keys (48 bytes) of this entrypoint's TLS server, if it runs. */
  setTicketKeys(keys: Buffer): void {
    this.ticketKeys = keys;
    this.tlsFront?.setTicketKeys(keys);
  }

  private tls(socket: Socket): void {
    const tlsOptions = this.deps.tlsOptions;
    if (!tlsOptions) {
      socket.destroy();
      return;
    }
    if (!this.tlsFront) {
      this.h1Tls = new H1Server(this.h1Options, this.handler('https'));
      if (this.draining) this.h1Tls.drain(0);
      this.tlsFront = new TlsFront({
        tls: tlsOptions(),
        handshakeTimeoutMs: this.deps.limits.handshakeTimeoutMs,
        maxConcurrentStreams: this.config.http2?.maxConcurrentStreams ?? this.deps.limits.http2MaxConcurrentStreams,
        maxHeaderCount: this.deps.limits.maxHeaderCount,
        idleTimeoutMs: this.h1Options.idleTimeoutMs,
        h1: this.h1Tls,
        h2Handler: this.handler('https'),
      });
      if (this.ticketKeys !== undefined) this.tlsFront.setTicketKeys(this.ticketKeys);
    }
    this.tlsFront.accept(socket);
  }

  /**
   * Stops accepting and drains: answers still owed (and any that arrive meanwhile) end their
   * connection with `Connection: close`; quiet keep-alive connections are closed after a short
   * settle time; HTTP/2 sessions get GOAWAY; whatever is still open at `graceMs` (WebSockets, TCP
   * tunnels, slow answers) is cut.
   */
  async close(graceMs: number): Promise<void> {
    this.draining = true;
    const settle = Math.min(SETTLE_MS, graceMs / 2);
    const closed = Promise.all(
      [this.net, ...this.more].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    this.h1.drain(settle);
    this.h1Tls?.drain(settle);
    this.tlsFront?.drain();
    const deadline = setTimeout(() => {
      this.h1.destroyAll();
      this.h1Tls?.destroyAll();
      for (const s of this.sockets) s.destroy();
    }, graceMs);
    deadline.unref();
    const drained = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.sockets.size === 0) resolve();
        else setTimeout(check, 20).unref();
      };
      check();
    });
    await Promise.all([closed, drained]);
    clearTimeout(deadline);
  }
}

/** The descriptor of a listening net.Server (libuv keeps it on the handle on Unix). */
function listenerFd(server: NetServer): number | undefined {
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}
