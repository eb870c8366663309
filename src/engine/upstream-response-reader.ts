import { PAUSED } from './llhttp.ts';
import type { UpstreamExchange } from './upstream-exchange.ts';
import { contentLength, RAW_BODY_MIN } from './upstream-response-parser.ts';

/**
 * The response side of an upstream connection: what llhttp reports (head, body, end) turned into
 * calls on the exchange, with the framing state of the response being read. Apart from
 * `UpstreamConnection`, which owns the socket, pooling and failures, so each reads on its own.
 */
export abstract class UpstreamResponseReader {
  exchange: UpstreamExchange | undefined = undefined;
  protected informational = false;
  protected complete = false;
  /**
   * The response completed in the read being parsed; the exchange hears of it once the read is
   * parsed and the connection is settled, so a request pipelined behind it can have it at once.
   */
  protected endOwed = false;
  protected endTrailers: string[] | undefined = undefined;
  protected keepAlive = false;
  protected upgraded = false;
  protected partial: string[] | undefined = undefined;
  /** The exchange whose client output is gathered during the current read. */
  protected corked: UpstreamExchange | undefined = undefined;
  /** Body bytes still to come of a response whose body berth counts itself (-1: llhttp frames it). */
  protected rawRemaining = -1;

  /** The first response event of a read: the client's output is gathered until the read is parsed. */
  protected enterRead(): void {
    if (this.corked === undefined && this.exchange !== undefined) {
      this.corked = this.exchange;
      this.corked.beforeRead();
    }
  }

  /** The read is parsed: the client's gathered output goes out. */
  protected leaveRead(): void {
    const x = this.corked;
    this.corked = undefined;
    x?.afterRead();
  }

  /** Header fields llhttp handed over before the head was complete. */
  partHead(headers: string[]): void {
    const list = (this.partial ??= []);
    for (let i = 0; i < headers.length; i++) list.push(headers[i]!);
  }

  /** The head is complete: informational heads are skipped, a large body is counted by berth. */
  headComplete(
    headers: string[] | undefined,
    status: number,
    reason: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    this.enterRead();
    const list = headers ?? this.partial ?? [];
    this.partial = undefined;
    const x = this.exchange;
    // A response nobody asked for: stop here; the connection is closed after this read.
    if (x === undefined || this.complete) return PAUSED;
    if (status < 200 && status !== 101) {
      this.informational = true;
      return 0;
    }
    this.keepAlive = keepAlive;
    if (status === 101 && upgrade) this.upgraded = true;
    // Read before the exchange hands the list to the client's response (taps may edit it).
    const length = status === 101 || status === 204 || status === 304 ? -1 : contentLength(list);
    const r = x.onResponseHead(status, reason, list);
    if (r !== 0 || length < RAW_BODY_MIN || this.exchange !== x) return r;
    // A large body: the parser stops after the head and berth passes the reads on itself.
    this.rawRemaining = length;
    return PAUSED;
  }

  /** A piece of the body, as llhttp framed it. */
  bodyChunk(chunk: Buffer): void {
    this.enterRead();
    if (!this.complete) this.exchange?.onResponseBody(chunk);
  }

  /** The response ended; the exchange hears of it once the read is parsed. */
  messageComplete(): void {
    this.enterRead();
    if (this.informational) {
      this.informational = false;
      this.partial = undefined;
      return;
    }
    if (this.upgraded || this.complete) return;
    this.endTrailers = this.partial;
    this.partial = undefined;
    this.complete = true;
    this.endOwed = true;
  }

  /** Tells `x` its response is complete, once (the connection may already be someone else's). */
  protected deliverEnd(x: UpstreamExchange): void {
    if (!this.endOwed) return;
    const trailers = this.endTrailers;
    this.endOwed = false;
    this.endTrailers = undefined;
    x.onResponseEnd(trailers);
  }
}
