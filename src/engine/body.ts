import { Readable } from 'node:stream';
import type { BodyConsumer, BodySource } from './message.ts';

/** The reader behind a body received from a client: paused while the consumer cannot keep up. */
export interface BodyReader {
  pauseBody(): void;
  resumeBody(): void;
  /** The consumer gave the body up: what is still to come is read and dropped. */
  bodyCancelled(): void;
}

/** Bytes held for a consumer that has not started or is waiting, before the reader is paused. */
const HIGH_WATER = 64 * 1024;

const OPEN = 0;
const ENDED = 1;
const FAILED = 2;
const CANCELLED = 3;

/**
 * A body the engine receives (HTTP/1.1 client, HTTP/2 stream): chunks are pushed as they are
 * parsed and handed to the consumer at once when it can take them; otherwise they queue (bounded:
 * past 64 KiB the reader stops reading the connection).
 */
export class ReceivedBody implements BodySource {
  readonly length: number;
  started = false;
  /** Set by an HTTP/2 stream's trailing HEADERS, before `end`. */
  trailers: readonly string[] | undefined = undefined;
  private consumer: BodyConsumer | undefined = undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private state = OPEN;
  private error: Error | undefined = undefined;
  /** The consumer returned false and has not called `resume` yet. */
  private waiting = false;
  private readerPaused = false;
  private delivering = false;
  private readonly reader: BodyReader;

  constructor(length: number, reader: BodyReader) {
    this.length = length;
    this.reader = reader;
  }

  /** Whether the whole body was received. */
  get complete(): boolean {
    return this.state === ENDED;
  }

  get failure(): Error | undefined {
    return this.error;
  }

  push(chunk: Buffer): void {
    if (this.state !== OPEN) return;
    const c = this.consumer;
    if (c !== undefined && !this.waiting && this.queued === 0 && !this.delivering) {
      if (!c.onBodyData(chunk)) {
        this.waiting = true;
        this.pauseReader();
      }
      return;
    }
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= HIGH_WATER || this.waiting) this.pauseReader();
  }

  end(): void {
    if (this.state !== OPEN) return;
    this.state = ENDED;
    this.deliver();
  }

  fail(err: Error): void {
    if (this.state !== OPEN) return;
    this.state = FAILED;
    this.error = err;
    this.queue = [];
    this.queued = 0;
    const c = this.consumer;
    this.consumer = undefined;
    c?.onBodyError(err);
  }

  start(consumer: BodyConsumer): void {
    this.started = true;
    if (this.state === CANCELLED) return;
    this.consumer = consumer;
    if (this.state === FAILED) {
      this.consumer = undefined;
      consumer.onBodyError(this.error!);
      return;
    }
    this.deliver();
  }

  resume(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.deliver();
  }

  cancel(): void {
    if (this.state === CANCELLED) return;
    const wasOpen = this.state === OPEN;
    this.state = CANCELLED;
    this.consumer = undefined;
    this.queue = [];
    this.queued = 0;
    if (wasOpen) {
      this.readerPaused = false;
      this.reader.bodyCancelled();
    }
  }

  private deliver(): void {
    const c = this.consumer;
    if (c === undefined || this.delivering) return;
    this.delivering = true;
    while (this.queue.length > 0 && !this.waiting && this.consumer === c) {
      const chunk = this.queue.shift()!;
      this.queued -= chunk.length;
      if (!c.onBodyData(chunk)) this.waiting = true;
    }
    this.delivering = false;
    if (this.consumer !== c) return;
    if (this.waiting) {
      this.pauseReader();
      return;
    }
    if (this.queue.length > 0) return;
    if (this.state === ENDED) {
      this.consumer = undefined;
      c.onBodyEnd();
      return;
    }
    if (this.readerPaused) {
      this.readerPaused = false;
      this.reader.resumeBody();
    }
  }

  private pauseReader(): void {
    if (this.readerPaused || this.state !== OPEN) return;
    this.readerPaused = true;
    this.reader.pauseBody();
  }
}

/** A body held in memory (a buffered request, a mirror's copy, an error page's empty body). */
export class BufferBody implements BodySource {
  readonly length: number;
  started = false;
  private readonly data: Buffer;
  private consumer: BodyConsumer | undefined = undefined;
  private sent = false;

  constructor(data: Buffer) {
    this.data = data;
    this.length = data.length;
  }

  start(consumer: BodyConsumer): void {
    this.started = true;
    this.consumer = consumer;
    this.resume();
  }

  resume(): void {
    const c = this.consumer;
    if (c === undefined) return;
    if (!this.sent) {
      this.sent = true;
      if (this.data.length > 0 && !c.onBodyData(this.data)) return;
    }
    this.consumer = undefined;
    c.onBodyEnd();
  }

  cancel(): void {
    this.consumer = undefined;
  }
}

/** A body read from a Node stream (a spooled file, a middleware's replacement). */
export class StreamBody implements BodySource {
  readonly length: number;
  started = false;
  private readonly stream: Readable;
  private consumer: BodyConsumer | undefined = undefined;

  constructor(stream: Readable, length: number) {
    this.stream = stream;
    this.length = length;
  }

  start(consumer: BodyConsumer): void {
    this.started = true;
    this.consumer = consumer;
    const s = this.stream;
    s.on('data', (chunk: Buffer) => {
      if (this.consumer === undefined) return;
      if (!this.consumer.onBodyData(chunk)) s.pause();
    });
    s.once('end', () => {
      const c = this.consumer;
      this.consumer = undefined;
      c?.onBodyEnd();
    });
    s.once('error', (err: Error) => {
      const c = this.consumer;
      this.consumer = undefined;
      c?.onBodyError(err);
    });
  }

  resume(): void {
    if (this.consumer !== undefined) this.stream.resume();
  }

  cancel(): void {
    this.consumer = undefined;
    this.stream.destroy();
  }
}

/** The body as a Node stream, for code that wants one (tests' echo handlers, middlewares). */
export function bodyReadable(body: BodySource | null): Readable {
  if (body === null) return Readable.from([]);
  const r = new Readable({
    read() {
      body.resume();
    },
    destroy(err, cb) {
      body.cancel();
      cb(err);
    },
  });
  body.start({
    onBodyData: (chunk) => r.push(chunk),
    onBodyEnd: () => {
      r.push(null);
    },
    // As Node's IncomingMessage: an error nobody listens for must not become an uncaught one.
    onBodyError: (err) => {
      if (r.listenerCount('error') > 0) r.destroy(err);
      else r.destroy();
    },
  });
  return r;
}

/**
 * Reads a whole body into memory; resolves undefined (and gives the body up) past `max` bytes
 * (`max < 0`: no limit). Rejects when the body fails.
 */
export function readWholeBody(body: BodySource | null, max: number): Promise<Buffer | undefined> {
  if (body === null) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.start({
      onBodyData(chunk) {
        size += chunk.length;
        if (max >= 0 && size > max) {
          body.cancel();
          resolve(undefined);
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      onBodyEnd() {
        resolve(Buffer.concat(chunks, size));
      },
      onBodyError(err) {
        reject(err);
      },
    });
  });
}
