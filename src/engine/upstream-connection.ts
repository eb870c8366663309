import type { Socket } from 'node:net';
import { destroyParser, reinitialize, type LlhttpParser, type ParseError } from './llhttp.ts';
import { SocketOutput } from './socket-output.ts';
import type { ConnectionPool, OriginConnections } from './transport-options.ts';
import { dialUpstream } from './upstream-dial.ts';
import { UpstreamResponseReader } from './upstream-response-reader.ts';
import type { UpstreamExchange } from './upstream-exchange.ts';
import { UpstreamFailure } from './upstream-failure.ts';
import {
  createResponseParser,
  MAX_RESPONSE_HEAD,
  type NativeHandle,
  type ResponseParserOwner,
} from './upstream-response-parser.ts';
import type { UpstreamTarget } from './upstream-target.ts';

/**
 * One HTTP/1.1 connection to an upstream server: llhttp in response mode, one exchange at a
 * time (no pipelining). Returned to its pool only after a complete, well-framed response on a
 * connection both sides keep alive; a parse error, an unsolicited byte, an early close or a
 * body cut short closes it.
 */
export class UpstreamConnection extends UpstreamResponseReader implements ResponseParserOwner {
  readonly socket: Socket;
  readonly origin: OriginConnections<UpstreamConnection>;
  readonly out: SocketOutput;
  private readonly pool: ConnectionPool<UpstreamConnection>;
  private parser: LlhttpParser | undefined;
  connected = false;
  /** Served an exchange before (a kept-alive connection the upstream may have closed meanwhile). */
  reused = false;
  idleSince = 0;
  private dead = false;
  private error: Error | undefined = undefined;
  private dialTimer: NodeJS.Timeout | undefined;
  /** The socket's native stream while the parser reads it directly. */
  private handle: NativeHandle | undefined = undefined;
  /** The native stream, kept to consume it again after a counted body. */
  private native: NativeHandle | undefined = undefined;
  private readingPaused = false;

