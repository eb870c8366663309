import { connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { UpstreamFailure } from './upstream-failure.ts';
import type { UpstreamTarget } from './upstream-target.ts';

/** What the sessions of one transport need from its options. */
export interface H2SessionOptions {
  readonly dialTimeoutMs: number;
  readonly idleConnTimeoutMs: number;
  /** A negative number keeps no idle session: it closes when its last stream ends. */
  readonly maxIdleConnsPerHost: number;
}

/** One HTTP/2 cleartext connection to a server and the streams it carries now. */
export class H2Session {
  readonly key: string;
  readonly session: ClientHttp2Session;
  /** Streams open on the session (an idle session has none). */
  active = 0;
  idleTimer: NodeJS.Timeout | undefined = undefined;

  constructor(key: string, session: ClientHttp2Session) {
    this.key = key;
    this.session = session;
  }

  /** Whether new streams may be opened on it (not closing, not told to go away). */
  get open(): boolean {
    const s = this.session;
    return !s.closed && !s.destroyed;
  }
}

/**
 * The `h2c://` side of a transport: one HTTP/2 session per server (prior knowledge, no upgrade),
 * kept while requests use it and reused by every request to that server, as Go's HTTP/2 transport
 * does (many concurrent streams over one connection; a server's `SETTINGS_MAX_CONCURRENT_STREAMS`
 * queues the excess in nghttp2). A session that sits without streams for `idleConnTimeout` is
 * closed; one that failed, closed or got GOAWAY is forgotten, and the next request dials anew.
 */
export class H2SessionPool {
  private readonly options: H2SessionOptions;
  private readonly sessions = new Map<string, H2Session>();
  private closed = false;

  constructor(options: H2SessionOptions) {
    this.options = options;
  }

  /** A session to `target` for one new stream; call `release` when the stream closes. */
  acquire(target: UpstreamTarget): H2Session {
    let h = this.sessions.get(target.origin);
    if (h === undefined || !h.open) h = this.dial(target);
    h.active++;
    if (h.idleTimer !== undefined) {
      clearTimeout(h.idleTimer);
      h.idleTimer = undefined;
    }
    return h;
  }

  /** A stream on `h` closed. The session stays for the next request, or closes once idle long enough. */
  release(h: H2Session): void {
    if (--h.active > 0 || !h.open) return;
    const ms = this.options.idleConnTimeoutMs;
    if (this.closed || this.options.maxIdleConnsPerHost < 0 || this.sessions.get(h.key) !== h) {
      h.session.close();
      return;
    }
    if (ms > 0) {
      h.idleTimer = setTimeout(closeIdle, ms, h);
      h.idleTimer.unref();
    }
  }

  /** Number of kept sessions (tests, metrics). */
  size(): number {
    return this.sessions.size;
  }

  /** Closes idle sessions at once and the busy ones after their streams end (a retired snapshot). */
  close(): void {
    this.closed = true;
    for (const h of this.sessions.values()) {
      if (h.idleTimer !== undefined) clearTimeout(h.idleTimer);
      h.session.close();
    }
    this.sessions.clear();
  }

  private dial(target: UpstreamTarget): H2Session {
    const key = target.origin;
    const session = connect(`http://${target.authority}`, {
      createConnection: () => netConnect({ host: target.hostname, port: target.port }),
    });
    const h = new H2Session(key, session);
    const forget = (): void => {
      if (this.sessions.get(key) === h) this.sessions.delete(key);
      if (h.idleTimer !== undefined) {
        clearTimeout(h.idleTimer);
        h.idleTimer = undefined;
      }
    };
    // Errors reach the streams (each turns into its request's 502 or abort); the session is only forgotten.
    session.on('error', forget);
    session.on('close', forget);
    // GOAWAY: streams in flight finish; new requests go to a new session.
    session.on('goaway', forget);
    const ms = this.options.dialTimeoutMs;
    if (ms > 0) {
      const timer = setTimeout(() => {
        if (!session.connecting) return;
        session.destroy(new UpstreamFailure('DIAL_TIMEOUT', `no connection to ${target.authority} within ${ms} ms`));
      }, ms);
      timer.unref();
      session.once('connect', () => clearTimeout(timer));
      session.once('close', () => clearTimeout(timer));
    }
    this.sessions.set(key, h);
    return h;
  }
}

function closeIdle(h: H2Session): void {
  h.idleTimer = undefined;
  if (h.active === 0) h.session.close();
}
