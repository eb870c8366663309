import type { Socket } from 'node:net';
import type { TcpMiddleware } from './routing.ts';
import { LimitKey } from '../lib/limit-key.ts';
import { REFUSED, sharedLimitTable } from '../lib/shared-limits.ts';

/**
 * Traefik's TCP `inFlightConn`: at most `amount` simultaneous connections per client IP (the
 * PROXY protocol's client when a trusted balancer declared one); the connection over the limit is
 * closed. Counted in the process's shared limit table by middleware name, so the amount holds
 * across data-plane workers, and a reload (which builds every middleware anew) does not forget
 * the connections still open.
 */
export function inFlightConn(name: string, amount: number): TcpMiddleware {
  const table = sharedLimitTable();
  const key = new LimitKey(`inFlightConn\0${name}`);
  return {
    name,
    admit(clientIp: string, socket: Socket): boolean {
      const slot = table.acquire(key.of(clientIp), amount);
      if (slot === REFUSED) return false;
      socket.once('close', () => table.release(slot));
      return true;
    },
  };
}

/** Open connections counted by `name` for `clientIp` (tests, diagnostics). */
export function inFlightCount(name: string, clientIp: string): number {
  return sharedLimitTable().count(new LimitKey(`inFlightConn\0${name}`).of(clientIp));
}
