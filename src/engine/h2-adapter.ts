import {
  constants,
  type IncomingHttpHeaders as H2Headers,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { ReceivedBody, type BodyReader } from './body.ts';
import { CONNECTION_SPECIFIC, fieldsOf } from './h2-fields.ts';
import { parseLength } from './h1-head.ts';
import { HeaderList, sameName } from './header-list.ts';
import { ClientBodyError, ProxyRequest } from './message.ts';
import type { RequestHandler } from './request-handler.ts';
import { ProxyResponse, type ResponseSink } from './response.ts';
import { normalizeIp } from '../lib/ip.ts';
import { clientAddressOf, clientPortOf } from '../tcp/client-address.ts';

/** Headers node:http2 only takes once: duplicates keep the first line. */
const SINGLE = new Set([
  'content-type',
  'content-length',
  'location',
  'etag',
  'last-modified',
  'server',
  'date',
  'expires',
  'age',
  'retry-after',
  'content-encoding',
  'content-language',
  'content-location',
  'content-md5',
  'content-range',
  'access-control-allow-origin',
  'access-control-max-age',
  'authorization',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'max-forwards',
  'proxy-authorization',
  'range',
  'referer',
  'user-agent',
  'access-control-allow-credentials',
]);

/**
 * Serves one HTTP/2 stream with the same handler as HTTP/1.1: the request's pseudo-headers become
 * method, target and `Host` (`:authority`, when there is no Host), split `cookie` fields are joined
 * into one (an HTTP/1.1 upstream must get a single Cookie line), and the body is received with
 * backpressure through the stream's own flow control.
 */
export function serveStream(
  stream: ServerHttp2Stream,
  headers: H2Headers,
  rawHeaders: readonly string[],
  socket: Socket,
  handler: RequestHandler,
): void {
  const method = String(headers[':method'] ?? 'GET');
  const path = String(headers[':path'] ?? '/');
  const authority = headers[':authority'];
  const list: string[] = [];
  let cookie: string | undefined;
  let host = false;
  let length = -1;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const n = rawHeaders[i]!;
    if (n.charCodeAt(0) === 58 /* : */) continue;
    const v = rawHeaders[i + 1]!;
    if (n === 'cookie') {
      cookie = cookie === undefined ? v : `${cookie}; ${v}`;
      continue;
    }
    if (n === 'host') host = true;
    else if (n === 'content-length') length = parseLength(v);
    list.push(n, v);
  }
  if (cookie !== undefined) list.push('cookie', cookie);
  if (!host && typeof authority === 'string') list.push('host', authority);
  const sink = new H2Sink(stream);
  let body: ReceivedBody | null = null;
  if (!stream.endAfterHeaders) {
    const b = new ReceivedBody(length, sink);
    body = b;
    sink.body = b;
    stream.on('data', (chunk: Buffer) => b.push(chunk));
    stream.once('trailers', (t: H2Headers) => {
      b.trailers = fieldsOf(t);
    });
    stream.once('end', () => b.end());
    // As node:http2's compatibility layer: the client may wait for this before sending the body.
    if (headers.expect === '100-continue') stream.additionalHeaders({ ':status': 100 });
  }
  const req = new ProxyRequest(
    method,
    path,
    new HeaderList(list),
    body,
    2,
    0,
    socket,
    normalizeIp(clientAddressOf(socket)),
    clientPortOf(socket) ?? 0,
  );
  req.http2 = true;
  const res = new ProxyResponse(req, sink);
  sink.bind(res, handler);
  if (method === 'CONNECT') {
    // Extended CONNECT (WebSocket over HTTP/2) is not offered; plain CONNECT never makes berth a proxy.
    res.setHeader('content-length', '0');
    res.writeHead(405);
    res.end();
    return;
  }
  try {
    handler.request(req, res);
  } catch {
    if (!res.headersSent) {
      res.setHeader('content-length', '0');
      res.writeHead(500);
      res.end();
    } else res.destroy();
  }
}

/** Where an HTTP/2 response goes: `respond` with the head, then DATA frames. */
class H2Sink implements ResponseSink, BodyReader {
  private readonly stream: ServerHttp2Stream;
  private res: ProxyResponse | undefined = undefined;
  private handler: RequestHandler | undefined = undefined;
  /** The request body as received (a middleware may replace `req.body`; this one is still fed). */
  body: ReceivedBody | undefined = undefined;
  private pending: OutgoingHttpHeaders | undefined = undefined;
  private noBody = false;
  private done = false;

