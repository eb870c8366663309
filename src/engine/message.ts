import type { Socket } from 'node:net';
import type { HeaderList } from './header-list.ts';

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
  /** Whether an upstream response has begun (middlewares that buffer or retry need it). */
  responseStarted?: boolean;
  /** Metrics/access-log extras set by middlewares. */
  extra?: Record<string, unknown>;
}

/** Who takes a request body: the forwarder, or a middleware reading it. */
export interface BodyConsumer {
  /** One chunk; return false to stop the flow until `BodySource.resume()`. */
  onBodyData(chunk: Buffer): boolean;
  /** The body is complete. */
  onBodyEnd(): void;
  /** The body cannot complete (client gone, framing error, disk error of a spooled body). */
  onBodyError(err: Error): void;
}

/**
 * A request body as the engine delivers it: chunks pushed to one consumer, paused by the
 * consumer's backpressure (which pauses the client socket or stream behind it).
 */
export interface BodySource {
  /** Bytes announced (Content-Length), or -1 when unknown (chunked, HTTP/2 without a length). */
  readonly length: number;
  /** Whether `start` was called: a body can be read once (replayable bodies make a fresh source). */
  readonly started: boolean;
  /** Why the body can no longer complete, once that is known (nothing worth forwarding then). */
  readonly failure?: Error | undefined;
  /** Trailers that followed the body (an HTTP/2 client's trailing HEADERS), once it ended. */
  readonly trailers?: readonly string[] | undefined;
  /** Attaches the consumer; chunks already received are delivered at once. */
  start(consumer: BodyConsumer): void;
  /** Delivers again after `onBodyData` returned false. */
  resume(): void;
  /** The consumer gives the body up: the rest is read and dropped (or the stream reset). */
  cancel(): void;
}

/** An HTTP/1 connection a WebSocket handshake can take over once the upstream said `101`. */
export interface TunnelOrigin {
  /** Stops HTTP on the connection and hands over its socket and the bytes already read past the head. */
  takeOver(): { socket: Socket; head: Buffer } | undefined;
}

/**
 * One request, the same for HTTP/1.1 and HTTP/2: method, origin-form target and the header list
 * as received (pseudo-headers of HTTP/2 turned into `Host`). Middlewares edit it in place before
 * the forwarder serializes it upstream.
 */
export class ProxyRequest {
  method: string;
  /** Origin-form target (path and query); rewritten by the entrypoint and path middlewares. */
  url: string;
  headers: HeaderList;
  /** The body, or null when the request has none. */
  body: BodySource | null;
  /** Opens the body again from its start (set when a middleware buffered it), for retries. */
  bodyReplay: (() => BodySource | null) | undefined = undefined;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** The client's socket: the TLS socket for HTTPS (TLS details, the 421 check). */
  readonly socket: Socket | undefined;
  /** The peer's address as berth sees it (normalised; a trusted PROXY protocol header's client, see `clientAddressOf`). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Received over HTTP/2 (an HTTP/1 request line may also claim version 2.0: that one is refused). */
  http2 = false;
  /** A WebSocket handshake (HTTP/1.1 `Upgrade: websocket`): the forwarder relays bytes after `101`. */
  upgrade = false;
  /** The connection an upgrade takes over. */
  tunnel: TunnelOrigin | undefined = undefined;
  /** Set by the entrypoint's request handler. */
  ctx: RequestContext | undefined = undefined;

  constructor(
    method: string,
    url: string,
    headers: HeaderList,
    body: BodySource | null,
    major: number,
    minor: number,
    socket: Socket | undefined,
    remoteAddress: string,
    remotePort: number,
  ) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.body = body;
    this.httpVersionMajor = major;
    this.httpVersionMinor = minor;
    this.httpVersion = major === 1 ? (minor === 1 ? '1.1' : '1.0') : major === 2 ? '2.0' : `${major}.${minor}`;
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    this.remotePort = remotePort;
  }
}

/**
 * Why a client's body could not complete: a framing error (400), a body too slow for
 * `readTimeout` (408), or the client gone (0: nobody to answer). Whoever consumes the body
 * answers with `status` when its response has not started.
 */
export class ClientBodyError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ClientBodyError';
    this.status = status;
  }
}
