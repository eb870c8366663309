import type { Socket } from 'node:net';
import type { TcpMiddleware } from './routing.ts';

/**
 * Open connections per middleware and client IP. Kept outside the built middleware so a reload
 * (which builds every middleware anew) does not forget the connections still open: the limit
 * holds across configuration changes. A middleware's entry goes away with its last connection.
 */
const open = new Map<string, Map<string, number>>();

/**
 * Traefik's TCP `inFlightConn`: at most `amount` simultaneous connections per client IP (the
 * PROXY protocol's client when a trusted balancer declared one); the connection over the limit is
 * closed. Counted per process: with data-plane workers each worker counts the connections it
 * accepted.
 */
export function inFlightConn(name: string, amount: number): TcpMiddleware {
  return {
    name,
    admit(clientIp: string, socket: Socket): boolean {
      let perIp = open.get(name);
      const n = perIp?.get(clientIp) ?? 0;
      if (n >= amount) return false;
      if (perIp === undefined) open.set(name, (perIp = new Map()));
      perIp.set(clientIp, n + 1);
      socket.once('close', () => release(name, clientIp));
      return true;
    },
  };
}

function release(name: string, clientIp: string): void {
  const perIp = open.get(name);
  const n = perIp?.get(clientIp);
  if (perIp === undefined || n === undefined) return;
  if (n > 1) perIp.set(clientIp, n - 1);
  else {
    perIp.delete(clientIp);
    if (perIp.size === 0) open.delete(name);
  }
}

/** Open connections counted by `name` for `clientIp` (tests, diagnostics). */
export function inFlightCount(name: string, clientIp: string): number {
  return open.get(name)?.get(clientIp) ?? 0;
}
