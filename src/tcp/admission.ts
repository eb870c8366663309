import type { Socket } from 'node:net';
import type { Logger } from '../lib/logger.ts';
import { IntervalLog, l4Counters } from './l4-counters.ts';
import type { CompiledTcpRouter } from './routing.ts';

const refusals = new IntervalLog();

/**
 * Runs a router's TCP middlewares on a connection it took, before anything is dialled or
 * forwarded. Returns true when the connection may go on; otherwise it is closed at once, counted
 * (`berth_tcp_connections_refused_total`) and reported in the log at most once per interval per
 * router and middleware. `clientIp` is the connection's client address (`clientAddressOf`).
 */
export function admitConnection(
  socket: Socket,
  router: CompiledTcpRouter,
  clientIp: string,
  logger: Logger | undefined,
): boolean {
  const chain = router.middlewares;
  for (let i = 0; i < chain.length; i++) {
    const m = chain[i]!;
    if (m.admit(clientIp, socket)) continue;
    socket.destroy();
    l4Counters.tcpRefused(router.name, m.name);
    if (logger !== undefined) {
      refusals.note(`${router.name}\u0000${m.name}`, (skipped) => {
        logger.info(
          {
            router: router.name,
            middleware: m.name,
            client: clientIp,
            ...(skipped > 0 ? { alsoRefusedSinceLastLine: skipped } : {}),
          },
          `TCP connection from ${clientIp} refused by middleware ${m.name}`,
        );
      });
    }
    return false;
  }
  return true;
}
