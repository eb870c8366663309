import { constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { ExchangeBase, classifyFailure, type ForwardFailure } from './exchange-base.ts';
import { fieldsOf, h2RequestHeaders } from './h2-fields.ts';
import type { H2Session, H2SessionPool } from './h2-sessions.ts';
import { HeaderList } from './header-list.ts';
import type { BodyConsumer, ProxyRequest, RequestContext } from './message.ts';
import type { ProxyResponse, ResponseProducer } from './response.ts';
import { mergeUpstreamHeaders, responseTrailers, stripResponseHopByHop } from './upstream-heads.ts';
import type { UpstreamTarget } from './upstream-target.ts';

/**
 * One request forwarded as a stream of an `h2c://` server's HTTP/2 session (gRPC and other
 * HTTP/2-only servers): the body flows with backpressure both ways (the stream's flow control
 * toward the server, the client's writability back), trailers pass through in both directions,
 * and a response that ends with its head (a gRPC "trailers-only" answer) ends the client's stream
 * the same way. Failures before the response began become 502/504; after, the client's response
 * is aborted (an HTTP/2 client sees its stream reset, as the server reset berth's).
 */
export class H2Exchange extends ExchangeBase implements BodyConsumer, ResponseProducer {
  private readonly sessions: H2SessionPool;
  private readonly headerTimeoutMs: number;
  private session: H2Session | undefined = undefined;
  private stream: ClientHttp2Stream | undefined = undefined;
  private trailers: IncomingHttpHeaders | undefined = undefined;

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
    super(req, res, target, passHostHeader, onFailure);
    this.sessions = sessions;
    this.headerTimeoutMs = headerTimeoutMs;
    ctx.upstream = target.url;
  }

  protected abortUpstream(): void {
    const s = this.stream;
    if (s !== undefined && !s.destroyed) s.close(constants.NGHTTP2_CANCEL);
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
    this.armHeaderTimeout(this.headerTimeoutMs);
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
    this.clearHeaderTimeout();
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
}
