import type { Socket } from 'node:net';
import { emptyAnswer } from './answers.ts';
import { ReceivedBody } from './body.ts';
import { BODY, CLOSING, H1ConnectionBase, HEAD, IDLE, TUNNEL, WAIT } from './h1-connection-base.ts';
import { requestFraming, type RequestFraming } from './h1-head.ts';
import { H1Input, type H1InputOwner } from './h1-input.ts';
import type { H1ConnectionHost } from './h1-options.ts';
import { H1Writer } from './h1-writer.ts';
import { HeaderList, hasToken } from './header-list.ts';
import { METHODS, PAUSED, type ParseError } from './llhttp.ts';
import { ClientBodyError, ProxyRequest } from './message.ts';
import { ProxyResponse } from './response.ts';
import { normalizeIp } from '../lib/ip.ts';
import { clientAddressOf, clientPortOf } from '../tcp/client-address.ts';

/** Body bytes of an answered request read and dropped to keep the connection; past this it closes. */
const DISCARD_LIMIT = 256 * 1024;
/** llhttp's number for CONNECT. */
const CONNECT = 5;

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

/**
 * One HTTP/1.1 client connection, one request at a time: its `H1Input` parses, its `H1Writer`
 * frames and writes the answer. A pipelined head pauses the parser until the answer before it is
 * out, so answers stay in order and nothing is buffered beyond the socket's own queue. Requests
 * reach the handler once the read that completed their head is parsed, with the body bytes of
 * that read already queued on them.
 */
export class H1Connection extends H1ConnectionBase implements H1InputOwner {
  protected readonly input: H1Input;
  protected readonly writer: H1Writer;
  private readonly remoteIp: string;
  private readonly remotePort: number;
  private readonly framing: RequestFraming = { length: 0, expect: undefined };
  /** A request to hand to the handler once the read is parsed. */
  private ready = false;
  private advancing = false;
  private again = false;
  private held: HeldHead | undefined = undefined;
  /** Bytes read past a held head, parsed once the answer before it is out. */
  private rest: Buffer | undefined = undefined;
  /** Status of a refusal owed after the current answer (a bad pipelined head). */
  private owedRefusal = 0;
  private expectFailed = false;

  constructor(socket: Socket, server: H1ConnectionHost<H1ConnectionBase>) {
    super(socket, server);
    // The client as the listener saw it: a trusted PROXY protocol header's, else the peer.
    this.remoteIp = normalizeIp(clientAddressOf(socket));
    this.remotePort = clientPortOf(socket) ?? 0;
    this.input = new H1Input(socket, server.options.maxHeaderBytes, server.options.maxHeaderCount, this);
    this.writer = new H1Writer(socket, this);
    socket.setNoDelay(true);
    socket.on('data', this.onDataFn);
    socket.on('end', this.onEndFn);
    socket.on('drain', this.onDrainFn);
    socket.on('close', () => this.teardown());
    socket.on('error', () => {
      /* 'close' follows */
    });
    server.track(this);
    // Bytes the dispatcher already read and put back go through 'data' first (read() emits them);
    // then the parser reads the socket's native stream itself, unless HTTP already paused or ended.
    while (socket.readableLength > 0 && socket.read() !== null) {
      /* emitted as 'data' */
    }
    if (this.state < TUNNEL && !this.upgrading && !this.broken && this.held === undefined) this.input.consume();
  }

  // ---- reading ----

  protected onData(chunk: Buffer): void {
    if (this.state >= TUNNEL || this.broken) return;
    if (this.upgrading && this.reqComplete) {
      this.holdTunnelBytes(chunk);
      return;
    }
    if (this.rest !== undefined || this.held !== undefined || this.owedRefusal !== 0) {
      this.rest = this.rest === undefined ? chunk : Buffer.concat([this.rest, chunk]);
      this.input.pauseHeld();
      return;
    }
    if (this.state === IDLE) {
      this.state = HEAD;
      this.headStart = Date.now();
    }
    this.parsed(this.input.execute(chunk), chunk);
    this.afterRead();
  }

  consumed(r: number | ParseError): void {
    if (this.state >= TUNNEL) return;
    // A head that did not complete in this read: the slowloris clock starts.
    if (this.state === IDLE) {
      this.state = HEAD;
      this.headStart = Date.now();
    }
    this.parsed(r, undefined);
    this.afterRead();
  }

  /** What parsing a read said (`chunk` undefined: a consumed read, copied only when needed). */
  private parsed(r: number | ParseError, chunk: Buffer | undefined): void {
    if (typeof r === 'number') {
      if (this.upgrading && this.reqComplete) {
        // The bytes after an upgrade head belong to the tunnel: no more parsing.
        const buf = this.input.bytes(chunk);
        this.input.stopConsuming();
        if (r < buf.length) this.holdTunnelBytes(buf.subarray(r));
      }
      return;
    }
    if (r.code === 'HPE_PAUSED') {
      if (this.owedRefusal !== 0 && this.req === undefined) {
        this.refuse(this.owedRefusal);
        return;
      }
      // A pipelined head waits for the answer before it: the rest is held, read through 'data' from now on.
      const buf = this.input.bytes(chunk);
      this.input.stopConsuming();
      if (r.bytesParsed < buf.length && !this.broken) this.rest = buf.subarray(r.bytesParsed);
      this.input.pauseHeld();
      return;
    }
    this.input.stopConsuming();
    this.parseFailed(r.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400);
  }

