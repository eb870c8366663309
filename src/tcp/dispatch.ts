import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from '../lib/logger.ts';
import type { BerthError } from '../lib/errors.ts';
import { normalizeIp } from '../lib/ip.ts';
import type { TcpConnectionView } from '../rules/types.ts';
import { clientCertificateAccepted } from '../tls/options.ts';
import type { TlsContextSource } from '../tls/types.ts';
import { admitConnection } from './admission.ts';
import { ClientHelloReader, type ClientHello } from './client-hello.ts';
import { clientAddressOf } from './client-address.ts';
import { readPrefix } from './read-prefix.ts';
import { forwardToService, type RelayOptions } from './relay.ts';
import { findPlainRouter, findTlsRouter, type CompiledTcpRouter, type TcpEntrypointRouting } from './routing.ts';

/** Where a connection goes when no TCP router takes it: the entrypoint's HTTP or HTTPS server. */
export interface HttpHandoff {
  /** Plain HTTP/1.1 on this socket. */
  http(socket: Socket): void;
  /** TLS (HTTPS, h2 via ALPN) on this socket. */
  https(socket: Socket): void;
  /**
   * Whether an HTTPS router of this entrypoint names this SNI host. When it does, that router wins
   * over a TLS `HostSNI(\`*\`)` TCP router (as in Traefik); TCP routers with a literal SNI always win.
   */
  hasHttpsRoute?(sni: string): boolean;
}

/** Per-connection limits of the dispatcher. */
export interface DispatchLimits {
  /** How long to wait for the client's first bytes / whole ClientHello / TLS handshake (ms). */
  readonly peekTimeoutMs: number;
  /** Largest ClientHello accepted (bytes). */
  readonly maxHelloBytes: number;
  /**
   * Whether the entrypoint also has HTTPS (TLS HTTP) routers. Without them, an entrypoint whose
   * TCP routers are all plain forwards a matching connection at once, without waiting for client
   * bytes, so server-first protocols (MySQL, SMTP) work. Default false.
   */
  readonly httpsRouters?: boolean;
  /** Close a relayed connection after this long without traffic (ms); 0 or absent = never. */
  readonly idleTimeoutMs?: number;
  /** Where upstream failures are logged (debug level). */
  readonly logger?: Logger;
}

const NO_ALPN: readonly string[] = [];

/**
 * Routes one accepted connection of a TCP entrypoint:
 * - only plain TCP routers (and no HTTPS routers): forward at once, no peeking;
 * - otherwise peek: a TLS ClientHello is parsed (however fragmented) and matched against TLS TCP
 *   routers (passthrough: raw bytes, peeked ones included, unchanged; terminate: TLS ends here and
 *   plaintext goes upstream), unmatched TLS goes to `handoff.https`; non-TLS goes to a plain TCP
 *   router or `handoff.http`. Peeked bytes are put back on the socket (`unshift`) first.
 * A hello that cannot be parsed, or a client silent past `peekTimeoutMs`, is closed. The chosen
 * TCP router's middlewares run before its upstream is dialled or TLS is terminated; rules and
 * middlewares see the connection's client address (`clientAddressOf`: PROXY protocol aware).
 *
 * `r` is the entrypoint's `TcpEntrypointRouting` (from `buildTcpRouting`) or undefined when
 * it has no TCP routers. The listener should be created with `allowHalfOpen: true`.
 */
export function dispatchConnection(
  socket: Socket,
  r: TcpEntrypointRouting | undefined,
  handoff: HttpHandoff,
  limits: DispatchLimits,
): void {
  if (r !== undefined && r.plain.length > 0 && !r.hasTlsRouters && limits.httpsRouters !== true) {
    const router = findPlainRouter(r, { sni: '', alpn: NO_ALPN, clientIp: clientIpOf(socket), tls: false });
    if (router) {
      if (admitted(socket, r, router)) forward(socket, socket, router, limits);
      return;
    }
  }
  peek(socket, r, handoff, limits);
}

function peek(socket: Socket, r: TcpEntrypointRouting | undefined, handoff: HttpHandoff, limits: DispatchLimits): void {
  let reader: ClientHelloReader | undefined;
  readPrefix(socket, limits.peekTimeoutMs, (chunk) => {
    if (reader === undefined) {
      if (chunk[0] !== 0x16) {
        return () => {
          socket.unshift(chunk);
          routePlain(socket, r, handoff, limits);
        };
      }
      if (r === undefined || !r.hasTlsRouters) {
        // No TLS TCP router to choose between: the HTTPS server reads the hello itself.
        return () => {
          socket.unshift(chunk);
          routeUnmatchedTls(socket, r, handoff, limits, '');
        };
      }
      reader = new ClientHelloReader(limits.maxHelloBytes);
    }
    const res = reader.push(chunk);
    if (res.status === 'need-more') return undefined;
    if (res.status === 'error') {
      return () => {
        limits.logger?.debug(
          { client: socket.remoteAddress, reason: res.reason },
          'invalid TLS ClientHello, connection closed',
        );
        socket.destroy();
      };
    }
    return () => {
      socket.unshift(res.hello.helloBytes);
      if (r !== undefined) routeTls(socket, r, handoff, limits, res.hello);
    };
  });
}

