/** What an upstream connection reports to the request it carries. */
export interface UpstreamExchange {
  /** The connection is ready for the request. */
  onConnected(): void;
  /** The response head; returns 1 when the response has no body (a request for HEAD), else 0. */
  onResponseHead(status: number, reason: string, headers: string[]): number;
  onResponseBody(chunk: Buffer): void;
  /** The response is complete (trailers, if any, as a flat list). */
  onResponseEnd(trailers: string[] | undefined): void;
  /** The connection failed before the response completed (refused, reset, timed out, bad framing). */
  onUpstreamFailure(err: Error): void;
  /** A `101` was parsed: the rest of the read (and everything after) belongs to the tunnel. */
  onUpgraded(rest: Buffer): void;
  /** The upstream can take more request body. */
  onUpstreamDrain(): void;
  /** Around each read: output to the client is gathered into one write. */
  beforeRead(): void;
  afterRead(): void;
  /** Whether the body bytes passed on so far are held nowhere any more (their buffers may be freed). */
  bodyReleased?(): boolean;
  /** Whether the whole request (head and body) was written. */
  readonly requestDone: boolean;
}
