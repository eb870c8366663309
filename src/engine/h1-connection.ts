import type { Socket } from 'node:net';
import { ReceivedBody, type BodyReader } from './body.ts';
import { clientAddress } from './client-address.ts';
import { FRAME_CHUNKED, FRAME_LENGTH, FRAME_NONE, lastChunk, parseLength, planResponseHead, type HeadPlan } from './h1-head.ts';
import type { H1Server } from './h1-server.ts';
import { HeaderList, hasToken, sameName } from './header-list.ts';
import { consumableHandle, createParser, destroyParser, METHODS, ON_BODY, ON_EXECUTE, ON_HEADERS, ON_HEADERS_COMPLETE, ON_MESSAGE_COMPLETE, PAUSED, type LlhttpParser, type ParseError } from './llhttp.ts';
import { ClientBodyError, ProxyRequest, type TunnelOrigin } from './message.ts';
import { ProxyResponse, type ResponseSink } from './response.ts';
import { SocketOutput } from './socket-output.ts';

/** Between requests. */
const IDLE = 0;
/** A request head is arriving. */
const HEAD = 1;
/** Its body is arriving. */
const BODY = 2;
/** The request is read; its answer is being produced. */
const WAIT = 3;
/** Handed over to a WebSocket tunnel. */
const TUNNEL = 4;
/** Lingering close: reading and dropping until the client closes too. */
const CLOSING = 5;
const CLOSED = 6;

/** Longest wait for the client's FIN after a lingering close (ms). */
const LINGER_MS = 2000;
/** Body bytes of an answered request read and dropped to keep the connection; past this it closes. */
const DISCARD_LIMIT = 256 * 1024;
/** Bytes a WebSocket handshake may send before the upstream answered it. */
const MAX_TUNNEL_HEAD = 64 * 1024;
/** llhttp's number for CONNECT. */
const CONNECT = 5;
const EMPTY = Buffer.alloc(0);

interface OwnedParser extends LlhttpParser {
  owner: H1Connection;
}

/** A pipelined head parsed while the previous answer was still owed. */
interface HeldHead {
  readonly major: number;
  readonly minor: number;
  readonly headers: string[];
  readonly method: number;
  readonly url: string;
  readonly upgrade: boolean;
  readonly keepAlive: boolean;
}

function onHeaders(this: OwnedParser, headers: string[], url: string): void {
  this.owner.partHead(headers, url);
}

function onHeadersComplete(this: OwnedParser, major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, _status: unknown, _reason: unknown, upgrade: boolean, keepAlive: boolean): number {
  return this.owner.headComplete(major, minor, headers, method, url, upgrade, keepAlive);
}

function onBody(this: OwnedParser, chunk: Buffer): void {
  this.owner.bodyChunk(chunk);
}

function onMessageComplete(this: OwnedParser): void {
  this.owner.messageComplete();
}

function onExecute(this: OwnedParser, result: number | ParseError): void {
  this.owner.consumedRead(result);
}

const TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * One HTTP/1.1 client connection: llhttp in request mode, one request at a time. A pipelined
 * request's head pauses the parser until the answer before it is complete, so answers stay in
 * order and nothing is buffered beyond the socket's own queue. The connection is also the sink of
 * its (single) current response: it frames the body and writes head and body bytes together.
 */
