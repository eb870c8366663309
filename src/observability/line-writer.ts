import { ByteWriter } from './byte-writer.ts';
import type { LineSink } from './line-sink.ts';

/** Options of a buffered writer. */
export interface LineWriterOptions {
  /** Lines kept before a write is started (Traefik's `bufferingSize`); 0 = write after `writeDelayMs`. */
  readonly bufferLines: number;
  /**
   * With `bufferLines` 0: how long lines gather before a write starts (default 0: at the end of the
   * tick). Each write costs a hand-off to the thread pool and a wake-up of the event loop, more than
   * formatting a line does, so a few milliseconds turn one write per tick into one per hundreds of lines.
   */
  readonly writeDelayMs?: number;
  /** With `bufferLines` 0 and a delay: unwritten text that starts a write at once (default 256 KiB). */
  readonly writeBytes?: number;
  /** Longest time a line waits in the buffer. */
  readonly flushMs: number;
  /** Bytes allowed in flight or pending before new lines are dropped (a stuck disk must not eat memory). */
  readonly maxPendingBytes: number;
  /** Told once per failure streak (and when a line cannot be formatted). */
  readonly onError?: (err: Error) => void;
  /** Items queued by `slot`/`commit` that are formatted at once, without waiting for the write (default 4096). */
  readonly maxQueued?: number;
}

/** How a writer makes the items `slot` hands out, and forgets what one held once its line is formatted. */
export interface ItemPool<T> {
  make(): T;
  release?(item: T): void;
}

/**
 * Reports lines dropped because the output fell behind: once when dropping starts, and how many
 * were dropped once it has caught up.
 */
export class DropReport {
  private streak = 0;
  private readonly onError: ((err: Error) => void) | undefined;
  private readonly limit: number;

  constructor(limit: number, onError: ((err: Error) => void) | undefined) {
    this.limit = limit;
    this.onError = onError;
  }

  drop(): void {
    if (this.streak++ === 0)
      this.onError?.(
        new Error(
          `the output is more than ${Math.round(this.limit / 1024 / 1024)} MiB behind; access log lines are dropped until it catches up`,
        ),
      );
  }

  /** Call with the bytes still waiting: under half the limit ends a streak. */
  caughtUp(waiting: number): void {
    if (this.streak === 0 || waiting > this.limit / 2) return;
    const n = this.streak;
    this.streak = 0;
    this.onError?.(new Error(`the output caught up; ${n} access log lines were dropped`));
  }
}

/** Writes items as text: one line per item, in order, each with its newline. */
export type BatchFormatter<T> = (items: readonly T[], out: ByteWriter) => void;

/** For writers whose items are complete lines already. */
export const joinLines: BatchFormatter<string> = (items, out) => {
  for (let i = 0; i < items.length; i++) out.text(items[i]!);
};

/**
 * Writes items as lines in batches, one write at a time. An item is either formatted into the
 * byte buffer as it comes (`push`), or filled in place in a pooled item (`slot`, `commit`) and
 * formatted with the rest of its batch just before the batch is written: under load a batch's
 * hundreds of lines are then formatted in one tight loop, whose code and data stay in the CPU's
 * caches, instead of one line at a time between requests, each time from cold caches (a third of
 * the access log's cost on a busy proxy). Lines past `maxPendingBytes` of unwritten bytes are
 * dropped and counted, never queued without bound.
 */
