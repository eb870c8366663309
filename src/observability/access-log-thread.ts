/**
 * The access log's file output, formatted and written by a thread of its own.
 *
 * Formatting a line takes more of the request path's time than anything else the access log does
 * (about 1.3 µs of the 2 µs per JSON line), and issuing the file writes adds to it. Here the
 * request path only encodes its capture into bytes (access-log-record.ts); every 20 ms, or when
 * 256 KiB gathered, the batch is copied to the log thread (access-log-worker.ts), which formats
 * and writes it and acknowledges it once written.
 *
 * Nothing is lost when the thread fails: batches are kept until acknowledged, and if the thread
 * dies they are formatted and written here, as is every later line (a batch the thread wrote but
 * had not acknowledged may then appear twice). Memory stays bounded: past `maxPendingBytes` of
 * unacknowledged batches (a stuck disk), new lines are dropped and counted.
 */
import { Worker } from 'node:worker_threads';
import { Capture, type FormatSettings } from './access-log-lines.ts';
import { RecordReader, RecordWriter } from './access-log-record.ts';
import { closeQuietly, DropReport, fdSink, type FdSink, type LineSink, type LineWriter } from './line-writer.ts';

/** What the thread is started with. */
export interface ThreadData {
  /** The log file, opened for appending by the request side (which closes it). */
  readonly fd: number;
  /** How lines are formatted (with the request side's `performance.timeOrigin`). */
  readonly settings: FormatSettings;
  readonly bufferLines: number;
  readonly flushMs: number;
  readonly maxPendingBytes: number;
}

/** Messages to the thread. */
export type ToThread =
  | { t: 'lines'; id: number; chunks: Uint8Array[] }
  | { t: 'flush'; id: number }
  | { t: 'reopen'; fd: number }
  | { t: 'close' }
  | { t: 'fail' };

/** Messages from the thread. */
export type ToMain =
  | { t: 'ack'; id: number }
  | { t: 'flushed'; id: number }
  | { t: 'error'; message: string }
  | { t: 'released'; fd: number }
  | { t: 'closed' };

/** Where the access log hands its captures: a `LineWriter` in this thread, or the log thread. */
export interface CaptureOutput {
  push(c: Capture): void;
  drain(): Promise<void>;
  reopen(): void;
  close(): Promise<void>;
  readonly dropped: number;
}

export interface ThreadedOutputOptions {
  /** How long captures gather before they are sent (default 20 ms). */
  readonly sendDelayMs?: number;
  readonly onError?: (err: Error) => void;
  /** Opens the log file again under its name, for `reopen` (log rotation). */
  readonly open?: () => number;
  /** Starts the thread (tests replace it to make it fail). */
  readonly startWorker?: (data: ThreadData) => Worker;
}

interface Batch { readonly id: number; readonly chunks: Uint8Array[]; readonly bytes: number }

const defaultStart = (data: ThreadData): Worker => new Worker(new URL('./access-log-worker.ts', import.meta.url), { workerData: data, name: 'berth-access-log' });

export class ThreadedOutput implements CaptureOutput {
  dropped = 0;
  private readonly data: ThreadData;
  private readonly opts: ThreadedOutputOptions;
  private readonly makeFallback: (sink: LineSink) => LineWriter<Capture>;
  /** The descriptor lines go to now, and those swapped out that the thread may still be using. */
  private fd: number;
  private readonly retired = new Set<number>();
  private fallbackSink: FdSink | undefined;
  private readonly records = new RecordWriter();
  private worker: Worker | undefined;
  private fallback: LineWriter<Capture> | undefined;
  /** Batches sent and not yet acknowledged, oldest first. */
  private sent: Batch[] = [];
  private sentBytes = 0;
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushes = new Map<number, () => void>();
  private closing: Promise<void> | undefined;
  private onClosed: (() => void) | undefined;
  private fdClosed = false;
  private readonly drops: DropReport;
  private readonly onTimer = (): void => { this.timer = undefined; this.send(); };

  /**
   * `makeFallback` builds the writer used in this thread if the log thread cannot run, on the
   * sink it is given (the log file).
   */
  constructor(data: ThreadData, opts: ThreadedOutputOptions, makeFallback: (sink: LineSink) => LineWriter<Capture>) {
    this.data = data;
    this.fd = data.fd;
    this.opts = opts;
    this.makeFallback = makeFallback;
    this.drops = new DropReport(data.maxPendingBytes, opts.onError);
    let w: Worker;
    try {
      w = (opts.startWorker ?? defaultStart)(data);
    } catch (err) {
      this.failOver(`cannot start: ${(err as Error).message}`);
      return;
    }
    this.worker = w;
    // The thread keeps the process alive only while it holds lines.
    w.unref();
    w.on('message', (m: ToMain) => this.onMessage(m));
    w.on('error', (err) => { if (this.worker === w) this.failOver(err.message); });
    w.on('exit', (code) => {
      if (this.worker !== w) return;
      if (this.onClosed) { this.worker = undefined; this.finishClose(); return; }
      this.failOver(`exited with code ${code}`);
    });
  }

