import { ExchangeBase, classifyFailure, type ForwardFailure } from './exchange-base.ts';
import { HeaderList, sameName } from './header-list.ts';
import { PAUSED } from './llhttp.ts';
import type { BodyConsumer, ProxyRequest, RequestContext } from './message.ts';
import type { ProxyResponse, ResponseProducer } from './response.ts';
import { relay } from './tunnel.ts';
import type { UpstreamConnection } from './upstream-connection.ts';
import type { UpstreamExchange } from './upstream-exchange.ts';
import {
  mergeUpstreamHeaders,
  requestHead,
  responseTrailers,
  stripResponseHopByHop,
  switchingHead,
} from './upstream-heads.ts';
import type { UpstreamPool } from './upstream-pool.ts';
import type { UpstreamTarget } from './upstream-target.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/**
 * One request forwarded to one server over the pool: the head (and whatever body is already
 * here) goes out in one write, the body follows with backpressure both ways, the response head is
 * stripped of hop-by-hop headers and merged into `res`, and its body is streamed (gathered into
 * one write per upstream read). A WebSocket `101` turns both sockets into a byte relay.
 *
 * Failures before the response began become 502/504 (an idempotent request without a body is
 * sent once more when a kept-alive connection turns out to be closed, as Go's transport does);
 * after it began, the client's response is aborted — never completed short.
 */
export class ProxyExchange extends ExchangeBase implements UpstreamExchange, BodyConsumer, ResponseProducer {
  private readonly pool: UpstreamPool;
  private readonly ctx: RequestContext;
  private conn: UpstreamConnection | undefined = undefined;
  private head = '';
  private chunked = false;
  private sending = false;
  private retried = false;
  private paused = false;
  private upgradeReason = '';
  private upgradeHeaders: string[] | undefined = undefined;

  constructor(
    req: ProxyRequest,
    res: ProxyResponse,
    ctx: RequestContext,
    target: UpstreamTarget,
    pool: UpstreamPool,
    passHostHeader: boolean,
    onFailure: ((kind: ForwardFailure) => void) | undefined,
  ) {
    super(req, res, target, passHostHeader, onFailure);
    this.ctx = ctx;
    this.pool = pool;
  }

  protected abortUpstream(): void {
    const c = this.conn;
    this.conn = undefined;
    c?.destroy();
  }

  start(): void {
    const failure = this.req.body?.failure;
    if (failure !== undefined) {
      this.onBodyError(failure);
      return;
    }
    this.head = requestHead(this.req, this.target, this.passHostHeader);
    this.chunked = this.req.body !== null && this.req.body.length < 0;
    this.res.producer = this;
    this.dial(false);
  }

  private dial(fresh: boolean): void {
    const c = this.pool.acquire(this.target, fresh);
    this.conn = c;
    c.attach(this);
  }

  onConnected(): void {
    const c = this.conn;
    if (c === undefined) return;
    if (this.finished) {
      c.destroy();
      return;
    }
    const out = c.out;
    out.put(this.head);
    const body = this.req.body;
    if (body === null) this.requestDone = true;
    else {
      this.sending = true;
      body.start(this);
      this.sending = false;
    }
    if (!out.flush() && !this.requestDone) this.bodyWaiting = true;
    this.armHeaderTimeout(this.pool.options.responseHeaderTimeoutMs);
  }

  // ---- request body → upstream ----

  onBodyData(chunk: Buffer): boolean {
    const c = this.conn;
    if (c === undefined || this.finished) return true;
    const out = c.out;
    if (this.chunked) {
      out.put(`${chunk.length.toString(16)}\r\n`);
      out.put(chunk);
      out.put('\r\n');
    } else out.put(chunk);
    if (this.sending) return true;
    if (out.flush()) return true;
    this.bodyWaiting = true;
    return false;
  }

  onBodyEnd(): void {
    this.requestDone = true;
    const c = this.conn;
    if (c === undefined) return;
    if (this.chunked) c.out.put('0\r\n\r\n');
    if (!this.sending) c.out.flush();
  }

  onUpstreamDrain(): void {
    if (!this.bodyWaiting) return;
    this.bodyWaiting = false;
    this.req.body?.resume();
  }

  // ---- upstream response → client ----

  onResponseHead(status: number, reason: string, headers: string[]): number {
    if (this.finished) return 0;
    this.clearHeaderTimeout();
    if (status === 101) {
      // A 101 to a request that did not ask to upgrade is a broken upstream.
      if (!this.req.upgrade) {
        this.fail('reset');
        return PAUSED;
      }
      this.responded = true;
      this.upgradeReason = reason;
      this.upgradeHeaders = headers;
      return 0;
    }
    this.responded = true;
    this.ctx.responseStarted = true;
    const res = this.res;
    // An upgrade the upstream refused: its answer is relayed and the connection closes, never a tunnel.
    if (this.req.upgrade) res.closeConnection = true;
    res.statusMessage = reason;
    // An announced trailer section: an HTTP/2 client's stream is kept open for it.
    for (let i = 0; i < headers.length; i += 2)
      if (headers[i]!.length === 7 && sameName(headers[i]!, 'trailer')) {
        res.trailersExpected = true;
        break;
      }
    mergeUpstreamHeaders(res.headers, stripResponseHopByHop(headers));
    res.writeHead(status);
    return this.req.method === 'HEAD' ? 1 : 0;
  }

  onResponseBody(chunk: Buffer): void {
    if (this.finished) return;
    if (!this.res.write(chunk)) this.paused = true;
  }

  bodyReleased(): boolean {
    return this.res.bodyReleased();
  }

  onResponseEnd(trailers: string[] | undefined): void {
    if (this.finished) return;
    this.finished = true;
    // The connection is settled already (pooled, perhaps carrying the next request, or closed).
    this.conn = undefined;
    if (trailers !== undefined && trailers.length > 0) this.res.trailers = new HeaderList(responseTrailers(trailers));
    // The upstream answered before reading the whole body: the rest is not sent.
    if (!this.requestDone) this.req.body?.cancel();
    this.res.end();
  }

  beforeRead(): void {
    this.res.sink.cork?.();
  }

  afterRead(): void {
    this.res.sink.uncork?.();
    if (this.finished) return;
    if (this.paused || this.res.needDrain) {
      this.paused = true;
      this.conn?.pauseReading();
    }
  }

  onResponseDrain(): void {
    if (!this.paused || this.finished) return;
    this.paused = false;
    this.conn?.resumeReading();
  }

  // ---- failures ----

  onUpstreamFailure(err: Error): void {
    if (this.finished) return;
    const reused = this.conn?.reused === true;
    this.conn = undefined;
    const kind = this.timedOut ? 'timeout' : classifyFailure(err as NodeJS.ErrnoException);
    // A kept-alive connection the upstream closed just as the request went out: the request never
    // reached it. Idempotent requests without a body go once more on a fresh connection.
    if (
      !this.responded &&
      !this.retried &&
      reused &&
      kind === 'reset' &&
      this.req.body === null &&
      IDEMPOTENT.has(this.req.method)
    ) {
      this.retried = true;
      this.dial(true);
      return;
    }
    this.fail(kind);
  }

  // ---- WebSocket ----

  onUpgraded(rest: Buffer): void {
    const c = this.conn;
    this.conn = undefined;
    if (c === undefined) return;
    const up = c.socket;
    const origin = this.finished ? undefined : this.req.tunnel?.takeOver();
    this.finished = true;
    if (origin === undefined) {
      up.destroy();
      this.res.destroy();
      return;
    }
    const res = this.res;
    res.statusCode = 101;
    res.headersSent = true;
    res.writableEnded = true;
    const client = origin.socket;
    client.write(switchingHead(this.upgradeReason, this.upgradeHeaders ?? []), 'latin1');
    if (rest.length > 0) client.write(rest);
    if (origin.head.length > 0) up.write(origin.head);
    relay(client, up);
  }
}
