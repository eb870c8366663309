import type { ServerResponse } from 'node:http';

/**
 * Answers a request from a middleware (401, 403, 429, redirects…) with a short text body, the way
 * Traefik does. Safe on upgrade requests, where `res` is bound to the raw socket.
 */
export function reply(res: ServerResponse, status: number, body: string, headers?: Record<string, string>): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const buf = Buffer.from(body);
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', buf.length);
  res.writeHead(status);
  res.end(res.req?.method === 'HEAD' ? undefined : buf);
}

/** Go's `http.StatusText` for the statuses middlewares answer with. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

const STATUS_TEXT: Record<number, string> = {
  301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Request Entity Too Large',
  429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The original methods of a tapped response, to write to the client for real. */
export interface RealResponse {
  /** Sends the status line and the headers currently set on `res`. */
  writeHead(status: number): void;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): void;
  /** Puts the original methods back (before handing `res` to another handler). */
  restore(): void;
}

/** What a tapping middleware does with the inner handler's response. */
export interface ResponseTap {
  /** The inner handler committed its status; its headers are those set on `res` now. */
  head(status: number): void;
  /** A body chunk; return false to ask the producer to wait for `drain` on `res`. */
  write(chunk: Buffer): boolean;
  /** The inner handler finished its response. */
  end(): void;
  /** `flushHeaders()` was called: the producer wants bytes out now (SSE). */
  flush?(): void;
}

type Cb = (err?: Error | null) => void;

/**
 * Intercepts the response the inner handler writes to `res` (explicit `writeHead`, implicit headers
 * from `write`/`end`, `flushHeaders`), routing it to `tap`. Headers stay on `res` (setHeader and
 * friends are untouched), so a tap inspects and edits them with the usual API. Patches the instance
 * only; `real.restore()` undoes it.
 */
export function tapResponse(res: ServerResponse, makeTap: (real: RealResponse) => ResponseTap): { reset(): void } {
  const origWriteHead = res.writeHead;
  const origWrite = res.write as (chunk: Buffer) => boolean;
  const origEnd = res.end as (chunk?: Buffer) => ServerResponse;
  const origFlush = res.flushHeaders;
  let headed = false;
  const real: RealResponse = {
    writeHead(status) { origWriteHead.call(res, status); },
    write(chunk) { return origWrite.call(res, chunk); },
    end(chunk) { if (chunk) origEnd.call(res, chunk); else origEnd.call(res); },
    restore() {
      res.writeHead = origWriteHead;
      res.write = origWrite as ServerResponse['write'];
      res.end = origEnd as ServerResponse['end'];
      res.flushHeaders = origFlush;
    },
  };
  const tap = makeTap(real);
  // Implicit headers go through the current `res.writeHead`, so wrappers installed by inner
  // middlewares (header edits) still run before the tap sees the status.
  const commit = (): void => {
    if (!headed) res.writeHead(res.statusCode);
  };
  const toBuffer = (chunk: unknown, encoding: unknown): Buffer =>
    Buffer.isBuffer(chunk) ? chunk : typeof chunk === 'string' ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8') : Buffer.from(chunk as Uint8Array);

  res.writeHead = function writeHead(status: number, a?: unknown, b?: unknown): ServerResponse {
    const headers = typeof a === 'string' ? b : a;
    if (typeof a === 'string') res.statusMessage = a;
    applyHeaders(res, headers);
    res.statusCode = status;
    // A second writeHead (e.g. an error answer after a failed stream) replaces the first.
    headed = true;
    tap.head(status);
    return res;
  } as ServerResponse['writeHead'];
  res.write = function write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const callback = (typeof encoding === 'function' ? encoding : cb) as Cb | undefined;
    commit();
    const ok = tap.write(toBuffer(chunk, encoding));
    if (callback) process.nextTick(callback);
    return ok;
  } as ServerResponse['write'];
  res.end = function end(chunk?: unknown, encoding?: unknown, cb?: unknown): ServerResponse {
    const callback = [chunk, encoding, cb].find((x) => typeof x === 'function') as Cb | undefined;
    commit();
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') tap.write(toBuffer(chunk, encoding));
    tap.end();
    if (callback) res.once('finish', () => callback());
    return res;
  } as ServerResponse['end'];
  res.flushHeaders = function flushHeaders(): void {
    commit();
    tap.flush?.();
  };
  // Before another attempt writes a fresh response (retries).
  return { reset() { headed = false; res.statusCode = 200; } };
}

/** Answers through the real methods while a tap keeps swallowing whatever the inner handler still writes. */
export function realReply(res: ServerResponse, real: RealResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  clearHeaders(res);
  const buf = Buffer.from(body);
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', buf.length);
  real.writeHead(status);
  real.end(res.req?.method === 'HEAD' ? undefined : buf);
}

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (!headers) return;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [k, v] of headers as Array<[string, string]>) res.setHeader(k, v);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) res.setHeader(String(headers[i]), headers[i + 1] as string);
    }
    return;
  }
  for (const [k, v] of Object.entries(headers as Record<string, string | string[] | number>)) {
    if (v !== undefined) res.setHeader(k, v);
  }
}

/** Removes every header currently set on `res` (before another handler answers instead). */
export function clearHeaders(res: ServerResponse): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
}

/** Wraps `writeHead` (explicit or implicit) to edit headers just before they are sent. */
export function beforeHead(res: ServerResponse, edit: (status: number) => void): void {
  const orig = res.writeHead;
  res.writeHead = function writeHead(status: number, a?: unknown, b?: unknown): ServerResponse {
    const headers = typeof a === 'string' ? b : a;
    if (typeof a === 'string') res.statusMessage = a;
    applyHeaders(res, headers);
    res.writeHead = orig;
    edit(status);
    return orig.call(res, status);
  } as ServerResponse['writeHead'];
}
