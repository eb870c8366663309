import type { ServerResponse } from 'node:http';

/** Reason phrases for berth's own answers, kept short and stable for clients and tests. */
const TEXT: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Payload Too Large',
  421: 'Misdirected Request', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

/**
 * Answers with one of berth's own statuses (plain text, like Traefik's "404 page not found").
 * Safe to call on an already-answered response: it then just ends or destroys it.
 */
export function sendStatus(res: ServerResponse, status: number, body?: string, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    // A response already began: the client must see an aborted response, never a fake complete one.
    if (!res.writableEnded) res.destroy();
    return;
  }
  const text = body ?? (status === 404 ? '404 page not found\n' : `${TEXT[status] ?? 'Error'}\n`);
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.setHeader('x-content-type-options', 'nosniff');
  if (extraHeaders) for (const k in extraHeaders) res.setHeader(k, extraHeaders[k]!);
  res.end(text);
}
