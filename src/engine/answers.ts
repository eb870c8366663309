import type { ProxyResponse } from './response.ts';

/** Reason phrases for berth's own answers, kept short and stable for clients and tests. */
const TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  417: 'Expectation Failed',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/**
 * Answers with one of berth's own statuses (plain text, like Traefik's "404 page not found").
 * Safe to call on an already-answered response: it then aborts it, so the client sees an
 * incomplete response, never a fake complete one.
 */
export function sendStatus(
  res: ProxyResponse,
  status: number,
  body?: string,
  extraHeaders?: Readonly<Record<string, string>>,
): void {
  if (res.headersSent) {
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

/** An answer of the engine's own with no body (405 to CONNECT, 417, 408, 500, 400 after a bad body). */
export function emptyAnswer(res: ProxyResponse, status: number): void {
  res.headers.clear();
  res.setHeader('content-length', '0');
  res.writeHead(status);
  res.end();
}

/** The bytes refusing a request the engine did not read (a bad head, a slowloris): the connection closes after them. */
export function refusal(status: number): string {
  return `HTTP/1.1 ${status} ${TEXT[status] ?? 'Bad Request'}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`;
}