export class H1Connection implements ResponseSink, BodyReader, TunnelOrigin {
  readonly socket: Socket;
  private readonly server: H1Server;
  private parser: LlhttpParser | undefined;
  private readonly remoteIp: string;
  private readonly remotePort: number;
  private state = IDLE;
  private headStart = 0;
  private idleSince: number;
  private req: ProxyRequest | undefined = undefined;
  private res: ProxyResponse | undefined = undefined;
  private body: ReceivedBody | undefined = undefined;
  private reqComplete = true;
  private keepAlive = true;
  private closeAfter = false;
  /** The current request asked to upgrade: bytes after its head belong to the tunnel, not to HTTP. */
  private upgrading = false;
  /** A parse error happened: nothing more is parsed. */
  private broken = false;
  /** A request to hand to the handler once `execute` returns (its body bytes of this read queued). */
  private ready = false;
  private executing = false;
  private advancing = false;
  private again = false;
  private held: HeldHead | undefined = undefined;
  private rest: Buffer | undefined = undefined;
  /** Status of a refusal owed after the current answer (a bad pipelined head). */
  private owedRefusal = 0;
  private expectFailed = false;
  private partial: string[] | undefined = undefined;
  private partialUrl = '';
  private partialCount = 0;
  private discarding = false;
  private discarded = 0;
  private tunnelHead: Buffer | undefined = undefined;
  private pausedBody = false;
  private pausedHeld = false;
  private readonly plan: HeadPlan = { head: '', framing: FRAME_NONE, remaining: 0, keepAlive: true };
  private pendingHead: string | undefined = undefined;
  private readonly out: SocketOutput;
  private lingerTimer: NodeJS.Timeout | undefined = undefined;
  /** The socket's native stream while the parser reads it directly (no 'data' events). */
  private handle: { readStart(): number; readStop(): number } | undefined = undefined;
  private readonly onDataFn = (chunk: Buffer): void => this.onData(chunk);
  private readonly onEndFn = (): void => this.onEnd();
  private readonly onDrainFn = (): void => { this.res?.sinkDrained(); };

  constructor(socket: Socket, server: H1Server) {
    this.socket = socket;
    this.server = server;
    const addr = clientAddress(socket);
    this.remoteIp = addr.address;
    this.remotePort = addr.port;
    const p = createParser('request', server.options.maxHeaderBytes) as OwnedParser;
    p.owner = this;
    p[ON_HEADERS] = onHeaders;
    p[ON_HEADERS_COMPLETE] = onHeadersComplete;
    p[ON_BODY] = onBody;
    p[ON_MESSAGE_COMPLETE] = onMessageComplete;
    this.parser = p;
    this.out = new SocketOutput(socket);
    this.idleSince = Date.now();
    socket.setNoDelay(true);
    socket.on('data', this.onDataFn);
    socket.on('end', this.onEndFn);
    socket.on('drain', this.onDrainFn);
    socket.on('close', () => this.teardown());
    socket.on('error', () => { /* 'close' follows */ });
    server.track(this);
    // Bytes the dispatcher already read and put back go through 'data' first (read() emits them).
    while (socket.readableLength > 0 && socket.read() !== null) { /* emitted as 'data' */ }
    // As node:http does: from then on the parser reads the socket's native stream itself, so a
    // read costs no stream machinery (unless the first bytes already paused or ended HTTP here).
    if (this.state >= TUNNEL || this.pausedHeld || this.pausedBody || this.upgrading || this.broken) return;
    const h = consumableHandle(socket);
    if (h !== undefined) {
      p[ON_EXECUTE] = onExecute;
      p.consume(h);
      this.handle = h;
    }
  }

  // ---- reading ----

  private onData(chunk: Buffer): void {
    if (this.state >= TUNNEL || this.broken) return;
    if (this.upgrading && this.reqComplete) { this.holdTunnelBytes(chunk); return; }
    if (this.rest !== undefined || this.held !== undefined || this.owedRefusal !== 0) {
      this.rest = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
      this.pauseHeld();
      return;
    }
    if (this.state === IDLE) { this.state = HEAD; this.headStart = Date.now(); }
    this.execute(chunk);
    this.afterExecute();
  }

  private execute(chunk: Buffer): void {
    const p = this.parser;
    if (p === undefined) return;
    this.executing = true;
    let r;
    try {
      r = p.execute(chunk);
    } finally {
      this.executing = false;
    }
    this.parsed(r, chunk);
  }

  /** A read the parser consumed straight from the socket. */
  consumedRead(r: number | ParseError): void {
    if (this.state >= TUNNEL) return;
    // A head that did not complete in this read: the slowloris clock starts.
    if (this.state === IDLE) { this.state = HEAD; this.headStart = Date.now(); }
    this.parsed(r, undefined);
    this.afterExecute();
  }

