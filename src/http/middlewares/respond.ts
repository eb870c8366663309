import type { RealResponse, ResponseTap } from '../../engine/response.ts';
import type { ProxyResponse } from '../handler.ts';

export type { RealResponse, ResponseTap } from '../../engine/response.ts';

/**
 * Answers a request from a middleware (401, 403, 429, redirects…) with a short text body, the way
 * Traefik does. A response that already began is aborted instead.
 */
export function reply(res: ProxyResponse, status: number, body: string, headers?: Record<string, string>): void {
  if (res.headersSent || res.writableEnded) {
    res.destroy();
    return;
  }
  if (headers) for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const buf = Buffer.from(body);
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', buf.length);
  res.writeHead(status);
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

/** Go's `http.StatusText` for the statuses middlewares answer with. */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? '';
}

const STATUS_TEXT: Record<number, string> = {
  301: 'Moved Permanently',
  302: 'Found',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Intercepts the response the inner handler writes to `res` (explicit `writeHead`, implicit heads
 * from `write`/`end`, `flushHeaders`), routing it to the tap `makeTap` builds. Headers stay on
 * `res` (setHeader and friends are untouched), so a tap inspects and edits them with the usual
 * API. `real.restore()` removes the tap; `reset()` lets another attempt head again.
 */
export function tapResponse(res: ProxyResponse, makeTap: (real: RealResponse) => ResponseTap): { reset(): void } {
  return res.addTap(makeTap);
}

/** Answers through the real layer while a tap keeps swallowing whatever the inner handler still writes. */
export function realReply(res: ProxyResponse, real: RealResponse, status: number, body: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  clearHeaders(res);
  const buf = Buffer.from(body);
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', buf.length);
  real.writeHead(status);
  real.end(res.req.method === 'HEAD' ? undefined : buf);
}

/** Removes every header currently set on `res` (before another handler answers instead). */
export function clearHeaders(res: ProxyResponse): void {
  res.headers.clear();
}

/** Edits headers just before the head goes out (explicit or implicit), through a pass-through tap. */
export function beforeHead(res: ProxyResponse, edit: (status: number) => void): void {
  res.addTap((real) => ({
    head(status) {
      edit(status);
      real.writeHead(status);
    },
    write(chunk) {
      return real.write(chunk);
    },
    end() {
      real.end();
    },
    flush() {
      real.flush();
    },
  }));
}
