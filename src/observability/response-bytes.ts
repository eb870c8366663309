import { ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';

/**
 * Counts the body bytes every HTTP response writes, for the access log's `DownstreamContentSize`
 * and the `*_responses_bytes_total` metrics. Node does not track them: `socket.bytesWritten` mixes
 * headers, chunk framing and keep-alive neighbours, and HTTP/2 streams share one socket.
 *
 * The count rides on the response object under a symbol and is added by a thin wrapper around
 * the prototypes' `write`/`end`, installed once: no per-request closure or listener.
 */
const kBytes = Symbol('berth.responseBytes');

type Counted = { [kBytes]?: number; writableEnded: boolean };

let installed = false;

function size(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return 0;
}

/** Installs the counters (idempotent). Call before the first request is served. */
export function installResponseByteCounter(): void {
  if (installed) return;
  installed = true;
  const h1 = ServerResponse.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const write1 = h1.write!;
  const end1 = h1.end!;
  h1.write = function write(this: Counted, chunk: unknown, encoding: unknown, cb: unknown) {
    if (!this.writableEnded) this[kBytes] = (this[kBytes] ?? 0) + size(chunk, encoding);
    return write1.call(this, chunk, encoding, cb);
  };
  h1.end = function end(this: Counted, chunk: unknown, encoding: unknown, cb: unknown) {
    // Node's own `end` writes its chunk without going through `this.write`.
    if (!this.writableEnded && chunk !== null && typeof chunk !== 'function') this[kBytes] = (this[kBytes] ?? 0) + size(chunk, encoding);
    return end1.call(this, chunk, encoding, cb);
  };
  // HTTP/2's compatibility `end(chunk)` calls `this.write(chunk)`: counting `write` is enough.
  const h2 = Http2ServerResponse.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  const write2 = h2.write!;
  h2.write = function write(this: Counted, chunk: unknown, encoding: unknown, cb: unknown) {
    if (!this.writableEnded) this[kBytes] = (this[kBytes] ?? 0) + size(chunk, encoding);
    return write2.call(this, chunk, encoding, cb);
  };
}

/**
 * Body bytes written to `res` so far. HEAD responses and 204/304 carry no body whatever was
 * written, so they count 0.
 */
export function responseBytes(res: object, method: string | undefined, status: number): number {
  if (method === 'HEAD' || status === 204 || status === 304) return 0;
  return (res as Counted)[kBytes] ?? 0;
}

/** Request body size as announced (`content-length`); 0 when absent or chunked. */
export function requestBytes(headers: { 'content-length'?: string | undefined }): number {
  const v = headers['content-length'];
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