  constructor(
    pool: ConnectionPool<UpstreamConnection>,
    origin: OriginConnections<UpstreamConnection>,
    target: UpstreamTarget,
  ) {
    super();
    this.pool = pool;
    this.origin = origin;
    const o = pool.options;
    const socket = dialUpstream(o, origin, target, () => this.onConnect());
    this.socket = socket;
    socket.setNoDelay(true);
    this.out = new SocketOutput(socket);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.exchange?.onUpstreamDrain());
    socket.on('error', (err: Error) => {
      this.error ??= err;
    });
    socket.on('close', () => this.onClose());
    this.dialTimer = setTimeout(() => {
      this.error = new UpstreamFailure(
        'DIAL_TIMEOUT',
        `no connection to ${target.origin} within ${o.dialTimeoutMs} ms`,
      );
      socket.destroy();
    }, o.dialTimeoutMs);
    this.dialTimer.unref();
  }

  /** Whether it can carry another exchange. */
  usable(): boolean {
    // A FIN from the upstream closes the connection at once ('end'), so `dead` covers it.
    return !this.dead && this.connected && !this.socket.destroyed;
  }

  /** Gives the connection to an exchange (right after `acquire`). */
  attach(x: UpstreamExchange): void {
    this.exchange = x;
    this.complete = false;
    this.informational = false;
    this.keepAlive = false;
    if (this.connected) x.onConnected();
  }

  private onConnect(): void {
    clearTimeout(this.dialTimer);
    this.connected = true;
    const { parser, handle } = createResponseParser(this, this.socket);
    this.parser = parser;
    this.handle = handle;
    this.native = handle;
    this.exchange?.onConnected();
  }

  private onData(chunk: Buffer): void {
    const p = this.parser;
    if (this.exchange === undefined || p === undefined) {
      this.destroy();
      return;
    }
    if (this.rawRemaining >= 0) {
      this.rawBody(chunk);
      return;
    }
    try {
      this.afterParse(p.execute(chunk), chunk);
    } finally {
      this.leaveRead();
    }
  }

  /** A read the parser consumed straight from the socket. */
  consumedRead(r: number | ParseError): void {
    try {
      if (this.parser !== undefined) this.afterParse(r, undefined);
    } finally {
      this.leaveRead();
    }
  }

  /** What parsing a read said (`chunk` undefined: a consumed read, copied only when needed). */
  private afterParse(r: number | ParseError, chunk: Buffer | undefined): void {
    const x = this.exchange;
    if (typeof r !== 'number') {
      if (this.rawRemaining >= 0 && r.code === 'HPE_PAUSED' && x !== undefined) {
        this.startRawBody(r.bytesParsed, chunk);
        return;
      }
      this.dead = true;
      if (x !== undefined && !this.complete) {
        this.exchange = undefined;
        x.onUpstreamFailure(new UpstreamFailure('BAD_RESPONSE', `invalid response from the upstream: ${r.reason}`));
      }
      this.destroy();
      // Garbage after a complete response: that response still stands.
      if (x !== undefined) this.deliverEnd(x);
      return;
    }
    // Bytes nobody asked for: the connection cannot be trusted any more.
    if (x === undefined) {
      this.destroy();
      return;
    }
    if (this.upgraded) {
      const buf = chunk ?? this.parser!.getCurrentBuffer();
      this.detach();
      x.onUpgraded(buf.subarray(r));
      return;
    }
    if (this.complete) {
      this.settle(x);
      this.deliverEnd(x);
    }
  }

  /** After a complete response: back to the pool when both sides keep the connection, else closed. */
  private settle(x: UpstreamExchange): void {
    this.exchange = undefined;
    if (this.keepAlive && x.requestDone && !this.dead) {
      this.reused = true;
      this.resumeReading();
      this.pool.release(this);
    } else this.destroy();
  }

  private onEnd(): void {
    const x = this.exchange;
    const p = this.parser;
    if (x !== undefined && this.rawRemaining > 0) {
      this.exchange = undefined;
      x.onUpstreamFailure(
        new UpstreamFailure('BAD_RESPONSE', `response cut short: ${this.rawRemaining} body bytes missing`),
      );
      this.destroy();
      return;
    }
    if (x !== undefined && p !== undefined && !this.complete) {
      // A close-delimited body ends here; anything else was cut short.
      const r = p.finish();
      this.leaveRead();
      if (this.complete) {
        this.keepAlive = false;
        if (this.exchange === x) this.settle(x);
        this.deliverEnd(x);
        return;
      }
      this.exchange = undefined;
      x.onUpstreamFailure(
        r !== undefined
          ? new UpstreamFailure('BAD_RESPONSE', `response cut short: ${r.reason}`)
          : (this.error ?? new UpstreamFailure('CLOSED', 'the upstream closed the connection')),
      );
    }
    this.destroy();
  }

  private onClose(): void {
    clearTimeout(this.dialTimer);
    this.dead = true;
    this.pool.forget(this);
    if (this.parser !== undefined) {
      destroyParser(this.parser);
      this.parser = undefined;
    }
    const x = this.exchange;
    this.exchange = undefined;
    if (x !== undefined && !this.complete)
      x.onUpstreamFailure(this.error ?? new UpstreamFailure('CLOSED', 'the upstream closed the connection'));
  }

  /** Stops reading the response (the client cannot take more). */
  pauseReading(): void {
    this.readingPaused = true;
    if (this.handle !== undefined) this.handle.readStop();
    else this.socket.pause();
  }

  resumeReading(): void {
    this.readingPaused = false;
    if (this.handle !== undefined) this.handle.readStart();
    else this.socket.resume();
  }

  /** The head of a large body was parsed: the rest of this read and the next ones go as they are. */
  private startRawBody(offset: number, chunk: Buffer | undefined): void {
    const buf = chunk ?? this.parser!.getCurrentBuffer();
    const h = this.handle;
    if (h !== undefined) {
      // Back to 'data' events, whose buffers are fresh per read and can be passed on.
      this.handle = undefined;
      this.parser!.unconsume();
      if (this.readingPaused) {
        h.readStart();
        this.socket.pause();
      }
    }
    // The read (a copy, or a 'data' chunk) is berth's alone: it can be freed with the body's reads.
    if (offset < buf.length) this.rawBody(buf.subarray(offset), buf);
  }

  /** Body bytes of a counted body; `read` is the whole read they are part of. */
  private rawBody(chunk: Buffer, read: Buffer = chunk): void {
    const x = this.exchange;
    if (x === undefined) {
      this.destroy();
      return;
    }
    this.enterRead();
    let c = chunk;
    // Bytes past the announced length: nothing the upstream may send, so the connection goes.
    if (c.length > this.rawRemaining) {
      c = c.subarray(0, this.rawRemaining);
      this.dead = true;
    }
    this.rawRemaining -= c.length;
    if (c.length > 0) {
      x.onResponseBody(c);
      this.passedOn(read);
    }
    if (this.rawRemaining !== 0) {
      this.leaveRead();
      return;
    }
    this.rawRemaining = -1;
    this.complete = true;
    this.endOwed = true;
    reinitialize(this.parser!, 'response', MAX_RESPONSE_HEAD);
    // Consumed again for the next response, unless bytes wait in the socket's own buffer.
    const n = this.native;
    if (n !== undefined && !this.dead && this.socket.readableLength === 0) {
      if (this.readingPaused || this.socket.isPaused()) {
        this.socket.resume();
        this.readingPaused = false;
      }
      this.parser!.consume(n);
      this.handle = n;
    }
    try {
      this.settle(x);
      this.deliverEnd(x);
    } finally {
      this.leaveRead();
    }
  }

  /** Hands the socket over to a tunnel: no HTTP on it any more, not pooled. */
  private detach(): void {
    this.dead = true;
    this.exchange = undefined;
    this.pool.forget(this);
    if (this.parser !== undefined) {
      destroyParser(this.parser);
      this.parser = undefined;
    }
    this.handle = undefined;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('end');
    this.socket.removeAllListeners('drain');
    this.socket.removeAllListeners('close');
  }

  /** Closes the connection (not reusable); the exchange, if any, is not told. */
  destroy(): void {
    this.dead = true;
    this.exchange = undefined;
    this.pool.forget(this);
    this.socket.destroy();
  }
}
