import type { Socket } from 'node:net';
import { H1Connection } from './h1-connection.ts';
import type { H1ConnectionBase } from './h1-connection-base.ts';
import type { H1ConnectionHost, H1Options } from './h1-options.ts';
import type { RequestHandler } from './request-handler.ts';

/** How often the drain looks for connections that went quiet (ms). */
const DRAIN_SWEEP_MS = 50;

/**
 * The HTTP/1.1 side of one entrypoint and scheme: accepts sockets (plain, or TLS after the
 * handshake), runs an `H1Connection` on each, and enforces the timeouts with one sweep timer for
 * all connections instead of timers per request.
 */
export class H1Server implements H1ConnectionHost<H1ConnectionBase> {
  readonly options: H1Options;
  readonly handler: RequestHandler;
  readonly connections = new Set<H1ConnectionBase>();
  /** Set once the entrypoint drains: answers close their connection, quiet connections are closed. */
  draining = false;
  drainStartedAt = 0;
  /** How long a quiet keep-alive connection may still send a request once the drain began (ms). */
  settleMs = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;

  constructor(options: H1Options, handler: RequestHandler) {
    this.options = options;
    this.handler = handler;
    this.sweepMs = Math.max(250, Math.min(1000, Math.floor(options.headersTimeoutMs / 4)));
  }

  /** Serves HTTP/1.1 on `socket` (its first bytes may already be buffered on it). */
  accept(socket: Socket): H1Connection {
    return new H1Connection(socket, this);
  }

  /** Called by a new connection before it reads anything (its first request may be answered at once). */
  track(conn: H1ConnectionBase): void {
    this.connections.add(conn);
    if (this.sweeper === undefined) this.startSweeper(this.draining ? DRAIN_SWEEP_MS : this.sweepMs);
  }

  /** Called by a connection that closed. */
  forget(conn: H1ConnectionBase): void {
    this.connections.delete(conn);
    if (this.connections.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /**
   * Starts the drain: answers still owed (and any that arrive meanwhile) close their connection;
   * connections that stay quiet for `settleMs` since the drain began (or since their last answer)
   * are closed the way RFC 9112 §9.6 asks (lingering close).
   */
  drain(settleMs: number): void {
    this.draining = true;
    this.drainStartedAt = Date.now();
    this.settleMs = settleMs;
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    if (this.connections.size > 0) this.startSweeper(DRAIN_SWEEP_MS);
  }

  /** Destroys every connection (the drain's deadline). */
  destroyAll(): void {
    for (const c of this.connections) c.destroy();
  }

  private startSweeper(ms: number): void {
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) c.checkTimeouts(now);
    }, ms);
    this.sweeper.unref();
  }
}