  push(c: Capture): void {
    if (this.fallback) { this.fallback.push(c); return; }
    if (this.closing) { this.dropped++; return; }
    if (this.sentBytes + this.records.length > this.data.maxPendingBytes) { this.dropped++; this.drops.drop(); return; }
    try {
      this.records.write(c);
    } catch (err) {
      this.records.abandon();
      this.dropped++;
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (this.records.chunkFull) this.send();
    else this.timer ??= setTimeout(this.onTimer, this.opts.sendDelayMs ?? 20);
  }

  /** Sends what is encoded (a copy: the originals stay here until acknowledged). */
  private send(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    const w = this.worker;
    if (!w) return;
    const chunks = this.records.take();
    if (chunks.length === 0) return;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    const batch: Batch = { id: this.nextId++, chunks, bytes };
    this.sent.push(batch);
    this.sentBytes += bytes;
    if (this.sent.length === 1) w.ref();
    const copies = chunks.map((c) => c.slice());
    w.postMessage({ t: 'lines', id: batch.id, chunks: copies } satisfies ToThread, copies.map((c) => c.buffer));
  }

  private onMessage(m: ToMain): void {
    switch (m.t) {
      case 'ack': {
        const sent = this.sent;
        let i = 0;
        while (i < sent.length && sent[i]!.id <= m.id) {
          this.sentBytes -= sent[i]!.bytes;
          this.records.reuse(sent[i]!.chunks);
          i++;
        }
        if (i > 0) sent.splice(0, i);
        this.drops.caughtUp(this.sentBytes);
        this.maybeUnref();
        break;
      }
      case 'flushed': {
        const done = this.flushes.get(m.id);
        this.flushes.delete(m.id);
        this.maybeUnref();
        done?.();
        break;
      }
      case 'error':
        this.opts.onError?.(new Error(m.message));
        break;
      case 'released':
        if (this.retired.delete(m.fd)) closeQuietly(m.fd);
        break;
      case 'closed':
        break;
    }
  }

  private maybeUnref(): void {
    if (this.sent.length === 0 && this.flushes.size === 0 && !this.closing) this.worker?.unref();
  }

  drain(): Promise<void> {
    if (this.fallback) return this.fallback.drain();
    const w = this.worker;
    if (!w) return Promise.resolve();
    this.send();
    const id = this.nextId++;
    w.ref();
    return new Promise((resolve) => {
      this.flushes.set(id, resolve);
      w.postMessage({ t: 'flush', id } satisfies ToThread);
    });
  }

  /**
   * Opens the log file again under its name (after a rotation): lines logged from now on go to
   * the new file, the old one is closed once the thread stops writing it. Throws (and changes
   * nothing) when the file cannot be opened.
   */
  reopen(): void {
    if (this.closing || !this.opts.open) return;
    const next = this.opts.open();
    const old = this.fd;
    this.fd = next;
    if (this.fallbackSink) { this.fallbackSink.swap(next, closeQuietly); return; }
    if (!this.worker) { closeQuietly(old); return; }
    this.send();
    this.retired.add(old);
    this.worker.postMessage({ t: 'reopen', fd: next } satisfies ToThread);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
    this.closing = new Promise<void>((resolve) => { this.onClosed = resolve; });
    if (this.fallback) {
      void this.fallback.close().then(() => this.finishClose());
    } else if (this.worker) {
      this.send();
      this.worker.ref();
      this.worker.postMessage({ t: 'close' } satisfies ToThread);
    } else {
      this.finishClose();
    }
    return this.closing;
  }

  /** Test hook: the thread throws, as an uncaught error would end it. */
  failThreadForTest(): void {
    this.worker?.postMessage({ t: 'fail' } satisfies ToThread);
  }

  private closeRetired(): void {
    for (const fd of this.retired) closeQuietly(fd);
    this.retired.clear();
  }

  private finishClose(): void {
    // The fallback's sink closes the file itself; otherwise it is closed here, after the thread.
    if (!this.fallback && !this.fdClosed) {
      this.fdClosed = true;
      closeQuietly(this.fd);
      this.closeRetired();
    }
    for (const done of this.flushes.values()) done();
    this.flushes.clear();
    const done = this.onClosed;
    this.onClosed = undefined;
    done?.();
  }

  /**
   * The thread is gone: its unacknowledged batches, what is still encoded here, and every later
   * line are written by a writer in this thread.
   */
  private failOver(reason: string): void {
    if (this.fallback) return;
    const w = this.worker;
    this.worker = undefined;
    // Descriptors swapped out are closed once the thread is surely gone (it may have been writing them).
    if (w) { w.removeAllListeners('message'); void w.terminate().then(() => this.closeRetired(), () => this.closeRetired()); } else this.closeRetired();
    this.fallbackSink = fdSink(this.fd);
    const fallback = this.makeFallback(this.fallbackSink);
    this.fallback = fallback;
    const batches = this.sent;
    this.sent = [];
    this.sentBytes = 0;
    const rest = this.records.take();
    let lines = 0;
    const reader = new RecordReader();
    const c = new Capture();
    for (const chunks of [...batches.map((b) => b.chunks), rest]) {
      for (const chunk of chunks) {
        try {
          reader.read(chunk, (x) => { lines++; fallback.push(x); }, c);
        } catch (err) {
          this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
    this.opts.onError?.(new Error(`access log thread stopped (${reason}); ${lines} pending lines and every later one are written by the request thread`));
    for (const [id, done] of this.flushes) { this.flushes.delete(id); void fallback.drain().then(done); }
    if (this.onClosed) void fallback.close().then(() => this.finishClose());
  }
}
