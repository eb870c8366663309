import { PAUSED } from './llhttp.ts';
import type { UpstreamExchange } from './upstream-exchange.ts';
import { contentLength, RAW_BODY_MIN } from './upstream-response-parser.ts';

/** Reads at least this large are freed as soon as the client took them (see `reclaim`). */
const RECLAIM_MIN = 16 * 1024;

/**
 * Gives the memory of a read of a large body back at once when nothing holds it any more (the
 * client's socket took every byte and no tap kept the chunk). Each read is a fresh ArrayBuffer of
 * up to 64 KiB outside V8's heap that dies young, but a body relayed at hundreds of MiB/s piles
 * them up as external memory faster than anything fills the young generation, and V8 answers that
 * with full mark-compact collections: several a second, each stopping the loop for 10–20 ms.
 * Detaching frees it now. Only a chunk that owns its whole buffer qualifies: a fresh 'data' read,
 * or llhttp's copy of a body part.
 */
function reclaim(chunk: Buffer, x: UpstreamExchange): void {
  const ab = chunk.buffer;
  if (
    chunk.length >= RECLAIM_MIN &&
    chunk.byteOffset === 0 &&
    ab instanceof ArrayBuffer &&
    chunk.byteLength === ab.byteLength &&
    x.bodyReleased?.() === true
  )
    ab.transfer(0);
}

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
  /** Large reads handed to the exchange during the current read, freed after it when nothing holds them. */
  private passed: Buffer[] | undefined = undefined;

  /** The first response event of a read: the client's output is gathered until the read is parsed. */
  protected enterRead(): void {
    if (this.corked === undefined && this.exchange !== undefined) {
      this.corked = this.exchange;
      this.corked.beforeRead();
    }
  }

  /** The read is parsed: the client's gathered output goes out, and the reads it took are freed. */
  protected leaveRead(): void {
    const x = this.corked;
    this.corked = undefined;
    x?.afterRead();
    const passed = this.passed;
    if (passed === undefined) return;
    this.passed = undefined;
    if (x !== undefined) for (let i = 0; i < passed.length; i++) reclaim(passed[i]!, x);
  }

  /** `chunk` (or a part of it) went to the exchange in this read: a candidate for `reclaim`. */
  protected passedOn(chunk: Buffer): void {
    if (chunk.length >= RECLAIM_MIN) (this.passed ??= []).push(chunk);
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
    const x = this.exchange;
    if (this.complete || x === undefined) return;
    x.onResponseBody(chunk);
    // llhttp's copy, the chunk's own buffer.
    this.passedOn(chunk);
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
