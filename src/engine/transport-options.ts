/** Timeouts, pooling and TLS of one upstream transport (Traefik's serversTransport). */
export interface TransportOptions {
  readonly dialTimeoutMs: number;
  /** Time from the request's head being sent to the response's head; 0 = no limit (Traefik's default). */
  readonly responseHeaderTimeoutMs: number;
  /** How long a kept-alive connection may sit idle in the pool. */
  readonly idleConnTimeoutMs: number;
  /** Idle connections kept per server: 0 means Go's default (2), a negative number keeps none. */
  readonly maxIdleConnsPerHost: number;
  readonly insecureSkipVerify: boolean;
  readonly rootCAs?: readonly (string | Buffer)[];
  /** Client certificates (PEM) presented to servers that ask for one (mutual TLS). */
  readonly certificates?: readonly { readonly cert: string; readonly key: string }[];
  readonly serverName?: string;
}

/**
 * The pool as an upstream connection sees it: the transport's options, and where the connection
 * goes once an exchange is over. Declared apart from the pool, which makes the connections.
 */
export interface ConnectionPool<C> {
  readonly options: TransportOptions;
  /** A connection finished an exchange cleanly (kept idle, or closed). */
  release(c: C): void;
  /** A connection closed: forgotten wherever it is. */
  forget(c: C): void;
}

/** What the connections to one server share: the idle ones, and the TLS session to resume. */
export interface OriginConnections<C> {
  readonly key: string;
  readonly idle: C[];
  tlsSession: Buffer | undefined;
}