  /** What `execute` said about `chunk` (undefined: the consumed read, copied only when needed). */
  private parsed(r: number | ParseError, chunk: Buffer | undefined): void {
    if (typeof r === 'number') {
      if (this.upgrading && this.reqComplete) {
        // The bytes after an upgrade head belong to the tunnel: no more parsing.
        const buf = chunk ?? this.parser!.getCurrentBuffer();
        this.stopConsuming();
        if (r < buf.length) this.holdTunnelBytes(buf.subarray(r));
      }
      return;
    }
    if (r.code === 'HPE_PAUSED') {
      if (this.owedRefusal !== 0 && this.req === undefined) { this.refuse(this.owedRefusal); return; }
      const buf = chunk ?? this.parser!.getCurrentBuffer();
      // A pipelined head waits for the answer before it: its bytes are held, read through 'data' from now on.
      this.stopConsuming();
      if (r.bytesParsed < buf.length && !this.broken) this.rest = buf.subarray(r.bytesParsed);
      this.pauseHeld();
      return;
    }
    this.stopConsuming();
    this.parseFailed(r.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400);
  }

  /** Back to 'data' events (pipelining, upgrades, errors, closing), keeping any pause in force. */
  private stopConsuming(): void {
    const h = this.handle;
    if (h === undefined) return;
    this.handle = undefined;
    this.parser?.unconsume();
    if (this.pausedBody || this.pausedHeld) { h.readStart(); this.socket.pause(); }
  }

  private afterExecute(): void {
    if (this.ready) { this.ready = false; this.dispatch(); }
    this.advance();
  }

  /** Part of a long head, or trailers. */
  partHead(headers: string[], url: string): void {
    this.partialCount += headers.length;
    if (this.partialCount <= this.server.options.maxHeaderCount * 2 + 2) {
      const list = (this.partial ??= []);
      for (let i = 0; i < headers.length; i++) list.push(headers[i]!);
    }
    this.partialUrl += url;
  }

  headComplete(major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined, upgrade: boolean, keepAlive: boolean): number {
    const lines = headers === undefined ? this.partialCount : headers.length;
    const list = headers ?? this.partial ?? [];
    const target = url ?? this.partialUrl;
    this.partial = undefined;
    this.partialUrl = '';
    this.partialCount = 0;
    // HARDENING: thousands of filler headers must never push a Content-Length out of sight.
    if (lines > this.server.options.maxHeaderCount * 2) {
      this.broken = true;
      this.owedRefusal = 431;
      return PAUSED;
    }
    if (this.req !== undefined || this.owedRefusal !== 0) {
      this.held = { major, minor, headers: list, method, url: target, upgrade, keepAlive };
      return PAUSED;
    }
    this.begin(major, minor, list, method, target, upgrade, keepAlive);
    return 0;
  }

  private begin(major: number, minor: number, headers: string[], method: number, url: string, upgrade: boolean, keepAlive: boolean): void {
    let length = 0;
    let chunked = false;
    let expect: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      const n = headers[i]!;
      if (n.length === 14) {
        if (sameName(n, 'content-length')) { const v = headers[i + 1]!; const l = parseLength(v); length = l >= 0 ? l : Number(v); }
      } else if (n.length === 17) {
        if (sameName(n, 'transfer-encoding')) chunked = true;
      } else if (n.length === 6 && sameName(n, 'expect')) expect = headers[i + 1];
    }
    const hasBody = chunked || length > 0;
    const body = hasBody ? new ReceivedBody(chunked ? -1 : length, this) : null;
    const req = new ProxyRequest(METHODS[method] ?? 'GET', url, new HeaderList(headers), body, major, minor, this.socket, this.remoteIp, this.remotePort);
    if (this.state === IDLE) this.headStart = Date.now();
    this.req = req;
    this.res = new ProxyResponse(req, this);
    this.body = body ?? undefined;
    this.reqComplete = false;
    this.keepAlive = keepAlive;
    this.state = BODY;
    if (upgrade && method !== CONNECT) {
      this.upgrading = true;
      req.tunnel = this;
    }
    if (expect !== undefined && major === 1 && minor === 1) {
      // Node's server answers the expectation itself; the upstream then gets the body straight away.
      if (!hasToken(expect, '100-continue')) this.expectFailed = true;
      else if (hasBody) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.ready = true;
  }

  bodyChunk(chunk: Buffer): void {
    if (this.discarding) {
      this.discarded += chunk.length;
      if (this.discarded > DISCARD_LIMIT && !this.closeAfter) {
        this.closeAfter = true;
        if (this.res === undefined) this.closeGracefully();
      }
      return;
    }
    this.body?.push(chunk);
  }