  constructor(stream: ServerHttp2Stream) {
    this.stream = stream;
  }

  bind(res: ProxyResponse, handler: RequestHandler): void {
    this.res = res;
    this.handler = handler;
    const s = this.stream;
    s.on('drain', () => res.sinkDrained());
    s.on('wantTrailers', () => this.sendTrailers());
    s.on('error', () => {
      /* 'close' follows */
    });
    s.once('close', () => this.finish(true));
    s.once('aborted', () => {
      this.body?.fail(new ClientBodyError(0, 'the client reset the stream'));
    });
  }

  head(res: ProxyResponse): void {
    const status = res.statusCode;
    this.noBody = res.req.method === 'HEAD' || status === 204 || status === 304;
    const out: OutgoingHttpHeaders = { ':status': status };
    const raw = res.headers.raw;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!.toLowerCase();
      if (CONNECTION_SPECIFIC.has(n)) continue;
      const v = raw[i + 1]!;
      const prior = out[n];
      if (prior === undefined) out[n] = n === 'set-cookie' ? [v] : v;
      else if (n === 'set-cookie') (prior as string[]).push(v);
      else if (!SINGLE.has(n)) out[n] = `${String(prior)}, ${v}`;
    }
    this.pending = out;
  }

  private respond(endStream: boolean): void {
    const h = this.pending;
    if (h === undefined || this.stream.headersSent || this.stream.destroyed) return;
    this.pending = undefined;
    const res = this.res!;
    // Trailers go in a HEADERS frame after the last DATA frame, which node:http2 only allows when asked at `respond`.
    const waitForTrailers = !endStream && !this.noBody && (res.trailersExpected || res.trailers !== undefined);
    try {
      this.stream.respond(h, { endStream, waitForTrailers });
    } catch {
      this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  data(_res: ProxyResponse, chunk: Buffer): boolean {
    if (this.noBody) return true;
    this.respond(false);
    if (this.stream.destroyed) return false;
    return this.stream.write(chunk);
  }

  end(res: ProxyResponse, last: Buffer | undefined): void {
    const s = this.stream;
    // Without a body (or trailers), the HEADERS frame ends the stream: a gRPC "trailers-only"
    // answer must arrive that way, its status in the head.
    const empty =
      last === undefined &&
      (res.bodyBytes === 0 || isEmptyLength(res)) &&
      !res.trailersExpected &&
      res.trailers === undefined;
    if (this.pending !== undefined && (this.noBody || empty)) this.respond(true);
    else {
      this.respond(false);
      if (!s.destroyed && !s.writableEnded) {
        if (last !== undefined && !this.noBody) s.end(last);
        else s.end();
      }
    }
    res.sinkFinished();
    this.finish(false);
  }

  flush(): void {
    this.respond(false);
  }

  private sendTrailers(): void {
    const out: OutgoingHttpHeaders = {};
    const raw = this.res!.trailers?.raw;
    if (raw !== undefined) {
      for (let i = 0; i < raw.length; i += 2) {
        const n = raw[i]!.toLowerCase();
        if (CONNECTION_SPECIFIC.has(n) || n.charCodeAt(0) === 58) continue;
        const prior = out[n];
        out[n] = prior === undefined ? raw[i + 1]! : `${String(prior)}, ${raw[i + 1]!}`;
      }
    }
    try {
      this.stream.sendTrailers(out);
    } catch {
      this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  abort(): void {
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    this.finish(true);
  }

  private finish(aborted: boolean): void {
    if (this.done) return;
    this.done = true;
    const res = this.res!;
    res.sinkClosed(aborted);
    this.handler!.done(res.req, res);
  }

  pauseBody(): void {
    this.stream.pause();
  }

  resumeBody(): void {
    this.stream.resume();
  }

  bodyCancelled(): void {
    // The rest of the request body is not wanted: reset the stream's sending side politely.
    this.stream.resume();
  }
}

/** A response whose head says there is no body (Content-Length: 0) can end with its HEADERS frame. */
function isEmptyLength(res: ProxyResponse): boolean {
  const raw = res.headers.raw;
  for (let i = 0; i < raw.length; i += 2)
    if (raw[i]!.length === 14 && sameName(raw[i]!, 'content-length')) return raw[i + 1] === '0';
  return false;
}
