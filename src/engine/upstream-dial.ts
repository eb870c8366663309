import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { OriginConnections, TransportOptions } from './transport-options.ts';
import type { UpstreamTarget } from './upstream-target.ts';

/**
 * Opens the socket of a new upstream connection: plain TCP, or TLS with the transport's server
 * name, roots, client certificates and the origin's resumable session. Apart from the connection
 * so how a socket is dialled is read in one place, separate from how responses are read on it.
 * `onConnect` runs once the socket is ready for HTTP (after the handshake for TLS).
 */
export function dialUpstream<C>(
  o: TransportOptions,
  origin: OriginConnections<C>,
  target: UpstreamTarget,
  onConnect: () => void,
): Socket {
  if (!target.https) {
    const socket = netConnect({ host: target.hostname, port: target.port });
    socket.once('connect', onConnect);
    return socket;
  }
  const opts: ConnectionOptions = {
    host: target.hostname,
    port: target.port,
    rejectUnauthorized: !o.insecureSkipVerify,
    ALPNProtocols: ['http/1.1'],
  };
  const sni = o.serverName ?? (isIP(target.hostname) === 0 ? target.hostname : undefined);
  if (sni !== undefined) opts.servername = sni;
  if (o.rootCAs !== undefined) opts.ca = [...o.rootCAs];
  if (o.certificates !== undefined) {
    opts.cert = o.certificates.map((c) => c.cert);
    opts.key = o.certificates.map((c) => c.key);
  }
  if (origin.tlsSession !== undefined) opts.session = origin.tlsSession;
  const socket = tlsConnect(opts);
  socket.once('secureConnect', onConnect);
  socket.on('session', (s: Buffer) => {
    origin.tlsSession = s;
  });
  return socket;
}
