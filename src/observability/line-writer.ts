import { closeSync, mkdirSync, openSync, write } from 'node:fs';
import { dirname } from 'node:path';
import { BerthError, ErrorCodes } from '../lib/errors.ts';

/** Where batches of lines go. */
export interface LineSink {
  /** Writes `text`; calls `done` when the bytes left the process (or failed). */
  write(text: string, done: (err: Error | null) => void): void;
  close(): void;
}

/** Appends to a file opened once (mode 0664, parent directories created, as Traefik). */
export function fileSink(path: string): LineSink {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, 'a', 0o664);
  } catch (err) {
    throw new BerthError(ErrorCodes.CONFIG_INVALID, `accessLog.filePath: cannot open ${path}: ${(err as Error).message}`, { cause: err });
  }
  let closed = false;
  return {
    write(text, done) {
      const buf = Buffer.from(text);
      const step = (off: number): void => {
        write(fd, buf, off, buf.length - off, null, (err, n) => {
          if (err) { done(err); return; }
          if (off + n < buf.length) step(off + n);
          else done(null);
        });
      };
      step(0);
    },
    close() {
      if (closed) return;
      closed = true;
      try { closeSync(fd); } catch { /* already gone */ }
    },
  };
}

/** Standard output (the default when no `filePath` is set). */
export function stdoutSink(): LineSink {
  return {
    write(text, done) {
      process.stdout.write(text, (err) => done(err ?? null));
    },
    close() { /* stdout stays open */ },
  };
}

/** Options of a buffered writer. */
export interface LineWriterOptions {
  /** Lines kept before a write is started (Traefik's `bufferingSize`); 0 = write at the end of the tick. */
  readonly bufferLines: number;
  /** Longest time a line waits in the buffer. */
  readonly flushMs: number;
  /** Bytes allowed in flight or pending before new lines are dropped (a stuck disk must not eat memory). */
  readonly maxPendingBytes: number;
  /** Told once per failure streak. */
  readonly onError?: (err: Error) => void;
}

/**
 * Collects lines and writes them in batches, one write at a time, so the request path only
 * appends a string. Lines past `maxPendingBytes` are dropped and counted, never queued without bound.
 */
export class LineWriter {
  private readonly sink: LineSink;
  private readonly opts: LineWriterOptions;
  private pending = '';
  private pendingLines = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private failing = false;
  private idle: (() => void)[] = [];
  /** Lines dropped because the output could not keep up. */
  dropped = 0;

  constructor(sink: LineSink, opts: LineWriterOptions) {
    this.sink = sink;
    this.opts = opts;
  }

  /** Queues one complete line (with its newline). */
  push(line: string): void {
    if (this.pending.length > this.opts.maxPendingBytes) { this.dropped++; return; }
    this.pending += line;
    this.pendingLines++;
    if (this.inFlight) return;
    if (this.opts.bufferLines <= 0) {
      this.immediate ??= setImmediate(() => { this.immediate = undefined; this.flush(); });
    } else if (this.pendingLines >= this.opts.bufferLines) {
      this.flush();
    } else {
      this.timer ??= setTimeout(() => { this.timer = undefined; this.flush(); }, this.opts.flushMs);
    }
  }

  /** Starts writing what is pending (no-op while a write is in flight; it continues after). */
  flush(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    if (this.inFlight) return;
    if (this.pending === '') { this.settle(); return; }
    const text = this.pending;
    this.pending = '';
    this.pendingLines = 0;
    this.inFlight = true;
    this.sink.write(text, (err) => {
      this.inFlight = false;
      if (err) {
        if (!this.failing) this.opts.onError?.(err);
        this.failing = true;
      } else this.failing = false;
      if (this.pending !== '') this.flush();
      else this.settle();
    });
  }

  private settle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  /** Resolves when everything queued so far has been written. */
  drain(): Promise<void> {
    if (!this.inFlight && this.pending === '') return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.flush();
    });
  }

  /** Writes what is left and closes the sink. */
  async close(): Promise<void> {
    if (this.immediate) { clearImmediate(this.immediate); this.immediate = undefined; }
    await this.drain();
    this.sink.close();
  }
}
