import type { Readable } from 'node:stream';
import { bodyReadable } from '../../engine/body.ts';
import type { BodySource } from '../../engine/message.ts';
import type { ProxyRequest } from '../handler.ts';

/**
 * The request-body seam between middlewares and the forwarder. A middleware that consumed the body
 * (buffering, forwardAuth with forwardBody, mirroring) leaves a replacement on the request; the
 * forwarder sends whatever `req.body` is when it runs.
 */

const streams = new WeakMap<BodySource, Readable>();

/** The body as a Node stream (the same one for the same body), for code that wants a stream. */
export function requestBody(req: ProxyRequest): Readable {
  const body = req.body;
  if (body === null) return bodyReadable(null);
  let s = streams.get(body);
  if (s === undefined) {
    s = bodyReadable(body);
    streams.set(body, s);
  }
  return s;
}

/**
 * Installs a replayable buffered body of `length` bytes: sets `content-length`, drops
 * `transfer-encoding`, and opens a fresh body now and for each retry. An empty body is no body.
 */
export function setReplayableBody(req: ProxyRequest, length: number, open: () => BodySource): void {
  req.headers.delete('transfer-encoding');
  if (length > 0 || req.headers.has('content-length')) req.headers.set('content-length', String(length));
  const replay = length > 0 ? open : (): null => null;
  req.bodyReplay = replay;
  req.body = replay();
}

/** Re-arms the body before another attempt; false when it cannot be replayed. */
export function rewindBody(req: ProxyRequest): boolean {
  if (req.bodyReplay !== undefined) {
    req.body = req.bodyReplay();
    return true;
  }
  return req.body === null || !req.body.started;
}

/** Whether the request has a body to send. */
export function hasBody(req: ProxyRequest): boolean {
  return req.body !== null;
}

/** Replaces the body with nothing (error pages fetched with GET). */
export function setEmptyBody(req: ProxyRequest): void {
  req.body?.cancel();
  req.headers.delete('content-length');
  req.headers.delete('transfer-encoding');
  req.bodyReplay = (): null => null;
  req.body = null;
}