  private afterRead(): void {
    if (this.ready) {
      this.ready = false;
      this.dispatch();
    }
    this.advance();
  }

  tooManyHeaders(): void {
    this.broken = true;
    this.owedRefusal = 431;
  }

  head(
    major: number,
    minor: number,
    headers: string[],
    method: number,
    url: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    if (this.req !== undefined || this.owedRefusal !== 0) {
      this.held = { major, minor, headers, method, url, upgrade, keepAlive };
      return PAUSED;
    }
    this.begin(major, minor, headers, method, url, upgrade, keepAlive);
    return 0;
  }

  private begin(
    major: number,
    minor: number,
    headers: string[],
    method: number,
    url: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): void {
    const f = requestFraming(headers, this.framing);
    const body = f.length !== 0 ? new ReceivedBody(f.length, this) : null;
    const req = new ProxyRequest(
      METHODS[method] ?? 'GET',
      url,
      new HeaderList(headers),
      body,
      major,
      minor,
      this.socket,
      this.remoteIp,
      this.remotePort,
    );
    if (this.state === IDLE) this.headStart = Date.now();
    const res = new ProxyResponse(req, this.writer);
    this.req = req;
    this.res = res;
    this.writer.begin(res);
    this.body = body ?? undefined;
    this.reqComplete = false;
    this.keepAlive = keepAlive;
    this.state = BODY;
    if (upgrade && method !== CONNECT) {
      this.upgrading = true;
      req.tunnel = this;
    }
    if (f.expect !== undefined && major === 1 && minor === 1) {
      // Node's server answers the expectation itself; the upstream then gets the body straight away.
      if (!hasToken(f.expect, '100-continue')) this.expectFailed = true;
      else if (body !== null) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.ready = true;
  }

  bodyBytes(chunk: Buffer): void {
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

  messageEnd(): void {
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
    if (req.method === 'CONNECT') {
      res.closeConnection = true;
      emptyAnswer(res, 405);
      return;
    }
    if (this.expectFailed) {
      this.expectFailed = false;
      emptyAnswer(res, 417);
      return;
    }
    try {
      this.server.handler.request(req, res);
    } catch {
      if (!res.headersSent) {
        res.closeConnection = true;
        emptyAnswer(res, 500);
      } else res.destroy();
    }
  }

  /** Moves to the next request once the current one is read and answered. */
  private advance(): void {
    if (this.advancing) {
      this.again = true;
      return;
    }
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
    if (this.input.executing || this.res !== undefined || this.state !== WAIT) return;
    if (this.closeAfter) {
      this.closeGracefully();
      return;
    }
    if (this.owedRefusal !== 0) {
      this.refuse(this.owedRefusal);
      return;
    }
    const h = this.held;
    const rest = this.rest;
    this.held = undefined;
    this.rest = undefined;
    if (h !== undefined) {
      this.input.resume();
      this.headStart = Date.now();
      this.begin(h.major, h.minor, h.headers, h.method, h.url, h.upgrade, h.keepAlive);
    } else if (rest !== undefined) {
      this.state = HEAD;
      this.headStart = Date.now();
    } else {
      this.state = IDLE;
      this.idleSince = Date.now();
      this.input.unpauseHeld();
      return;
    }
    if (rest !== undefined) this.parsed(this.input.execute(rest), rest);
    if (this.held === undefined && this.owedRefusal === 0) this.input.unpauseHeld();
    if (this.ready) {
      this.ready = false;
      this.dispatch();
    }
    this.again = true;
  }

  private parseFailed(status: number): void {
    this.broken = true;
    if (this.req === undefined) {
      this.refuse(status);
      return;
    }
    if (!this.reqComplete) {
      // The error is in the body of the request being answered: it can never complete. A head
      // parsed in this same read is still handed over first, so its own refusals (an unknown
      // Transfer-Encoding: 501) answer it; its body then fails at once.
      this.closeAfter = true;
      this.input.pauseHeld();
      const b = this.body;
      this.body = undefined;
      b?.fail(new ClientBodyError(status, 'invalid request body framing'));
      if (this.ready) {
        this.ready = false;
        this.dispatch();
      }
      this.answerUnlessAnswered(status);
      return;
    }
    // A bad head pipelined behind an answer still owed: refused once that answer is out.
    this.owedRefusal = status;
    this.input.pauseHeld();
  }

  protected forgetHeld(): void {
    this.held = undefined;
    this.rest = undefined;
  }

  protected finishResponse(res: ProxyResponse, aborted: boolean): void {
    if (this.res !== res) return;
    const req = this.req!;
    this.res = undefined;
    this.req = undefined;
    res.sinkClosed(aborted);
    this.server.handler.done(req, res);
    if (aborted || this.state >= TUNNEL) return;
    if (!this.writer.keepAlive || this.upgrading) this.closeAfter = true;
    if (this.closeAfter) {
      this.closeGracefully();
      return;
    }
    // The handler did not read the whole body: read and drop the rest to keep the connection.
    if (!this.reqComplete && this.body !== undefined) this.body.cancel();
    else if (!this.reqComplete) this.bodyCancelled();
    this.advance();
  }
}