function routePlain(
  socket: Socket,
  r: TcpEntrypointRouting | undefined,
  handoff: HttpHandoff,
  limits: DispatchLimits,
): void {
  const router =
    r && r.plain.length > 0
      ? findPlainRouter(r, { sni: '', alpn: NO_ALPN, clientIp: clientIpOf(socket), tls: false })
      : undefined;
  if (r === undefined || router === undefined) handoff.http(socket);
  else if (admitted(socket, r, router)) forward(socket, socket, router, limits);
}

function routeTls(
  socket: Socket,
  r: TcpEntrypointRouting,
  handoff: HttpHandoff,
  limits: DispatchLimits,
  hello: ClientHello,
): void {
  const view: TcpConnectionView = { sni: hello.sni, alpn: hello.alpn, clientIp: clientIpOf(socket), tls: true };
  const router = findTlsRouter(r, view);
  if (router === undefined || (router.catchAll && handoff.hasHttpsRoute?.(hello.sni) === true)) {
    routeUnmatchedTls(socket, r, handoff, limits, hello.sni);
    return;
  }
  if (!admitted(socket, r, router)) return;
  if (router.tls === 'terminate') terminate(socket, r.tlsSource, router, limits, hello.sni);
  else forward(socket, socket, router, limits);
}

/** TLS no TLS router took: the HTTPS server, or a plain catch-all on an entrypoint without HTTPS. */
function routeUnmatchedTls(
  socket: Socket,
  r: TcpEntrypointRouting | undefined,
  handoff: HttpHandoff,
  limits: DispatchLimits,
  sni: string,
): void {
  if (r !== undefined && r.plain.length > 0 && limits.httpsRouters !== true) {
    const router = findPlainRouter(r, { sni, alpn: NO_ALPN, clientIp: clientIpOf(socket), tls: true });
    if (router) {
      if (admitted(socket, r, router)) forward(socket, socket, router, limits);
      return;
    }
  }
  // The accepted socket allows half-open (TCP routers relay half-closes), but the HTTPS server
  // expects a plain one, as its own listener would give it: with half-open left on, a client that
  // sends its FIN during the handshake's last flight leaves the socket in CLOSE-WAIT until the
  // handshake timeout, holding a descriptor and delaying every drain.
  socket.allowHalfOpen = false;
  handoff.https(socket);
}

function clientIpOf(socket: Socket): string {
  return normalizeIp(clientAddressOf(socket));
}

/** Runs the router's middlewares (no-op without any); false when the connection was refused. */
function admitted(socket: Socket, r: TcpEntrypointRouting, router: CompiledTcpRouter): boolean {
  return router.middlewares.length === 0 || admitConnection(socket, router, clientIpOf(socket), r.logger);
}

function forward(client: Socket | TLSSocket, peer: Socket, router: CompiledTcpRouter, limits: DispatchLimits): void {
  client.allowHalfOpen = true;
  client.setNoDelay(true);
  const opts: RelayOptions = limits.idleTimeoutMs ? { idleTimeoutMs: limits.idleTimeoutMs } : NO_IDLE;
  const log = limits.logger;
  forwardToService(
    client,
    peer,
    router.target,
    opts,
    log
      ? (err: BerthError) => {
          log.debug(
            { router: router.name, client: peer.remoteAddress, code: err.code, err: err.message },
            'TCP upstream connect failed',
          );
        }
      : undefined,
  );
}

const NO_IDLE: RelayOptions = { idleTimeoutMs: 0 };

/**
 * Terminates TLS with the certificate store under the router's TLS options (versions, ciphers,
 * curves, client authentication, sniStrict), then forwards the plaintext. The ClientHello was
 * read to choose the router, so the context for its SNI is the socket's only one: no SNI switch
 * during the handshake, which in node:tls adds the new certificate beside the first one instead
 * of replacing it (a TLS 1.2 client could then be served the default RSA certificate for a name
 * whose certificate is ECDSA), and the version bounds OpenSSL fixes per connection are the router's.
 */
function terminate(
  socket: Socket,
  source: TlsContextSource | undefined,
  router: CompiledTcpRouter,
  limits: DispatchLimits,
  sni: string,
): void {
  if (source === undefined) {
    socket.destroy();
    return;
  }
  const policy = router.tlsPolicy;
  const clientAuth = policy?.clientAuthType ?? 'NoClientCert';
  source.contextFor(sni, policy?.context ?? {}, policy?.key ?? '', policy?.sniStrict === true, (err, secureContext) => {
    if (err !== null || secureContext === undefined) {
      socket.destroy();
      return;
    }
    const tlsSocket = new TLSSocket(socket, {
      isServer: true,
      secureContext,
      requestCert: clientAuth !== 'NoClientCert',
      rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
    });
    const timer = setTimeout(() => tlsSocket.destroy(), limits.peekTimeoutMs);
    const onError = (): void => {
      clearTimeout(timer);
      tlsSocket.destroy();
      socket.destroy();
    };
    tlsSocket.once('error', onError);
    tlsSocket.once('close', onError);
    // A client that leaves before the handshake completes only shows as 'end' here (no error, no
    // close): without this the accepted socket would wait for the timer in CLOSE-WAIT.
    tlsSocket.once('end', onError);
    tlsSocket.once('secure', () => {
      clearTimeout(timer);
      if (!clientCertificateAccepted(tlsSocket, clientAuth)) {
        onError();
        return;
      }
      tlsSocket.removeListener('error', onError);
      tlsSocket.removeListener('close', onError);
      tlsSocket.removeListener('end', onError);
      forward(tlsSocket, socket, router, limits);
    });
  });
}
