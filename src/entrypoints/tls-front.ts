import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2Session,
  type ServerHttp2Stream,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { serveStream } from '../engine/h2-adapter.ts';
import { ClientHelloReader } from '../tcp/client-hello.ts';
import { readPrefix } from '../tcp/read-prefix.ts';
import type { H1Server } from '../engine/h1-server.ts';
import type { RequestHandler } from '../engine/request-handler.ts';
import { ACME_TLS_ALPN, type TlsServerOptions } from '../tls/options.ts';

/** What the TLS side of an entrypoint needs. */
export interface TlsFrontOptions {
  /** TLS server options (SNI callback, versions, ALPN, session ticket keys). */
  readonly tls: TlsServerOptions & { readonly ticketKeys?: Buffer };
  readonly handshakeTimeoutMs: number;
  readonly maxConcurrentStreams: number;
  readonly maxHeaderCount: number;
  readonly idleTimeoutMs: number;
  /** HTTP/1.1 after the handshake (ALPN `http/1.1`, or none). */
  readonly h1: H1Server;
  /** The handler HTTP/2 streams go to (the same request path as HTTP/1.1). */
  readonly h2Handler: RequestHandler;
}

/**
 * Terminates TLS for an entrypoint (node:tls, the certificate store's SNI callback) and hands each
 * connection on by ALPN: `h2` to node:http2 (whose streams reach berth's handler through the
 * HTTP/2 adapter), `http/1.1` or nothing to berth's HTTP/1.1 engine. Neither server listens: the
 * entrypoint's listener passes connections in.
 *
 * A ClientHello with SNI goes to a TLS server whose own context holds no certificate: node:tls
 * adds the SNI context's certificate beside the listener's instead of replacing it, and a TLS 1.2
 * client could then be served the default RSA certificate for a name whose certificate is ECDSA.
 * Only hellos without SNI (or that cannot be read) go to the server holding the default one.
 */
export class TlsFront {
  private readonly tls: TlsServer;
  /** The server for hellos with SNI (the same as `tls` under sniStrict, where neither has a certificate). */
  private readonly named: TlsServer;
  private h2: Http2Server | undefined;
  private readonly opts: TlsFrontOptions;
  /** The TLS socket of each HTTP/2 session (the session's own `socket` is a guarded proxy). */
  private readonly sessions = new WeakMap<Http2Session, TLSSocket>();
  private pending: TLSSocket | undefined;
  /** The default certificate `tls` serves to hellos without SNI. */
  private served: { key: string | Buffer | undefined; cert: string | Buffer | undefined };

  constructor(opts: TlsFrontOptions) {
    this.opts = opts;
    this.tls = this.server(opts.tls);
    const { key, cert, currentDefault: _current, ...withoutCertificate } = opts.tls;
    this.served = { key, cert };
    this.named = cert === undefined ? this.tls : this.server(withoutCertificate);
    // One set of ticket keys: a session begun on either server resumes on the other.
    if (this.named !== this.tls && opts.tls.ticketKeys === undefined)
      this.named.setTicketKeys(this.tls.getTicketKeys());
  }

  private server(options: TlsFrontOptions['tls']): TlsServer {
    const server = createTlsServer({ ...options, handshakeTimeout: this.opts.handshakeTimeoutMs });
    server.on('secureConnection', (s: TLSSocket) => this.secure(s));
    // Handshake failures (including the handshake timeout) are the client's problem, but the raw
    // connection must go with them: a TLSSocket over a socket with peeked bytes runs on a stream
    // wrapper, and destroying it alone can leave the accepted socket open.
    server.on('tlsClientError', (_err: Error, tlsSocket: TLSSocket) => {
      tlsSocket.destroy();
      (tlsSocket as TLSSocket & { _parent?: Socket | null })._parent?.destroy();
    });
    return server;
  }

  /** Starts TLS on an accepted connection (its ClientHello may already be buffered on it). */
  accept(socket: Socket): void {
    if (this.named === this.tls) {
      this.tls.emit('connection', socket);
      return;
    }
    readServerName(socket, this.opts.handshakeTimeoutMs, (sni) => {
      if (sni) {
        this.named.emit('connection', socket);
        return;
      }
      this.followDefault();
      this.tls.emit('connection', socket);
    });
  }

  /** Gives the no-SNI server the store's default certificate when a reload has changed it. */
  private followDefault(): void {
    const now = this.opts.tls.currentDefault?.();
    if (!now || (now.key === this.served.key && now.cert === this.served.cert)) return;
    // A new context would start with new ticket keys: keep the ones both servers share.
    const keys = this.tls.getTicketKeys();
    this.tls.setSecureContext({ ...this.opts.tls, key: now.key, cert: now.cert });
    this.tls.setTicketKeys(keys);
    this.served = now;
  }

  setTicketKeys(keys: Buffer): void {
    this.tls.setTicketKeys(keys);
    if (this.named !== this.tls) this.named.setTicketKeys(keys);
  }

  /** Sends GOAWAY to every HTTP/2 session (their streams in flight finish). */
  drain(): void {
    this.h2?.close();
  }

  private secure(s: TLSSocket): void {
    const verify = this.opts.tls.verifyHandshake;
    if (verify && !verify(s)) {
      s.destroy();
      return;
    }
    const alpn = s.alpnProtocol;
    if (alpn === 'h2') {
      this.pending = s;
      this.http2().emit('connection', s);
      this.pending = undefined;
      return;
    }
    // A TLS-ALPN-01 validation is answered by the handshake itself.
    if (alpn === ACME_TLS_ALPN) {
      s.end();
      return;
    }
    this.opts.h1.accept(s);
  }

  private http2(): Http2Server {
    if (this.h2 !== undefined) return this.h2;
    const o = this.opts;
    const server = createHttp2Server({
      settings: { maxConcurrentStreams: o.maxConcurrentStreams },
      maxHeaderListPairs: o.maxHeaderCount,
      maxSessionMemory: 10,
    });
    server.setTimeout(o.idleTimeoutMs);
    server.on('session', (session: Http2Session) => {
      if (this.pending !== undefined) this.sessions.set(session, this.pending);
    });
    server.on('sessionError', () => {
      /* per-session, already torn down */
    });
    server.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        const socket = this.sessions.get(stream.session!);
        if (socket === undefined) {
          stream.close();
          return;
        }
        serveStream(stream, headers, rawHeaders, socket, o.h2Handler);
      },
    );
    this.h2 = server;
    return server;
  }
}

/**
 * Reads the ClientHello buffered on (or arriving at) `socket`, puts its bytes back and calls `done`
 * with its SNI ('' when absent or when the bytes are not a ClientHello: the TLS server judges them).
 * A client that leaves or stays silent past `timeoutMs` is closed.
 */
function readServerName(socket: Socket, timeoutMs: number, done: (sni: string) => void): void {
  const reader = new ClientHelloReader();
  const chunks: Buffer[] = [];
  readPrefix(socket, timeoutMs, (chunk) => {
    chunks.push(chunk);
    const res = reader.push(chunk);
    if (res.status === 'need-more') return undefined;
    return () => {
      socket.unshift(Buffer.concat(chunks));
      done(res.status === 'done' ? res.hello.sni : '');
    };
  });
}
