import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { sendStatus } from './answers.ts';
import { fieldsOf, h2RequestHeaders } from './h2-fields.ts';
import type { H2Session, H2SessionPool } from './h2-sessions.ts';
import { HeaderList } from './header-list.ts';
import { ClientBodyError, type BodyConsumer, type ProxyRequest, type RequestContext } from './message.ts';
import { classifyFailure, type ForwardFailure } from './proxy-exchange.ts';
import type { ProxyResponse, ResponseProducer } from './response.ts';
import { mergeUpstreamHeaders, responseTrailers, stripResponseHopByHop } from './upstream-heads.ts';
import type { UpstreamTarget } from './upstream-target.ts';

const STATUS: Readonly<Record<ForwardFailure, number>> = {
  refused: 502,
  reset: 502,
  timeout: 504,
  'dial-timeout': 504,
};

function onHeaderTimeout(x: H2Exchange): void {
  x.headerTimedOut();
}

/**
 * One request forwarded as a stream of an `h2c://` server's HTTP/2 session (gRPC and other
 * HTTP/2-only servers): the body flows with backpressure both ways (the stream's flow control
 * toward the server, the client's writability back), trailers pass through in both directions,
 * and a response that ends with its head (a gRPC "trailers-only" answer) ends the client's stream
 * the same way. Failures before the response began become 502/504; after, the client's response
 * is aborted (an HTTP/2 client sees its stream reset, as the server reset berth's).
 */
