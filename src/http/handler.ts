import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Per-request state shared by the entrypoint, middlewares, the forwarder and the access log.
 * Created once per request by the entrypoint; a plain object, so the hot path stays cheap.
 */
export interface RequestContext {
  readonly entrypoint: string;
  readonly scheme: 'http' | 'https';
  /** The direct peer's address (no `::ffff:` prefix). */
  readonly remoteIp: string;
  /** The client address after trusted forwarded headers (equals `remoteIp` for untrusted peers). */
  clientIp: string;
  /** Whether the direct peer is in `forwardedHeaders.trustedIPs` (or `insecure`). */
  readonly trustedPeer: boolean;
  /** Normalised request host (lower case, no port, no trailing dot). */
  host: string;
  /** The canonical path used for routing; middlewares that rewrite the path update `req.url` and this. */
  path: string;
  /** Start time, `performance.now()`. */
  readonly start: number;
  /** Qualified names, set once a router matched. */
  router?: string;
  service?: string;
  /** The server URL the request was sent to. */
  upstream?: string;
  /** For upgrade (WebSocket) requests: the bytes after the headers; the socket is `req.socket`. */
  upgradeHead?: Buffer;
  /** Whether an upstream response has begun (middlewares that buffer or retry need it). */
  responseStarted?: boolean;
  /** Metrics/access-log extras set by middlewares. */
  extra?: Record<string, unknown>;
}

/** A request handler: a middleware-wrapped service. Never throws; answers or forwards. */
export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void;
