import { H2SessionPool } from './h2-sessions.ts';
import { UpstreamConnection } from './upstream-connection.ts';
import type { ConnectionPool, OriginConnections, TransportOptions } from './transport-options.ts';
import type { UpstreamTarget } from './upstream-target.ts';

export type { TransportOptions } from './transport-options.ts';

/** Go's `http.DefaultMaxIdleConnsPerHost`, used when `maxIdleConnsPerHost` is 0. */
const GO_DEFAULT_IDLE = 2;

/** The connections of one server (scheme, host, port). */
export class OriginPool implements OriginConnections<UpstreamConnection> {
  readonly key: string;
  /** Idle kept-alive connections, most recently used last (LIFO: warm sockets first). */
  readonly idle: UpstreamConnection[] = [];
  /** The last TLS session, offered when dialling again (a resumed handshake). */
  tlsSession: Buffer | undefined = undefined;

  constructor(key: string) {
    this.key = key;
  }
}

/**
 * berth's own keep-alive pool of upstream HTTP/1.1 connections for one transport: per server,
 * idle connections are reused most-recent-first, at most `maxIdleConnsPerHost` stay idle, and
 * one sweep timer closes those idle past `idleConnTimeoutMs`. A connection is only returned here
 * after a complete, well-framed exchange; anything else closes it.
 */
export class UpstreamPool implements ConnectionPool<UpstreamConnection> {
  readonly options: TransportOptions;
  private readonly origins = new Map<string, OriginPool>();
  private readonly maxIdle: number;
  private closed = false;
  private sweeper: NodeJS.Timeout | undefined;
  private h2: H2SessionPool | undefined = undefined;

  constructor(options: TransportOptions) {
    this.options = options;
    this.maxIdle = options.maxIdleConnsPerHost === 0 ? GO_DEFAULT_IDLE : Math.max(0, options.maxIdleConnsPerHost);
  }

  /** An idle connection to `target` (unless `fresh`), else a new one being dialled. */
  acquire(target: UpstreamTarget, fresh: boolean): UpstreamConnection {
    let origin = this.origins.get(target.origin);
    if (origin === undefined) {
      origin = new OriginPool(target.origin);
      this.origins.set(target.origin, origin);
    }
    if (!fresh) {
      const idle = origin.idle;
      while (idle.length > 0) {
        const c = idle.pop()!;
        if (c.usable()) return c;
        c.destroy();
      }
    }
    return new UpstreamConnection(this, origin, target);
  }

  /** The HTTP/2 sessions of this transport's `h2c://` servers (made when the first one is used). */
  h2Sessions(): H2SessionPool {
    if (this.h2 === undefined) {
      this.h2 = new H2SessionPool(this.options);
      if (this.closed) this.h2.close();
    }
    return this.h2;
  }

  /** A connection finished an exchange cleanly: kept idle, or closed when the pool is full or closed. */
  release(c: UpstreamConnection): void {
    const idle = c.origin.idle;
    if (this.closed || idle.length >= this.maxIdle || !c.usable()) {
      c.destroy();
      return;
    }
    c.idleSince = Date.now();
    idle.push(c);
    if (this.sweeper === undefined && this.options.idleConnTimeoutMs > 0) this.startSweeper();
  }

  /** A connection closed (or is being closed): forgotten wherever it is. */
  forget(c: UpstreamConnection): void {
    const idle = c.origin.idle;
    if (idle.length === 0) return;
    const i = idle.lastIndexOf(c);
    if (i >= 0) idle.splice(i, 1);
  }

  /** Number of idle connections to a server (tests, metrics). */
  idleCount(origin: string): number {
    return this.origins.get(origin)?.idle.length ?? 0;
  }

  /**
   * Closes the idle connections and keeps no more. Connections still busy finish their exchange
   * (a retired snapshot's requests complete) and are then closed instead of pooled.
   */
  close(): void {
    this.closed = true;
    this.h2?.close();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const o of this.origins.values()) {
      for (const c of o.idle.splice(0)) c.destroy();
    }
  }

  private startSweeper(): void {
    const every = Math.max(100, Math.min(1000, Math.floor(this.options.idleConnTimeoutMs / 2)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  private sweep(): void {
    const limit = Date.now() - this.options.idleConnTimeoutMs;
    let any = false;
    for (const o of this.origins.values()) {
      const idle = o.idle;
      // Oldest first: the list is ordered by release time.
      let n = 0;
      while (n < idle.length && idle[n]!.idleSince <= limit) n++;
      for (const c of idle.splice(0, n)) c.destroy();
      if (idle.length > 0) any = true;
    }
    if (!any && this.sweeper !== undefined) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
