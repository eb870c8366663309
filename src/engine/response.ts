import { checkHeader, HeaderList } from './header-list.ts';
import type { ProxyRequest } from './message.ts';

/**
 * Where a response's bytes go: an HTTP/1.1 connection (one answer at a time), an HTTP/2 stream,
 * or nowhere (a mirror). The sink frames the body (Content-Length, chunked, close-delimited),
 * and reports back through `sinkDrained` / `sinkFinished` / `sinkClosed`.
 */
export interface ResponseSink {
  /** The head is final: `res.statusCode`, `res.statusMessage`, `res.headers`. May be sent with the first body bytes. */
  head(res: ProxyResponse): void;
  /** Body bytes; false when the client cannot take more now (wait for `drain`). */
  data(res: ProxyResponse, chunk: Buffer): boolean;
  /** The last body bytes (if any) and the end (`res.trailers` may be set). */
  end(res: ProxyResponse, last: Buffer | undefined): void;
  /** Sends a committed head that is still held (server-sent events, `flushHeaders`). */
  flush(res: ProxyResponse): void;
  /** The client must see an incomplete response: HTTP/1.1 closes the connection, HTTP/2 resets the stream. */
  abort(res: ProxyResponse): void;
  /**
   * Whether every body byte it was given has been handed to the kernel, so the caller's buffers
   * are free to go (HTTP/1.1; a sink that may keep them, or cannot tell, leaves this out).
   */
  released?(): boolean;
  /** Gathers what is written until `uncork`, to leave in one write (HTTP/1.1). */
  cork?(): void;
  uncork?(): void;
}

/** The writer of a response body (the forwarder): told when the client can take more, or went away. */
export interface ResponseProducer {
  onResponseDrain(): void;
  onResponseClose(): void;
}

/** What a tapping middleware does with the inner handler's response. */
export interface ResponseTap {
  /** The inner handler committed its status; its headers are those on `res.headers` now. */
  head(status: number): void;
  /** A body chunk; return false to ask the producer to wait for `drain` on `res`. */
  write(chunk: Buffer): boolean;
  /** The inner handler finished its response. */
  end(): void;
  /** The producer wants bytes out now (server-sent events). */
  flush?(): void;
}

/** The layer below a tap: what it writes to for real. */
export interface RealResponse {
  /** Sends the status line and the headers currently on `res`. */
  writeHead(status: number): void;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer): void;
  flush(): void;
  /** Removes this tap (and any installed after it), before handing `res` to another handler. */
  restore(): void;
}

interface Layer {
  readonly tap: ResponseTap;
  headed: boolean;
}

type Listener = () => void;
type EventName = 'close' | 'finish' | 'drain';

/**
 * One response, the same for HTTP/1.1 and HTTP/2: status, a header list, and a write path that
 * middlewares can layer taps on (compress, buffering, errors, retry…). The API follows Node's
 * `ServerResponse` where middlewares need it (`setHeader`, `writeHead`, `write`, `end`, events
 * `close`/`finish`/`drain`), without streams: bytes go straight to the sink.
 */
export class ProxyResponse {
  statusCode = 200;
  statusMessage = '';
  headers: HeaderList = new HeaderList();
  /** Trailers to send after the body (HTTP/1.1 chunked, HTTP/2 trailing HEADERS). */
  trailers: HeaderList | undefined = undefined;
  /**
   * Trailers may follow the body (an HTTP/2 upstream's response that did not end with its head,
   * an HTTP/1.1 one announcing `Trailer`): an HTTP/2 client's stream must be opened for them.
   */
  trailersExpected = false;
  /** The head reached the sink. */
  headersSent = false;
  /** The end reached the sink. */
  writableEnded = false;
  /** Aborted (or destroyed) before completing. */
  destroyed = false;
  /** Finished or aborted: nothing more happens. */
  closed = false;
  /** The last write to the sink could not be taken at once. */
  needDrain = false;
  /** Body bytes handed to the sink. */
  bodyBytes = 0;
  /** Close the client connection after this answer (refusals, drain, a refused upgrade). */
  closeConnection = false;
  readonly req: ProxyRequest;
  readonly sink: ResponseSink;
  /** The forwarder writing this response, told about drain and close without a listener. */
  producer: ResponseProducer | undefined = undefined;
  private layers: Layer[] | undefined = undefined;
  private listeners: Map<EventName, Listener[]> | undefined = undefined;