  messageComplete(): void {
    // Trailers of a request body are dropped: some servers merge them into the headers, past
    // berth's checks of forwarding headers.
    this.partial = undefined;
    this.partialUrl = '';
    this.partialCount = 0;
    this.reqComplete = true;
    this.discarding = false;
    this.discarded = 0;
    if (this.state === BODY) this.state = WAIT;
    const b = this.body;
    this.body = undefined;
    b?.end();
  }

  private dispatch(): void {
    const req = this.req;
    const res = this.res;
    if (req === undefined || res === undefined || this.state >= CLOSING) return;
    if (req.method === 'CONNECT') { res.closeConnection = true; emptyAnswer(res, 405); return; }
    if (this.expectFailed) { this.expectFailed = false; emptyAnswer(res, 417); return; }
    try {
      this.server.handler.request(req, res);
    } catch {
      if (!res.headersSent) { res.closeConnection = true; emptyAnswer(res, 500); } else res.destroy();
    }
  }

  /** Moves to the next request once the current one is read and answered. */
  private advance(): void {
    if (this.advancing) { this.again = true; return; }
    this.advancing = true;
    try {
      do {
        this.again = false;
        this.step();
      } while (this.again);
    } finally {
      this.advancing = false;
    }
  }

  private step(): void {
    if (this.executing || this.res !== undefined || this.state !== WAIT) return;
    if (this.closeAfter) { this.closeGracefully(); return; }
    if (this.owedRefusal !== 0) { this.refuse(this.owedRefusal); return; }
    const h = this.held;
    const rest = this.rest;
    this.held = undefined;
    this.rest = undefined;
    if (h !== undefined) {
      this.parser!.resume();
      this.headStart = Date.now();
      this.begin(h.major, h.minor, h.headers, h.method, h.url, h.upgrade, h.keepAlive);
    } else if (rest !== undefined) {
      this.state = HEAD;
      this.headStart = Date.now();
    } else {
      this.state = IDLE;
      this.idleSince = Date.now();
      this.unpauseHeld();
      return;
    }
    if (rest !== undefined) this.execute(rest);
    if (this.held === undefined && this.owedRefusal === 0) this.unpauseHeld();
    if (this.ready) { this.ready = false; this.dispatch(); }
    this.again = true;
  }

  private parseFailed(status: number): void {
    this.broken = true;
    if (this.req === undefined) { this.refuse(status); return; }
    if (!this.reqComplete) {
      // The error is in the body of the request being answered: it can never complete. A head
      // parsed in this same read is still handed over first, so its own refusals (an unknown
      // Transfer-Encoding: 501) answer it; its body then fails at once.
      const b = this.body;
      this.body = undefined;
      this.closeAfter = true;
      this.pauseHeld();
      b?.fail(new ClientBodyError(status, 'invalid request body framing'));
      if (this.ready) { this.ready = false; this.dispatch(); }
      // Whoever reads the body may have answered already; if not, the engine does.
      const res = this.res;
      if (res !== undefined && !res.headersSent && !res.closed) { res.closeConnection = true; emptyAnswer(res, status); }
      return;
    }
    // A bad head pipelined behind an answer still owed: refused once that answer is out.
    this.owedRefusal = status;
    this.pauseHeld();
  }