export class H2Exchange implements BodyConsumer, ResponseProducer {
  private readonly req: ProxyRequest;
  private readonly res: ProxyResponse;
  private readonly target: UpstreamTarget;
  private readonly sessions: H2SessionPool;
  private readonly headerTimeoutMs: number;
  private readonly passHostHeader: boolean;
  private readonly onFailure: ((kind: ForwardFailure) => void) | undefined;
  private session: H2Session | undefined = undefined;
  private stream: ClientHttp2Stream | undefined = undefined;
  private trailers: IncomingHttpHeaders | undefined = undefined;
  private requestDone = false;
  private bodyWaiting = false;
  private responded = false;
  private finished = false;
  private timedOut = false;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    req: ProxyRequest,
    res: ProxyResponse,
    ctx: RequestContext,
    target: UpstreamTarget,
    sessions: H2SessionPool,
    headerTimeoutMs: number,
    passHostHeader: boolean,
    onFailure: ((kind: ForwardFailure) => void) | undefined,
  ) {
    this.req = req;
    this.res = res;
    this.target = target;
    this.sessions = sessions;
    this.headerTimeoutMs = headerTimeoutMs;
    this.passHostHeader = passHostHeader;
    this.onFailure = onFailure;
    ctx.upstream = target.url;
  }

  start(): void {
    const body = this.req.body;
    const failure = body?.failure;
    if (failure !== undefined) {
      this.onBodyError(failure);
      return;
    }
    this.res.producer = this;
    const h = this.sessions.acquire(this.target);
    this.session = h;
    let stream: ClientHttp2Stream;
    try {
      // Trailers of an HTTP/2 client's body are only known at its end: the stream waits for them.
      stream = h.session.request(h2RequestHeaders(this.req, this.target, this.passHostHeader), {
        endStream: body === null,
        waitForTrailers: body !== null && this.req.http2,
      });
    } catch {
      // A head node:http2 refuses (a repeated single-value field): the server never saw it.
      this.session = undefined;
      this.sessions.release(h);
      this.fail('reset');
      return;
    }
    this.stream = stream;
    stream.on('response', (head: IncomingHttpHeaders, flags: number) => this.onHead(head, flags));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('trailers', (t: IncomingHttpHeaders) => {
      this.trailers = t;
    });
    stream.once('end', () => this.onEnd());
    stream.on('error', (err: NodeJS.ErrnoException) => this.onError(err));
    stream.once('close', () => this.onClose());
    stream.on('drain', () => this.onUpstreamDrain());
    stream.once('wantTrailers', () => this.sendRequestTrailers());
    if (body === null) this.requestDone = true;
    else body.start(this);
    if (this.headerTimeoutMs > 0 && !this.finished)
      this.timer = setTimeout(onHeaderTimeout, this.headerTimeoutMs, this);
  }

  // ---- request body → upstream ----

  onBodyData(chunk: Buffer): boolean {
    const s = this.stream;
    if (s === undefined || this.finished || s.destroyed) return true;
    if (s.write(chunk)) return true;
    this.bodyWaiting = true;
    return false;
  }

  onBodyEnd(): void {
    this.requestDone = true;
    const s = this.stream;
    if (s !== undefined && !s.destroyed) s.end();
  }

  onBodyError(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.stream?.close(constants.NGHTTP2_CANCEL);
    const status = err instanceof ClientBodyError ? err.status : 400;
    if (status === 0) return;
    if (!this.res.headersSent) {
      this.res.closeConnection = true;
      sendStatus(this.res, status);
    } else this.res.destroy();
  }

  private onUpstreamDrain(): void {
    if (!this.bodyWaiting) return;
    this.bodyWaiting = false;
    this.req.body?.resume();
  }

  private sendRequestTrailers(): void {
    const s = this.stream;
    if (s === undefined || s.destroyed) return;
    const raw = this.req.body?.trailers;
    const out: Record<string, string> = {};
    if (raw !== undefined) {
      for (let i = 0; i < raw.length; i += 2) {
        const n = raw[i]!.toLowerCase();
        out[n] = out[n] === undefined ? raw[i + 1]! : `${out[n]}, ${raw[i + 1]!}`;
      }
    }
    try {
      s.sendTrailers(out);
    } catch {
      s.close(constants.NGHTTP2_INTERNAL_ERROR);
    }
  }

  // ---- upstream response → client ----

  private onHead(head: IncomingHttpHeaders, flags: number): void {
    if (this.finished) return;
    clearTimeout(this.timer);
    this.responded = true;
    const res = this.res;
    const ctx = this.req.ctx;
    if (ctx !== undefined) ctx.responseStarted = true;
    const endsHere = (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0;
    res.trailersExpected = !endsHere && this.req.method !== 'HEAD';
    mergeUpstreamHeaders(res.headers, stripResponseHopByHop(fieldsOf(head)));
    res.writeHead(Number(head[':status']) || 502);
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    if (!this.res.write(chunk)) this.stream?.pause();
  }

  onResponseDrain(): void {
    if (this.finished) return;
    this.stream?.resume();
  }

  private onEnd(): void {
    if (this.finished || !this.responded) return;
    this.finished = true;
    const t = this.trailers;
    if (t !== undefined) {
      const list = responseTrailers(fieldsOf(t));
      if (list.length > 0) this.res.trailers = new HeaderList(list);
    }
    if (!this.requestDone) this.req.body?.cancel();
    this.res.end();
  }

  /** The client's response closed: completed, or aborted (the stream to the server is cancelled). */
  onResponseClose(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    const s = this.stream;
    if (s !== undefined && !s.destroyed) s.close(constants.NGHTTP2_CANCEL);
    if (!this.requestDone) this.req.body?.cancel();
  }

  // ---- failures ----

  private onError(err: NodeJS.ErrnoException): void {
    // A session that failed hands each stream an error whose cause is the socket's (refused, timed out).
    const cause: unknown = err.cause;
    const kind = this.timedOut
      ? 'timeout'
      : classifyFailure(cause instanceof Error ? (cause as NodeJS.ErrnoException) : err);
    this.fail(kind);
  }

  private onClose(): void {
    const h = this.session;
    this.session = undefined;
    if (h !== undefined) this.sessions.release(h);
    // Closed without its end (a reset, the session gone): the response cannot complete.
    if (!this.finished) this.fail('reset');
  }

  private fail(kind: ForwardFailure): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    const s = this.stream;
    if (s !== undefined && !s.destroyed) s.close(constants.NGHTTP2_CANCEL);
    if (!this.requestDone) this.req.body?.cancel();
    this.onFailure?.(kind);
    if (this.responded || this.res.headersSent) this.res.destroy();
    else sendStatus(this.res, STATUS[kind]);
  }

  /** No response head within `responseHeaderTimeout`: 504. */
  headerTimedOut(): void {
    this.timer = undefined;
    if (this.finished || this.responded) return;
    this.timedOut = true;
    this.fail('timeout');
  }
}
