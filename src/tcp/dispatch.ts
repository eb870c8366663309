import type { Socket } from 'node:net';

/** Where a connection goes when no TCP router takes it: the entrypoint's HTTP or HTTPS server. */
export interface HttpHandoff {
  /** Plain HTTP/1.1 on this socket. */
  http(socket: Socket): void;
  /** TLS (HTTPS, h2 via ALPN) on this socket. */
  https(socket: Socket): void;
}

/** Per-connection limits of the dispatcher. */
export interface DispatchLimits {
  /** How long to wait for the client's first bytes / whole ClientHello (ms). */
  readonly peekTimeoutMs: number;
  /** Largest ClientHello accepted (bytes). */
  readonly maxHelloBytes: number;
}

/**
 * Decides what a new connection on a TCP entrypoint is: TLS (first byte 0x16) goes to the HTTPS
 * handoff, anything else to plain HTTP. TCP routing (HostSNI, passthrough) plugs in here through
 * `routing`. The first bytes are put back on the socket (`unshift`) before the handoff.
 */
export function dispatchConnection(socket: Socket, routing: unknown, handoff: HttpHandoff, limits: DispatchLimits): void {
  void routing;
  const timer = setTimeout(() => socket.destroy(), limits.peekTimeoutMs);
  const onError = (): void => { clearTimeout(timer); socket.destroy(); };
  socket.once('error', onError);
  socket.once('readable', function first(): void {
    clearTimeout(timer);
    socket.removeListener('error', onError);
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) {
      if (socket.readableEnded) socket.destroy();
      else socket.once('readable', first);
      return;
    }
    socket.unshift(chunk);
    if (chunk[0] === 0x16) handoff.https(socket);
    else handoff.http(socket);
  });
}