  /** Answers a request berth will not read (bad head, slowloris) and closes. */
  private refuse(status: number): void {
    if (this.state >= CLOSING) return;
    this.out.put(`HTTP/1.1 ${status} ${TEXT[status] ?? 'Bad Request'}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    this.closeGracefully();
  }

  private holdTunnelBytes(chunk: Buffer): void {
    this.tunnelHead = this.tunnelHead === undefined ? chunk : Buffer.concat([this.tunnelHead, chunk]);
    if (this.tunnelHead.length > MAX_TUNNEL_HEAD) this.pauseHeld();
  }

  private onEnd(): void {
    if (this.state >= CLOSING) { this.socket.destroy(); return; }
    if (this.state === TUNNEL) return;
    if (this.state === BODY) {
      const b = this.body;
      this.body = undefined;
      b?.fail(new ClientBodyError(0, 'the client closed the connection before the end of the body'));
    }
    this.closeAfter = true;
    if (this.res === undefined) this.closeGracefully();
  }

  // ---- timeouts and drain (called by the server's sweep) ----

  checkTimeouts(now: number): void {
    const o = this.server.options;
    switch (this.state) {
      case HEAD:
        if (now - this.headStart > o.headersTimeoutMs || (o.requestTimeoutMs > 0 && now - this.headStart > o.requestTimeoutMs)) {
          if (this.req === undefined) this.refuse(408);
        }
        return;
      case BODY: {
        if (o.requestTimeoutMs <= 0 || now - this.headStart <= o.requestTimeoutMs || this.broken) return;
        this.broken = true;
        this.closeAfter = true;
        this.pauseHeld();
        const b = this.body;
        this.body = undefined;
        b?.fail(new ClientBodyError(408, 'request body not received within readTimeout'));
        const res = this.res;
        if (res === undefined) this.closeGracefully();
        else if (!res.headersSent && !res.closed) { res.closeConnection = true; emptyAnswer(res, 408); }
        return;
      }
      case IDLE: {
        const s = this.server;
        if (s.draining) { if (now - Math.max(this.idleSince, s.drainStartedAt) >= s.settleMs) this.closeGracefully(); }
        else if (o.idleTimeoutMs > 0 && now - this.idleSince > o.idleTimeoutMs) this.closeGracefully();
        return;
      }
    }
  }

  /** Destroys the connection (the drain's deadline). */
  destroy(): void {
    this.socket.destroy();
    this.teardown();
  }

  /**
   * Closes the way RFC 9112 §9.6 asks: FIN after the last answer, then keep reading (and
   * dropping) until the client closes too, or at most LINGER_MS. Closing at once with unread
   * request bytes would make the kernel send a reset, which the client reports as an error
   * instead of a closed connection it can retry on.
   */
  private closeGracefully(): void {
    if (this.state >= CLOSING) return;
    this.stopConsuming();
    this.state = CLOSING;
    this.out.flush();
    const s = this.socket;
    if (!s.writable) { s.destroy(); return; }
    s.end();
    this.lingerTimer = setTimeout(() => s.destroy(), LINGER_MS);
    this.lingerTimer.unref();
    s.resume();
  }

  private teardown(): void {
    if (this.state === CLOSED) return;
    const tunnel = this.state === TUNNEL;
    this.state = CLOSED;
    clearTimeout(this.lingerTimer);
    this.server.forget(this);
    this.out.discard();
    if (this.parser !== undefined) { destroyParser(this.parser); this.parser = undefined; }
    const res = this.res;
    if (res !== undefined) {
      if (tunnel) res.sinkFinished();
      this.finishResponse(res, !tunnel);
    }
    const b = this.body;
    this.body = undefined;
    b?.fail(new ClientBodyError(0, 'the client connection closed'));
    this.held = undefined;
    this.rest = undefined;
  }

  // ---- backpressure of the request body, pipelining ----

  pauseBody(): void {
    if (!this.pausedBody && !this.pausedHeld) this.stopReading();
    this.pausedBody = true;
  }

  resumeBody(): void {
    if (!this.pausedBody) return;
    this.pausedBody = false;
    if (!this.pausedHeld && this.state < TUNNEL) this.startReading();
  }

  bodyCancelled(): void {
    this.discarding = true;
    this.discarded = 0;
    this.resumeBody();
  }

  private pauseHeld(): void {
    if (this.pausedHeld) return;
    if (!this.pausedBody) this.stopReading();
    this.pausedHeld = true;
  }

  private unpauseHeld(): void {
    if (!this.pausedHeld) return;
    this.pausedHeld = false;
    if (!this.pausedBody && this.state < TUNNEL) this.startReading();
  }

  private stopReading(): void {
    if (this.handle !== undefined) this.handle.readStop();
    else this.socket.pause();
  }

  private startReading(): void {
    if (this.handle !== undefined) this.handle.readStart();
    else this.socket.resume();
  }

  // ---- WebSocket take-over ----

  takeOver(): { socket: Socket; head: Buffer } | undefined {
    if (this.state >= TUNNEL || !this.upgrading || this.res === undefined) return undefined;
    this.stopConsuming();
    this.state = TUNNEL;
    const s = this.socket;
    s.removeListener('data', this.onDataFn);
    s.removeListener('end', this.onEndFn);
    s.removeListener('drain', this.onDrainFn);
    this.out.flush();
    if (this.parser !== undefined) { destroyParser(this.parser); this.parser = undefined; }
    const head = this.tunnelHead ?? EMPTY;
    this.tunnelHead = undefined;
    this.pausedHeld = false;
    this.pausedBody = false;
    return { socket: s, head };
  }

  // ---- the response sink ----

  head(res: ProxyResponse): void {
    if (res !== this.res) return;
    const req = res.req;
    const status = res.statusCode;
    const noBody = req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    const keep = this.keepAlive && !this.closeAfter && !res.closeConnection && !this.server.draining && !this.upgrading;
    planResponseHead(this.plan, status, res.statusMessage, res.headers.raw, noBody, req.httpVersionMajor === 1 && req.httpVersionMinor === 1, keep);
    this.pendingHead = this.plan.head;
  }

  data(res: ProxyResponse, chunk: Buffer): boolean {
    if (res !== this.res) return false;
    this.frame(chunk);
    return this.out.corked > 0 ? true : this.out.flush();
  }

  end(res: ProxyResponse, last: Buffer | undefined): void {
    if (res !== this.res) return;
    if (last !== undefined) this.frame(last);
    else if (this.pendingHead !== undefined) { this.out.put(this.pendingHead); this.pendingHead = undefined; }
    const plan = this.plan;
    if (plan.framing === FRAME_CHUNKED) this.out.put(lastChunk(res.trailers?.raw));
    else if (plan.framing === FRAME_LENGTH && plan.remaining > 0) {
      // Fewer bytes than announced: the client must see an incomplete answer, never a short one.
      this.out.flush();
      this.destroy();
      return;
    }
    if (this.out.corked === 0) this.out.flush();
    res.sinkFinished();
    this.finishResponse(res, false);
  }

  flush(res: ProxyResponse): void {
    if (res !== this.res) return;
    if (this.pendingHead !== undefined) { this.out.put(this.pendingHead); this.pendingHead = undefined; }
    if (this.out.corked === 0) this.out.flush();
  }

  abort(res: ProxyResponse): void {
    if (res !== this.res) return;
    this.out.flush();
    this.destroy();
  }

  /** Gathers writes until `uncork` (the forwarder, around one upstream read). */
  cork(): void {
    this.out.corked++;
  }

  uncork(): void {
    if (--this.out.corked > 0) return;
    if (this.pendingHead !== undefined && this.state < TUNNEL) { this.out.put(this.pendingHead); this.pendingHead = undefined; }
    if (this.out.empty) return;
    if (!this.out.flush() && this.res !== undefined) this.res.needDrain = true;
  }

  private frame(chunk: Buffer): void {
    if (this.pendingHead !== undefined) { this.out.put(this.pendingHead); this.pendingHead = undefined; }
    const plan = this.plan;
    switch (plan.framing) {
      case FRAME_NONE:
        return;
      case FRAME_LENGTH:
        if (chunk.length > plan.remaining) chunk = chunk.subarray(0, plan.remaining);
        plan.remaining -= chunk.length;
        if (chunk.length > 0) this.out.put(chunk);
        return;
      case FRAME_CHUNKED:
        this.out.put(`${chunk.length.toString(16)}\r\n`);
        this.out.put(chunk);
        this.out.put('\r\n');
        return;
      default:
        this.out.put(chunk);
    }
  }

  private finishResponse(res: ProxyResponse, aborted: boolean): void {
    if (this.res !== res) return;
    const req = this.req!;
    this.res = undefined;
    this.req = undefined;
    this.pendingHead = undefined;
    res.sinkClosed(aborted);
    this.server.handler.done(req, res);
    if (aborted || this.state >= TUNNEL) return;
    if (!this.plan.keepAlive || this.upgrading) this.closeAfter = true;
    if (this.closeAfter) { this.closeGracefully(); return; }
    // The handler did not read the whole body: read and drop the rest to keep the connection.
    if (!this.reqComplete && this.body !== undefined) this.body.cancel();
    else if (!this.reqComplete) this.bodyCancelled();
    this.advance();
  }
}

/** An answer of the engine's own with no body (405 to CONNECT, 417, 408, 500). */
function emptyAnswer(res: ProxyResponse, status: number): void {
  res.headers.clear();
  res.setHeader('content-length', '0');
  res.writeHead(status);
  res.end();
}