  constructor(req: ProxyRequest, sink: ResponseSink) {
    this.req = req;
    this.sink = sink;
  }

  // ---- headers (Node's names) ----

  setHeader(name: string, value: string | number | readonly string[]): this {
    const lower = name.toLowerCase();
    if (typeof value === 'object') {
      for (const v of value) checkHeader(name, v);
      this.headers.set(lower, value);
    } else {
      const v = String(value);
      checkHeader(name, v);
      this.headers.set(lower, v);
    }
    return this;
  }

  /** The value: a string, or an array when the header has several lines. */
  getHeader(name: string): string | string[] | undefined {
    const all = this.headers.getAll(name.toLowerCase());
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
  }

  hasHeader(name: string): boolean {
    return this.headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.headers.delete(name.toLowerCase());
  }

  /** Adds a line to a header (several `Set-Cookie`). */
  appendHeader(name: string, value: string): this {
    checkHeader(name, value);
    this.headers.append(name.toLowerCase(), value);
    return this;
  }

  getHeaderNames(): string[] {
    return this.headers.names();
  }

  // ---- events ----

  on(event: EventName, fn: Listener): this {
    const map = (this.listeners ??= new Map());
    const list = map.get(event);
    if (list) list.push(fn);
    else map.set(event, [fn]);
    return this;
  }

  once(event: EventName, fn: Listener): this {
    const wrapped = (): void => {
      this.off(event, wrapped);
      fn();
    };
    return this.on(event, wrapped);
  }

  off(event: EventName, fn: Listener): this {
    const list = this.listeners?.get(event);
    const i = list ? list.indexOf(fn) : -1;
    if (i >= 0) list!.splice(i, 1);
    return this;
  }

  private emit(event: EventName): void {
    const list = this.listeners?.get(event);
    if (list === undefined || list.length === 0) return;
    for (const fn of list.slice()) fn();
  }

  // ---- writing (through the taps, if any) ----

  writeHead(
    status: number,
    reason?: string | Readonly<Record<string, string | number | readonly string[]>>,
    headers?: Readonly<Record<string, string | number | readonly string[]>>,
  ): this {
    const h = typeof reason === 'string' ? headers : reason;
    if (typeof reason === 'string') this.statusMessage = reason;
    if (h !== undefined) for (const k in h) this.setHeader(k, h[k]!);
    this.headAt(this.top(), status);
    return this;
  }

  write(chunk: Buffer | Uint8Array | string, encoding?: BufferEncoding): boolean {
    return this.writeAt(this.top(), toBuffer(chunk, encoding));
  }

  end(chunk?: Buffer | Uint8Array | string, encoding?: BufferEncoding): this {
    this.endAt(this.top(), chunk === undefined || chunk === null ? undefined : toBuffer(chunk, encoding));
    return this;
  }

  /** Commits the head now if nothing did (server-sent events want their headers out). */
  flushHeaders(): void {
    this.flushAt(this.top());
  }

  /** Aborts: the client sees an incomplete response. */
  destroy(): void {
    if (this.closed) return;
    this.destroyed = true;
    this.sink.abort(this);
  }

  /**
   * Installs a tap: from now on what inner handlers write goes to `makeTap`'s tap, which writes
   * to the layer below through `real`. Returns `reset`, which lets another attempt head again.
   */
  addTap(makeTap: (real: RealResponse) => ResponseTap): { reset(): void } {
    const layers = (this.layers ??= []);
    const level = layers.length;
    const real: RealResponse = {
      writeHead: (status) => this.headAt(level - 1, status),
      write: (chunk) => this.writeAt(level - 1, chunk),
      end: (chunk) => this.endAt(level - 1, chunk),
      flush: () => this.flushAt(level - 1),
      restore: () => {
        if (this.layers !== undefined && this.layers.length > level) this.layers.length = level;
      },
    };
    const layer: Layer = { tap: makeTap(real), headed: false };
    layers.splice(level, layers.length - level, layer);
    return {
      reset: () => {
        layer.headed = false;
        this.statusCode = 200;
      },
    };
  }

