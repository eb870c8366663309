import type { Socket } from 'node:net';
import { FRAME_CHUNKED, FRAME_LENGTH, FRAME_NONE, lastChunk, planResponseHead, type HeadPlan } from './h1-head.ts';
import type { ProxyResponse, ResponseSink } from './response.ts';
import { SocketOutput } from './socket-output.ts';

/** What an HTTP/1.1 writer needs from its connection. */
export interface H1WriterOwner {
  /** Whether the connection may stay open after this answer (client, drain, upgrade, refusals). */
  keepAliveFor(res: ProxyResponse): boolean;
  /** The answer is complete: every byte was handed to the socket. */
  finished(res: ProxyResponse): void;
  /** The connection must close at once: the client sees an incomplete answer. */
  abortConnection(): void;
}

/**
 * The sink of an HTTP/1.1 connection's current answer (one at a time): frames the body as its
 * head says (Content-Length, chunked, close-delimited, none for HEAD/204/304), and writes head,
 * body bytes and framing together — the head waits for the first body bytes (or the end of the
 * current upstream read, or `flushHeaders`) so a small answer leaves in one write.
 */
export class H1Writer implements ResponseSink {
  readonly out: SocketOutput;
  /** The answer being written. */
  res: ProxyResponse | undefined = undefined;
  private readonly owner: H1WriterOwner;
  private readonly plan: HeadPlan = { head: '', framing: FRAME_NONE, remaining: 0, keepAlive: true };
  private pendingHead: string | undefined = undefined;

  constructor(socket: Socket, owner: H1WriterOwner) {
    this.out = new SocketOutput(socket);
    this.owner = owner;
  }

  /** Whether the last answer planned leaves the connection open. */
  get keepAlive(): boolean {
    return this.plan.keepAlive;
  }

  /** Starts a new answer. */
  begin(res: ProxyResponse): void {
    this.res = res;
    this.pendingHead = undefined;
  }

  head(res: ProxyResponse): void {
    if (res !== this.res) return;
    const req = res.req;
    const status = res.statusCode;
    const noBody = req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
    planResponseHead(
      this.plan,
      status,
      res.statusMessage,
      res.headers.raw,
      noBody,
      req.httpVersionMajor === 1 && req.httpVersionMinor === 1,
      this.owner.keepAliveFor(res),
    );
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
    else this.putHead();
    const plan = this.plan;
    if (plan.framing === FRAME_CHUNKED) this.out.put(lastChunk(res.trailers?.raw));
    else if (plan.framing === FRAME_LENGTH && plan.remaining > 0) {
      // Fewer bytes than announced: the client must see an incomplete answer, never a short one.
      this.out.flush();
      this.owner.abortConnection();
      return;
    }
    if (this.out.corked === 0) this.out.flush();
    this.res = undefined;
    res.sinkFinished();
    this.owner.finished(res);
  }

  flush(res: ProxyResponse): void {
    if (res !== this.res) return;
    this.putHead();
    if (this.out.corked === 0) this.out.flush();
  }

  abort(res: ProxyResponse): void {
    if (res !== this.res) return;
    this.out.flush();
    this.owner.abortConnection();
  }

  released(): boolean {
    return !this.out.holding;
  }

  /** Gathers writes until `uncork` (the forwarder, around one upstream read). */
  cork(): void {
    this.out.corked++;
  }

  uncork(): void {
    if (--this.out.corked > 0) return;
    this.putHead();
    if (this.out.empty) return;
    if (!this.out.flush() && this.res !== undefined) this.res.needDrain = true;
  }

  /** Bytes of the engine's own, outside any answer (a refusal of a request it did not read). */
  raw(text: string): void {
    this.out.put(text);
  }

  /** Forgets the current answer (the connection is gone). */
  reset(): void {
    this.res = undefined;
    this.pendingHead = undefined;
    this.out.discard();
  }

  private putHead(): void {
    if (this.pendingHead === undefined) return;
    this.out.put(this.pendingHead);
    this.pendingHead = undefined;
  }

  private frame(chunk: Buffer): void {
    this.putHead();
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
}
