import type { Socket } from 'node:net';
import { emptyAnswer, refusal } from './answers.ts';
import type { BodyReader, ReceivedBody } from './body.ts';
import type { H1Input } from './h1-input.ts';
import type { H1ConnectionHost } from './h1-options.ts';
import type { H1Writer, H1WriterOwner } from './h1-writer.ts';
import { ClientBodyError, type ProxyRequest, type TunnelOrigin } from './message.ts';
import type { ProxyResponse } from './response.ts';

/** Between requests. */
export const IDLE = 0;
/** A request head is arriving. */
export const HEAD = 1;
/** Its body is arriving. */
export const BODY = 2;
/** The request is read; its answer is being produced. */
export const WAIT = 3;
/** Handed over to a WebSocket tunnel. */
export const TUNNEL = 4;
/** Lingering close: reading and dropping until the client closes too. */
export const CLOSING = 5;
export const CLOSED = 6;

/** Longest wait for the client's FIN after a lingering close (ms). */
const LINGER_MS = 2000;
/** Bytes a WebSocket handshake may send before the upstream answered it. */
const MAX_TUNNEL_HEAD = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * The life of an HTTP/1.1 client connection around its requests: the state every part reads,
 * the sweep's timeouts (slowloris, readTimeout, idleTimeout, the drain's settle time), the
 * lingering close, tear-down, and the hand-over to a WebSocket tunnel. `H1Connection` adds the
 * requests themselves.
 */
export abstract class H1ConnectionBase implements H1WriterOwner, BodyReader, TunnelOrigin {
  readonly socket: Socket;
  protected readonly server: H1ConnectionHost<H1ConnectionBase>;
  protected abstract readonly input: H1Input;
  protected abstract readonly writer: H1Writer;
  protected state = IDLE;
  /** When the current request's first bytes were seen (the sweep's clock for heads and bodies). */
  protected headStart = 0;
  protected idleSince = Date.now();
  protected req: ProxyRequest | undefined = undefined;
  protected res: ProxyResponse | undefined = undefined;
  protected body: ReceivedBody | undefined = undefined;
  protected reqComplete = true;
  /** The client's keep-alive wish for the current request. */
  protected keepAlive = true;
  protected closeAfter = false;
  /** The current request asked to upgrade: bytes after its head belong to the tunnel, not to HTTP. */
  protected upgrading = false;
  /** A parse error happened: nothing more is parsed. */
  protected broken = false;
  protected discarding = false;
  protected discarded = 0;
  protected tunnelHead: Buffer | undefined = undefined;
  private lingerTimer: NodeJS.Timeout | undefined = undefined;
  protected readonly onDataFn = (chunk: Buffer): void => this.onData(chunk);
  protected readonly onEndFn = (): void => this.onEnd();
  protected readonly onDrainFn = (): void => {
    this.res?.sinkDrained();
  };

  constructor(socket: Socket, server: H1ConnectionHost<H1ConnectionBase>) {
    this.socket = socket;
    this.server = server;
  }

  protected abstract onData(chunk: Buffer): void;
  protected abstract finishResponse(res: ProxyResponse, aborted: boolean): void;
  /** Drops what a paused parser holds (tear-down). */
  protected abstract forgetHeld(): void;

  /** Whoever reads a failed body may have answered already; if not, the engine does. */
  protected answerUnlessAnswered(status: number): void {
    const res = this.res;
    if (res === undefined) this.closeGracefully();
    else if (!res.headersSent && !res.closed) {
      res.closeConnection = true;
      emptyAnswer(res, status);
    }
  }

  /** Answers a request berth will not read (bad head, slowloris) and closes. */
  protected refuse(status: number): void {
    if (this.state >= CLOSING) return;
    this.writer.raw(refusal(status));
    this.closeGracefully();
  }

  protected holdTunnelBytes(chunk: Buffer): void {
    this.tunnelHead = this.tunnelHead === undefined ? chunk : Buffer.concat([this.tunnelHead, chunk]);
    if (this.tunnelHead.length > MAX_TUNNEL_HEAD) this.input.pauseHeld();
  }

  protected onEnd(): void {
    if (this.state >= CLOSING) {
      this.socket.destroy();
      return;
    }
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
        if (
          now - this.headStart > o.headersTimeoutMs ||
          (o.requestTimeoutMs > 0 && now - this.headStart > o.requestTimeoutMs)
        )
          this.refuse(408);
        return;
      case BODY: {
        if (o.requestTimeoutMs <= 0 || now - this.headStart <= o.requestTimeoutMs || this.broken) return;
        this.broken = true;
        this.closeAfter = true;
        this.input.pauseHeld();
        const b = this.body;
        this.body = undefined;
        b?.fail(new ClientBodyError(408, 'request body not received within readTimeout'));
        this.answerUnlessAnswered(408);
        return;
      }
      case IDLE: {
        const s = this.server;
        if (s.draining) {
          if (now - Math.max(this.idleSince, s.drainStartedAt) >= s.settleMs) this.closeGracefully();
        } else if (o.idleTimeoutMs > 0 && now - this.idleSince > o.idleTimeoutMs) this.closeGracefully();
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
  protected closeGracefully(): void {
    if (this.state >= CLOSING) return;
    this.input.stopConsuming();
    this.state = CLOSING;
    this.writer.out.flush();
    const s = this.socket;
    if (!s.writable) {
      s.destroy();
      return;
    }
    s.end();
    this.lingerTimer = setTimeout(() => s.destroy(), LINGER_MS);
    this.lingerTimer.unref();
    s.resume();
  }

  protected teardown(): void {
    if (this.state === CLOSED) return;
    const tunnel = this.state === TUNNEL;
    this.state = CLOSED;
    clearTimeout(this.lingerTimer);
    this.server.forget(this);
    this.writer.reset();
    this.input.destroy();
    const res = this.res;
    if (res !== undefined) {
      if (tunnel) res.sinkFinished();
      this.finishResponse(res, !tunnel);
    }
    const b = this.body;
    this.body = undefined;
    b?.fail(new ClientBodyError(0, 'the client connection closed'));
    this.forgetHeld();
  }

  // ---- the body's reader ----

  pauseBody(): void {
    if (this.state < TUNNEL) this.input.pauseBody();
  }

  resumeBody(): void {
    if (this.state < TUNNEL) this.input.resumeBody();
  }

  bodyCancelled(): void {
    this.discarding = true;
    this.discarded = 0;
    this.resumeBody();
  }

  // ---- WebSocket take-over ----

  takeOver(): { socket: Socket; head: Buffer } | undefined {
    if (this.state >= TUNNEL || !this.upgrading || this.res === undefined) return undefined;
    this.input.stopConsuming();
    this.input.clearPauses();
    this.state = TUNNEL;
    const s = this.socket;
    s.removeListener('data', this.onDataFn);
    s.removeListener('end', this.onEndFn);
    s.removeListener('drain', this.onDrainFn);
    this.writer.out.flush();
    this.input.destroy();
    const head = this.tunnelHead ?? EMPTY;
    this.tunnelHead = undefined;
    return { socket: s, head };
  }

  // ---- the writer's owner ----

  keepAliveFor(res: ProxyResponse): boolean {
    return this.keepAlive && !this.closeAfter && !res.closeConnection && !this.server.draining && !this.upgrading;
  }

  finished(res: ProxyResponse): void {
    this.finishResponse(res, false);
  }

  abortConnection(): void {
    this.destroy();
  }
}