  /**
   * Whether the body bytes written so far are held nowhere in berth any more: no tap (which may
   * keep chunks: buffering, compression) and a sink that handed them all to the kernel.
   */
  bodyReleased(): boolean {
    return (this.layers === undefined || this.layers.length === 0) && this.sink.released?.() === true;
  }

  private top(): number {
    return this.layers === undefined ? -1 : this.layers.length - 1;
  }

  private headAt(level: number, status: number): void {
    this.statusCode = status;
    if (level < 0) {
      this.headBase();
      return;
    }
    const l = this.layers![level]!;
    l.headed = true;
    l.tap.head(status);
  }

  private writeAt(level: number, chunk: Buffer): boolean {
    if (level < 0) return this.writeBase(chunk);
    const l = this.layers![level]!;
    if (!l.headed) this.headAt(level, this.statusCode);
    return l.tap.write(chunk);
  }

  private endAt(level: number, chunk: Buffer | undefined): void {
    if (level < 0) {
      this.endBase(chunk);
      return;
    }
    const l = this.layers![level]!;
    if (!l.headed) this.headAt(level, this.statusCode);
    if (chunk !== undefined && chunk.length > 0) l.tap.write(chunk);
    l.tap.end();
  }

  private flushAt(level: number): void {
    if (level < 0) {
      if (!this.headersSent) this.headBase();
      if (!this.closed) this.sink.flush(this);
      return;
    }
    const l = this.layers![level]!;
    if (!l.headed) this.headAt(level, this.statusCode);
    l.tap.flush?.();
  }

  private headBase(): void {
    if (this.headersSent || this.closed) return;
    this.headersSent = true;
    this.sink.head(this);
  }

  private writeBase(chunk: Buffer): boolean {
    if (this.writableEnded || this.closed) return false;
    if (!this.headersSent) this.headBase();
    if (chunk.length === 0) return !this.needDrain;
    this.bodyBytes += chunk.length;
    const ok = this.sink.data(this, chunk);
    if (!ok) this.needDrain = true;
    return ok;
  }

  private endBase(chunk: Buffer | undefined): void {
    if (this.writableEnded || this.closed) return;
    if (!this.headersSent) this.headBase();
    this.writableEnded = true;
    if (chunk !== undefined && chunk.length > 0) this.bodyBytes += chunk.length;
    else chunk = undefined;
    this.sink.end(this, chunk);
  }

  // ---- called by sinks ----

  /** The client can take more. */
  sinkDrained(): void {
    if (!this.needDrain) return;
    this.needDrain = false;
    this.emitDrain();
  }

  /** Tells the producer (and `drain` listeners) to write again: a tap that had asked it to wait is ready. */
  emitDrain(): void {
    this.producer?.onResponseDrain();
    this.emit('drain');
  }

  /** Every byte of the response was handed to the connection. */
  sinkFinished(): void {
    this.emit('finish');
  }

  /** The response is over: completed (after `sinkFinished`) or aborted. */
  sinkClosed(aborted: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (aborted) this.destroyed = true;
    this.producer?.onResponseClose();
    this.emit('close');
  }
}

function toBuffer(chunk: Buffer | Uint8Array | string, encoding: BufferEncoding | undefined): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8');
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** A sink that drops everything: a mirror's answer, which nobody reads (Traefik's black hole). */
export const DISCARD_SINK: ResponseSink = {
  head() {
    /* nobody reads it */
  },
  data() {
    return true;
  },
  end(res) {
    queueMicrotask(() => {
      res.sinkFinished();
      res.sinkClosed(false);
    });
  },
  flush() {
    /* nothing held */
  },
  abort(res) {
    queueMicrotask(() => res.sinkClosed(true));
  },
};
