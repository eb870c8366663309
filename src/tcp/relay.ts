import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import { declaredEndpointsOf } from './client-address.ts';
import { proxyProtocolHeader } from './proxy-protocol.ts';
import type { TcpServerTarget, TcpServiceHandler } from './routing.ts';

/**
 * Connecting to a TCP upstream and relaying bytes both ways: backpressure through `pipe`,
 * half-close propagated in each direction, a reset on one side resets the other, idle and
 * termination deadlines, and nothing left open when either side goes away.
 */

/** Per-connection relay settings. */
export interface RelayOptions {
  /** Close both sides after this long without traffic in either direction; 0 = never. */
  readonly idleTimeoutMs: number;
}

type ConnectCallback = (err: BerthError | undefined, upstream?: Socket | TLSSocket) => void;

/**
 * Opens a connection to `server`: TCP connect (within the dial timeout), the PROXY protocol header
 * when configured, then the TLS handshake for `tls: true` servers. `peer` supplies the client
 * addresses for the PROXY header.
 */
export function connectUpstream(server: TcpServerTarget, peer: Socket, cb: ConnectCallback): Socket {
  const opts = server.options;
  const sock = netConnect({ host: server.host, port: server.port, allowHalfOpen: true, noDelay: true });
  let settled = false;
  const fail = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes], message: string, cause?: unknown): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.destroy();
    cb(new BerthError(code, message, { cause }));
  };
  const timer = setTimeout(
    fail,
    opts.dialTimeoutMs,
    ErrorCodes.UPSTREAM_TIMEOUT,
    `connect to ${server.address} timed out`,
  );
  sock.once('error', (err: NodeJS.ErrnoException) => {
    fail(
      err.code === 'ECONNREFUSED' ? ErrorCodes.UPSTREAM_REFUSED : ErrorCodes.UPSTREAM_RESET,
      `connect to ${server.address}: ${err.message}`,
      err,
    );
  });
  sock.once('connect', () => {
    if (settled) return;
    if (opts.proxyProtocol !== 0) {
      // A trusted balancer's PROXY header in front of berth declared both ends: pass them on.
      const declared = declaredEndpointsOf(peer);
      sock.write(
        proxyProtocolHeader(
          opts.proxyProtocol,
          declared ?? {
            srcIp: peer.remoteAddress,
            srcPort: peer.remotePort,
            dstIp: peer.localAddress,
            dstPort: peer.localPort,
          },
        ),
      );
    }
    if (!server.tls) {
      settled = true;
      clearTimeout(timer);
      cb(undefined, sock);
      return;
    }
    const t = tlsConnect({
      socket: sock,
      rejectUnauthorized: opts.tls.rejectUnauthorized,
      ...(opts.tls.servername !== undefined ? { servername: opts.tls.servername } : {}),
      ...(opts.tls.ca ? { ca: [...opts.tls.ca] } : {}),
    });
    t.once('error', (err) => fail(ErrorCodes.UPSTREAM_RESET, `TLS to ${server.address}: ${err.message}`, err));
    t.once('secureConnect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      t.removeAllListeners('error');
      cb(undefined, t);
    });
  });
  return sock;
}

/**
 * Relays `client` ⇄ `upstream` until both directions are done. End of one direction half-closes
 * the other side (`terminationDelayMs` ≥ 0 bounds how long the other direction may go on); an error
 * or reset on either side destroys both (a reset is passed on as a reset).
 */
export function relay(client: Duplex, upstream: Duplex, opts: RelayOptions, terminationDelayMs = -1): void {
  let finished = false;
  let termTimer: NodeJS.Timeout | undefined;
  const teardown = (err?: NodeJS.ErrnoException): void => {
    if (finished) return;
    finished = true;
    if (termTimer) clearTimeout(termTimer);
    const reset = err?.code === 'ECONNRESET';
    for (const s of [client, upstream]) {
      if (s.destroyed) continue;
      if (reset && typeof (s as Partial<Socket>).resetAndDestroy === 'function') {
        // Only plain TCP handles can send an RST; TLS sockets refuse, and a plain close will do.
        try {
          (s as Socket).resetAndDestroy();
          continue;
        } catch {
          /* fall through */
        }
      }
      s.destroy();
    }
  };
  const onClose = function (this: Duplex): void {
    // A side that closed after finishing both directions normally leaves the other to finish its
    // own writes; any other close (destroy, timeout) takes the other side down too.
    if (!(this.readableEnded && this.writableFinished)) teardown();
    else if (client.destroyed && upstream.destroyed) finished = true;
  };
  const onEnd = (): void => {
    if (terminationDelayMs >= 0 && !termTimer && !finished) termTimer = setTimeout(teardown, terminationDelayMs);
  };
  client.on('error', teardown);
  upstream.on('error', teardown);
  client.on('close', onClose);
  upstream.on('close', onClose);
  client.on('end', onEnd);
  upstream.on('end', onEnd);
  if (opts.idleTimeoutMs > 0) {
    // The client socket sees traffic of both directions (reads from it, writes to it).
    (client as Socket).setTimeout?.(opts.idleTimeoutMs, () => teardown());
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

/**
 * Forwards `client` to the next server of `service`; bytes already peeked must have been put back
 * on `client` (`unshift`). `peer` is the accepted socket (addresses for PROXY protocol). A failed connect closes
 * the client; `onError` hears about it (for logging).
 */
export function forwardToService(
  client: Duplex,
  peer: Socket,
  service: TcpServiceHandler,
  opts: RelayOptions,
  onError?: (err: BerthError) => void,
): void {
  const server = service.pick();
  if (!server) {
    onError?.(new BerthError(ErrorCodes.NO_HEALTHY_SERVER, `service ${service.name} has no server`));
    client.destroy();
    return;
  }
  let upstreamRef: Socket | undefined;
  const abort = (): void => {
    upstreamRef?.destroy();
  };
  client.once('close', abort);
  client.on('error', abort);
  upstreamRef = connectUpstream(server, peer, (err, upstream) => {
    client.removeListener('close', abort);
    client.removeListener('error', abort);
    if (err || !upstream) {
      if (err) onError?.(err);
      client.destroy();
      return;
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    relay(client, upstream, opts, server.options.terminationDelayMs);
  });
}
