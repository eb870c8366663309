import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
// Every test file that opens ports gets the guard that keeps an abandoned test from holding it open.
import './track-child.ts';

/** A free TCP port on the given loopback address (bind to 0, read, close). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  // The kernel may hand the same ephemeral port to two probes in a row (each is closed at once):
  // a port already given out in this process is not given again, or a test would configure two
  // listeners on one port.
  for (;;) {
    const port = await probePort(host);
    if (given.has(port)) continue;
    given.add(port);
    if (given.size > 8192) given.delete(given.values().next().value!);
    return port;
  }
}

const given = new Set<number>();

/**
 * A TCP port free right now, drawn below the kernel's ephemeral range (32768–60999 by default):
 * a port the kernel handed out could be taken again by any process's next outgoing connection
 * before the test's listener binds it, which on a busy machine running the suite in parallel
 * happens (EADDRINUSE). Below the range only another listener can take it.
 */
function probePort(host: string): Promise<number> {
  const port = 10_000 + Math.floor(Math.random() * 22_000);
  // 10080 is on the Fetch standard's list of bad ports: fetch() (a test's, or a container's
  // HEALTHCHECK) refuses it with a network error before connecting.
  if (port === 10_080) return probePort(host);
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(probePort(host)));
    srv.listen(port, host, () => srv.close(() => resolve(port)));
  });
}

/**
 * A UDP port nothing uses right now (chosen by binding a UDP socket, not a TCP one: a port free
 * for TCP can be another process's UDP port, e.g. a client socket of a concurrent test).
 */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A port free for both UDP and TCP (a DNS server listens on both). */
export async function freeDualPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; ; i++) {
    const port = await freeUdpPort(host);
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (tcpFree || i >= 20) return port;
  }
}

/**
 * Polls `check` until it returns true or the deadline passes (then throws with `what`). A check
 * that never settles (a request to a peer that went silent) cannot stretch the wait: it is given
 * up 10 s after the deadline (generous: a slow check on a loaded machine still completes).
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let hung = false;
  for (;;) {
    try {
      const result = check();
      if (typeof result === 'boolean' ? result : await bounded(result, deadline - Date.now() + 10_000)) return;
    } catch (err) {
      hung = err === CHECK_HUNG;
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${hung ? ' (its last check never settled)' : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const CHECK_HUNG = new Error('check did not settle');

/** `p`, or a rejection with {@link CHECK_HUNG} after `ms`. */
function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(CHECK_HUNG), Math.max(ms, 0));
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
