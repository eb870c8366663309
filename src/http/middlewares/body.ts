import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';

/**
 * The request-body seam between middlewares and the forwarder. A middleware that consumed the body
 * (buffering, forwardAuth with forwardBody) leaves a replacement stream on the request; the
 * forwarder sends `requestBody(req)` upstream instead of `req` (the body of its undici dispatch).
 */
export interface BodyCarrier {
  /** The stream the forwarder must send upstream instead of `req`. */
  berthBody?: Readable;
  /** Re-opens the buffered body from the start, for retries; present when the body is replayable. */
  berthBodyReplay?: () => Readable;
}

/** The stream to send upstream for this request: a replacement if a middleware set one, else `req`. */
export function requestBody(req: IncomingMessage): Readable {
  return (req as IncomingMessage & BodyCarrier).berthBody ?? req;
}

/**
 * Installs a replayable buffered body of `length` bytes: sets `content-length`, drops
 * `transfer-encoding`, and leaves a fresh stream in `berthBody`.
 */
export function setReplayableBody(req: IncomingMessage, length: number, open: () => Readable): void {
  const carrier = req as IncomingMessage & BodyCarrier;
  delete req.headers['transfer-encoding'];
  if (length > 0 || req.headers['content-length'] !== undefined) req.headers['content-length'] = String(length);
  carrier.berthBodyReplay = open;
  carrier.berthBody = open();
}

/** Re-arms `berthBody` before another attempt; false when the body cannot be replayed. */
export function rewindBody(req: IncomingMessage): boolean {
  const carrier = req as IncomingMessage & BodyCarrier;
  if (carrier.berthBodyReplay) {
    carrier.berthBody = carrier.berthBodyReplay();
    return true;
  }
  return !hasBody(req) || !Readable.isDisturbed(req);
}

const kChunked = Symbol('berth.chunked');

/** Records that the client sent a chunked body: the entrypoint removes `Transfer-Encoding` (hop-by-hop) before routing. */
export function markChunked(req: IncomingMessage): void {
  (req as IncomingMessage & { [kChunked]?: boolean })[kChunked] = true;
}

/** Whether the request announces a body (non-zero length, chunked, or an HTTP/2 stream still open after its headers). */
export function hasBody(req: IncomingMessage): boolean {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return cl.trim() !== '0';
  if (req.headers['transfer-encoding'] !== undefined || (req as IncomingMessage & { [kChunked]?: boolean })[kChunked] === true) return true;
  const stream = (req as { stream?: { endAfterHeaders?: boolean } }).stream;
  return stream !== undefined && stream.endAfterHeaders !== true;
}

/** Replaces the body with nothing (error pages fetched with GET). */
export function setEmptyBody(req: IncomingMessage): void {
  setReplayableBody(req, 0, () => Readable.from([]));
  delete req.headers['content-length'];
}