export class LineWriter<T = string> {
  private readonly sink: LineSink;
  private readonly opts: LineWriterOptions;
  private readonly format: BatchFormatter<T>;
  /** The one-item batch handed to the formatter. */
  private readonly one: (T | undefined)[] = [undefined];
  private readonly pool: ItemPool<T> | undefined;
  /** Pooled items; the first `queued` are committed and not yet formatted. */
  private readonly items: T[] = [];
  private queued = 0;
  /** Formatted bytes not yet handed to the sink. */
  private readonly pending = new ByteWriter();
  private pendingLines = 0;
  private inFlight = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private failing = false;
  private idle: (() => void)[] = [];
  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.flush();
  };
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };
  /** Lines dropped because the output could not keep up (or could not be formatted). */
  dropped = 0;
  private readonly drops: DropReport;

  constructor(sink: LineSink, opts: LineWriterOptions, format?: BatchFormatter<T>, pool?: ItemPool<T>) {
    this.sink = sink;
    this.opts = opts;
    this.format = format ?? (joinLines as unknown as BatchFormatter<T>);
    this.pool = pool;
    this.drops = new DropReport(opts.maxPendingBytes, opts.onError);
  }

  /**
   * The item to fill for the next line (from the pool the writer was made with); `commit` queues
   * it. Until then the writer does not look at it, and a `slot` without `commit` hands out the same item again.
   */
  slot(): T {
    const items = this.items;
    const i = this.queued;
    return i < items.length ? items[i]! : (items[i] = this.pool!.make());
  }

  /** Queues the item `slot` handed out (or drops it when the output is too far behind). */
  commit(): void {
    if (this.pending.length > this.opts.maxPendingBytes) {
      this.dropped++;
      this.drops.drop();
      return;
    }
    this.queued++;
    this.pendingLines++;
    if (this.queued >= (this.opts.maxQueued ?? 4096)) this.formatQueued();
    this.schedule();
  }

  /** Formats the committed items onto the pending bytes, in order; a line the formatter fails on is dropped whole and reported. */
  private formatQueued(): void {
    const n = this.queued;
    if (n === 0) return;
    this.queued = 0;
    const items = this.items;
    const batch = n === items.length ? items : items.slice(0, n);
    this.pending.save();
    try {
      this.format(batch, this.pending);
    } catch {
      // Some line failed: again one at a time, to keep the others.
      this.pending.restore();
      for (let i = 0; i < n; i++) this.formatOne(items[i]!);
    }
    const release = this.pool?.release;
    if (release) for (let i = 0; i < n; i++) release(items[i]!);
  }

  /** Formats one item onto the pending bytes; a failure drops its line whole and reports it. */
  private formatOne(item: T): void {
    const one = this.one;
    one[0] = item;
    this.pending.save();
    try {
      this.format(one as T[], this.pending);
    } catch (err) {
      this.pending.restore();
      this.dropped++;
      this.pendingLines--;
      this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
    one[0] = undefined;
  }

  /**
   * Formats one item (a complete line with its newline, or a record the formatter understands)
   * onto the pending bytes, and starts or arms a write. The caller may reuse the item afterwards:
   * its data is read while still in the CPU's caches, and nothing of it outlives the call but
   * bytes. A line the formatter fails on is dropped whole and reported.
   */
  push(item: T): void {
    if (this.pending.length > this.opts.maxPendingBytes) {
      this.dropped++;
      this.drops.drop();
      return;
    }
    // Lines committed before this one come first.
    this.formatQueued();
    this.pendingLines++;
    this.formatOne(item);
    this.schedule();
  }

  /** Starts or arms a write after a line was queued. */
  private schedule(): void {
    if (this.inFlight) return;
    if (this.opts.bufferLines <= 0) {
      const delay = this.opts.writeDelayMs ?? 0;
      if (delay <= 0) this.immediate ??= setImmediate(this.onImmediate);
      else if (this.pending.length >= (this.opts.writeBytes ?? 256 * 1024)) this.flush();
      else this.timer ??= setTimeout(this.onTimer, delay);
    } else if (this.pendingLines >= this.opts.bufferLines) {
      this.flush();
    } else {
      this.timer ??= setTimeout(this.onTimer, this.opts.flushMs);
    }
  }

  /** Starts writing what is pending (no-op while a write is in flight; it continues after). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    // Formatted now even while a write is in flight: the queue of items stays short.
    this.formatQueued();
    if (this.inFlight) return;
    if (this.pending.length === 0) {
      this.pendingLines = 0;
      this.settle();
      return;
    }
    const chunks = this.pending.take();
    const retired = this.pending.takeRetired();
    this.pendingLines = 0;
    this.inFlight = true;
    this.sink.write(chunks, (err) => {
      this.inFlight = false;
      this.pending.reuse(retired);
      if (err) {
        if (!this.failing) this.opts.onError?.(err);
        this.failing = true;
      } else this.failing = false;
      this.drops.caughtUp(this.pending.length);
      if (this.pending.length === 0 && this.queued === 0) this.settle();
      else if (this.idle.length === 0 && this.opts.bufferLines <= 0 && (this.opts.writeDelayMs ?? 0) > 0)
        this.timer ??= setTimeout(this.onTimer, this.opts.writeDelayMs);
      else this.flush();
    });
  }

  private settle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }

  /** Resolves when everything queued so far has been written. */
  drain(): Promise<void> {
    if (!this.inFlight && this.pending.length === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle.push(resolve);
      this.flush();
    });
  }

  /** Opens the output file again under its name (log rotation); throws when it cannot. */
  reopen(): void {
    // What was logged before goes to the file it was logged under, as far as it can: a write of it
    // starts now, on the old descriptor (unless one is in flight already).
    this.flush();
    this.sink.reopen?.();
  }

  /** Writes what is left and closes the sink. */
  async close(): Promise<void> {
    if (this.immediate) {
      clearImmediate(this.immediate);
      this.immediate = undefined;
    }
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    await this.drain();
    this.sink.close();
  }
}
