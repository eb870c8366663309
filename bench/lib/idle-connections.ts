import { connect, type Socket } from 'node:net';
import { treePssKb } from './proc.ts';
import type { IdleConnectionsResult } from './results.ts';

/** Connections opened at once while filling up; more only makes the target's accept queue overflow. */
const PARALLEL = 256;
/**
 * Client sockets bind to these loopback source addresses in turn, so 10,000 connections (and the
 * TIME_WAIT of earlier rows) never exhaust one address's ephemeral ports.
 */
const SOURCES = Array.from({ length: 32 }, (_, i) => `127.0.0.${i + 2}`);

/**
 * Opens one keep-alive connection, sends one GET and resolves with the socket once the first bytes
 * of the answer came back (undefined when it failed). The socket then stays open and idle.
 */
function openOne(port: number, host: string, localAddress: string, timeoutMs: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', localAddress });
    const fail = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve(undefined);
    };
    const t = setTimeout(fail, timeoutMs);
    s.once('error', fail);
    s.once('connect', () => s.write(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
    s.once('data', (b: Buffer) => {
      clearTimeout(t);
      s.removeListener('error', fail);
      s.on('error', () => undefined);
      if (!b.toString('latin1', 0, 12).startsWith('HTTP/1.1 200')) {
        s.destroy();
        resolve(undefined);
        return;
      }
      resolve(s);
    });
  });
}

/**
 * Memory per idle keep-alive connection: the PSS of the target's process tree before, and with
 * `count` connections open and idle (each answered one request, so the target holds whatever it
 * keeps per kept-alive connection: buffers, parser, timers), read after `settleMs`.
 */
export async function measureIdleConnections(
  pid: number,
  port: number,
  host: string,
  count: number,
  settleMs = 2000,
): Promise<IdleConnectionsResult> {
  const beforeKb = treePssKb(pid);
  const sockets: Socket[] = [];
  let failures = 0;
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        const s = await openOne(port, host, SOURCES[i % SOURCES.length]!, 10_000);
        if (s) sockets.push(s);
        else failures++;
        // Many failures in a row: the target (or a descriptor limit) refuses; stop early.
        if (failures > count / 10) return;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    await new Promise((r) => setTimeout(r, settleMs));
    const alive = sockets.filter((s) => !s.destroyed).length;
    const afterKb = treePssKb(pid);
    return {
      wanted: count,
      held: alive,
      beforeKb,
      afterKb,
      perConnectionKb: alive > 0 ? (afterKb - beforeKb) / alive : 0,
      ...(alive < count ? { failed: `${count - alive} of ${count} connections failed or were closed` } : {}),
    };
  } finally {
    for (const s of sockets) s.destroy();
    // Let the target see the closes before the next one is measured.
    await new Promise((r) => setTimeout(r, 1000));
  }
}
