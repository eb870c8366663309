import type { RequestHandler } from './request-handler.ts';

/** Limits and timeouts of the HTTP/1.1 connections of one entrypoint. */
export interface H1Options {
  /** Largest request head in bytes (request line included) → 431. */
  readonly maxHeaderBytes: number;
  /** Most header lines in a request → 431. */
  readonly maxHeaderCount: number;
  /** Time from a request's first byte to the end of its head (slowloris) → 408. */
  readonly headersTimeoutMs: number;
  /** Time from a request's first byte to the end of its body (`readTimeout`); 0 = none. */
  readonly requestTimeoutMs: number;
  /** Time a keep-alive connection may sit idle between requests (`idleTimeout`); 0 = none. */
  readonly idleTimeoutMs: number;
}

/**
 * The server as its HTTP/1.1 connections see it: their limits, the request handler, the drain's
 * state, and where a connection reports that it opened and closed. Declared apart from the
 * server, which makes the connections.
 */
export interface H1ConnectionHost<C> {
  readonly options: H1Options;
  readonly handler: RequestHandler;
  /** Set once the entrypoint drains: answers close their connection, quiet connections are closed. */
  readonly draining: boolean;
  readonly drainStartedAt: number;
  /** How long a quiet keep-alive connection may still send a request once the drain began (ms). */
  readonly settleMs: number;
  /** Called by a new connection before it reads anything. */
  track(conn: C): void;
  /** Called by a connection that closed. */
  forget(conn: C): void;
}
