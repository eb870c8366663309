import type { Socket } from 'node:net';
import {
  consumableHandle,
  createParser,
  destroyParser,
  ON_BODY,
  ON_EXECUTE,
  ON_HEADERS,
  ON_HEADERS_COMPLETE,
  ON_MESSAGE_COMPLETE,
  PAUSED,
  type LlhttpParser,
  type ParseError,
} from './llhttp.ts';

/** What the input reports to its connection. */
export interface H1InputOwner {
  /** A complete head within the header-count limit; return 0 to go on, or `PAUSED` after holding it. */
  head(
    major: number,
    minor: number,
    headers: string[],
    method: number,
    url: string,
    upgrade: boolean,
    keepAlive: boolean,
  ): number;
  /** More header lines than the limit: the parser stops right after the head. */
  tooManyHeaders(): void;
  bodyBytes(chunk: Buffer): void;
  messageEnd(): void;
  /** A read the parser consumed straight from the socket was parsed. */
  consumed(r: number | ParseError): void;
}

interface OwnedParser extends LlhttpParser {
  owner: H1Input;
}

function onHeaders(this: OwnedParser, headers: string[], url: string): void {
  this.owner.partHead(headers, url);
}

function onHeadersComplete(
  this: OwnedParser,
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _status: unknown,
  _reason: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  return this.owner.headComplete(major, minor, headers, method, url, upgrade, keepAlive);
}

function onBody(this: OwnedParser, chunk: Buffer): void {
  this.owner.owner.bodyBytes(chunk);
}

function onMessageComplete(this: OwnedParser): void {
  this.owner.messageComplete();
}

function onExecute(this: OwnedParser, result: number | ParseError): void {
  this.owner.owner.consumed(result);
}

/**
 * The read side of an HTTP/1.1 client connection: llhttp in request mode over the socket, fed
 * either from 'data' events or, as node:http does, straight from the socket's native stream
 * (no stream machinery per read). It assembles heads spread over reads, enforces the header-count
 * limit, drops request trailers, and pauses the socket for two reasons that stack: the body's
 * consumer is full, or a pipelined head waits for the answer before it.
 */
export class H1Input {
  readonly owner: H1InputOwner;
  private readonly socket: Socket;
  private parser: LlhttpParser | undefined;
  private readonly maxHeaderCount: number;
  private partial: string[] | undefined = undefined;
  private partialUrl = '';
  private partialCount = 0;
  /** The native stream while the parser consumes it. */
  private handle: { readStart(): number; readStop(): number } | undefined = undefined;
  private pausedBody = false;
  private pausedHeld = false;
  /** Inside `execute`: callbacks must not re-enter the parser. */
  executing = false;

  constructor(socket: Socket, maxHeaderBytes: number, maxHeaderCount: number, owner: H1InputOwner) {
    this.socket = socket;
    this.owner = owner;
    this.maxHeaderCount = maxHeaderCount;
    const p = createParser('request', maxHeaderBytes) as OwnedParser;
    p.owner = this;
    p[ON_HEADERS] = onHeaders;
    p[ON_HEADERS_COMPLETE] = onHeadersComplete;
    p[ON_BODY] = onBody;
    p[ON_MESSAGE_COMPLETE] = onMessageComplete;
    this.parser = p;
  }

  /** Whether reading is stopped for either reason. */
  get paused(): boolean {
    return this.pausedBody || this.pausedHeld;
  }

  /** Parses bytes that came through 'data'. */
  execute(chunk: Buffer): number | ParseError {
    const p = this.parser;
    if (p === undefined) return 0;
    this.executing = true;
    try {
      return p.execute(chunk);
    } finally {
      this.executing = false;
    }
  }

  /** From now on the parser reads the socket's native stream itself, when it can. */
  consume(): void {
    const p = this.parser;
    const h = p === undefined || this.paused ? undefined : consumableHandle(this.socket);
    if (h === undefined) return;
    p![ON_EXECUTE] = onExecute;
    p!.consume(h);
    this.handle = h;
  }

  /** Back to 'data' events (pipelining, upgrades, errors, closing), keeping any pause in force. */
  stopConsuming(): void {
    const h = this.handle;
    if (h === undefined) return;
    this.handle = undefined;
    this.parser?.unconsume();
    if (this.paused) {
      h.readStart();
      this.socket.pause();
    }
  }

  /** The bytes of the read just parsed: `chunk`, or a copy of the consumed read. */
  bytes(chunk: Buffer | undefined): Buffer {
    return chunk ?? this.parser?.getCurrentBuffer() ?? Buffer.alloc(0);
  }

  /** Lets a parser paused after a held head go on. */
  resume(): void {
    this.parser?.resume();
  }

  /** Releases the parser (the connection is gone or handed over to a tunnel). */
  destroy(): void {
    this.handle = undefined;
    if (this.parser !== undefined) {
      destroyParser(this.parser);
      this.parser = undefined;
    }
  }

  partHead(headers: string[], url: string): void {
    this.partialCount += headers.length;
    if (this.partialCount <= this.maxHeaderCount * 2 + 2) {
      const list = (this.partial ??= []);
      for (let i = 0; i < headers.length; i++) list.push(headers[i]!);
    }
    this.partialUrl += url;
  }

  headComplete(
    major: number,
    minor: number,
    headers: string[] | undefined,
    method: number,
    url: string | undefined,
    upgrade: boolean,
    keepAlive: boolean,
  ): number {
    const lines = headers === undefined ? this.partialCount : headers.length;
    const list = headers ?? this.partial ?? [];
    const target = url ?? this.partialUrl;
    this.partial = undefined;
    this.partialUrl = '';
    this.partialCount = 0;
    // HARDENING: thousands of filler headers must never push a Content-Length out of sight.
    if (lines > this.maxHeaderCount * 2) {
      this.owner.tooManyHeaders();
      return PAUSED;
    }
    return this.owner.head(major, minor, list, method, target, upgrade, keepAlive);
  }

  messageComplete(): void {
    // Trailers of a request body are dropped: some servers merge them into the headers, past
    // berth's checks of forwarding headers.
    this.partial = undefined;
    this.partialUrl = '';
    this.partialCount = 0;
    this.owner.messageEnd();
  }

  /** The body's consumer is full. */
  pauseBody(): void {
    if (!this.paused) this.stopReading();
    this.pausedBody = true;
  }

  resumeBody(): void {
    if (!this.pausedBody) return;
    this.pausedBody = false;
    if (!this.pausedHeld) this.startReading();
  }

  /** A pipelined head (or a refusal) waits for the answer before it. */
  pauseHeld(): void {
    if (this.pausedHeld) return;
    if (!this.pausedBody) this.stopReading();
    this.pausedHeld = true;
  }

  unpauseHeld(): void {
    if (!this.pausedHeld) return;
    this.pausedHeld = false;
    if (!this.pausedBody) this.startReading();
  }

  /** Forgets the pauses (the socket goes to a tunnel, which reads it itself). */
  clearPauses(): void {
    this.pausedBody = false;
    this.pausedHeld = false;
  }

  private stopReading(): void {
    if (this.handle !== undefined) this.handle.readStop();
    else this.socket.pause();
  }

  private startReading(): void {
    if (this.handle !== undefined) this.handle.readStart();
    else this.socket.resume();
  }
}
