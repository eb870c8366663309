/**
 * Text built straight into bytes, for the access log.
 *
 * Lines used to be built as strings and encoded per batch. A batch of a few hundred lines is a
 * string of thousands of small pieces: V8 flattens it before it can measure or encode it, and
 * that flattening cost more than formatting the lines (about 3 µs a line under load). Here every
 * piece is copied once, into a chunk of a few tens of KiB: constant fragments as prepared bytes,
 * numbers as digits, ASCII strings character by character, anything else through `Buffer#write`.
 */
export class ByteWriter {
  private readonly chunkSize: number;
  private buf: Buffer;
  /** Next byte to write in `buf`. */
  private off = 0;
  /** Start of the bytes of `buf` not yet handed out as a chunk. */
  private mark = 0;
  private chunks: Buffer[] = [];
  private sealed = 0;
  /** The position `save` remembered. */
  private readonly saved: { chunks: number; sealed: number; buf: Buffer; off: number; mark: number; retired: number };
  /** Full buffers whose every byte has been taken (or will be by the next `take`). */
  private retired: Buffer[] = [];
  /**
   * Buffers written out, ready to be filled again: fresh memory costs a page fault per 4 KiB on
   * first touch, more than formatting the lines it holds. Up to 32 (2 MiB) are kept, enough for a
   * batch of a busy second's 20 ms.
   */
  private spare: Buffer[] = [];

  constructor(chunkSize = 64 * 1024) {
    this.chunkSize = chunkSize;
    this.buf = Buffer.allocUnsafeSlow(chunkSize);
    this.saved = { chunks: 0, sealed: 0, buf: this.buf, off: 0, mark: 0, retired: 0 };
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.sealed + this.off - this.mark;
  }

  /** Everything written so far, in order, as chunks; the writer starts empty again. */
  take(): Buffer[] {
    this.seal();
    const c = this.chunks;
    this.chunks = [];
    this.sealed = 0;
    return c;
  }

  /** Remembers the current position, to go back to (`restore`) if what follows has to be undone. */
  save(): void {
    this.saved.chunks = this.chunks.length;
    this.saved.sealed = this.sealed;
    this.saved.buf = this.buf;
    this.saved.off = this.off;
    this.saved.mark = this.mark;
    this.saved.retired = this.retired.length;
  }

  /** Forgets what was written since `save` (no `take` in between). */
  restore(): void {
    const cp = this.saved;
    this.chunks.length = cp.chunks;
    // Buffers retired since then held only forgotten bytes (the saved one is current again).
    for (const b of this.retired.splice(cp.retired)) if (b !== cp.buf) this.reuse([b]);
    if (this.buf !== cp.buf) this.reuse([this.buf]);
    this.sealed = cp.sealed;
    this.buf = cp.buf;
    this.off = cp.off;
    this.mark = cp.mark;
  }

  /**
   * The full buffers behind the chunks taken so far. Once the bytes of those chunks are written,
   * `reuse` gives them back.
   */
  takeRetired(): Buffer[] {
    const r = this.retired;
    this.retired = [];
    return r;
  }

  /** Buffers from `takeRetired` whose bytes have been written: they are filled again. */
  reuse(buffers: readonly Buffer[]): void {
    for (const b of buffers) if (this.spare.length < 32 && b.length === this.chunkSize) this.spare.push(b);
  }

  /** Makes room for `n` more bytes in the current chunk. */
  private reserve(n: number): void {
    if (this.buf.length - this.off >= n) return;
    this.seal();
    this.retired.push(this.buf);
    this.buf =
      (n <= this.chunkSize ? this.spare.pop() : undefined) ?? Buffer.allocUnsafeSlow(Math.max(this.chunkSize, n));
    this.off = 0;
    this.mark = 0;
  }

  private seal(): void {
    if (this.off > this.mark) {
      this.chunks.push(this.buf.subarray(this.mark, this.off));
      this.sealed += this.off - this.mark;
      this.mark = this.off;
    }
  }

  /** Prepared bytes. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.reserve(n);
    const buf = this.buf;
    let off = this.off;
    if (n > 64) {
      buf.set(b, off);
      this.off = off + n;
      return;
    }
    // Short fragments (most of a line's): a loop costs less than `set`'s entry checks.
    for (let i = 0; i < n; i++) buf[off++] = b[i]!;
    this.off = off;
  }

  /** Any string, as UTF-8. */
  text(s: string): void {
    const n = s.length;
    this.reserve(n * 3);
    const buf = this.buf;
    let off = this.off;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.off += buf.write(s, this.off, 'utf8');
        return;
      }
      buf[off++] = c;
    }
    this.off = off;
  }

  /** A string as a JSON string literal, with its quotes (the same text `JSON.stringify` gives). */
  json(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.buf;
    const start = this.off;
    let off = start;
    buf[off++] = 34;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 34 || c === 92 || c >= 0x80) {
        // Escapes or non-ASCII: rare in access-log values.
        this.off = start;
        this.text(JSON.stringify(s));
        return;
      }
      buf[off++] = c;
    }
    buf[off++] = 34;
    this.off = off;
  }

  /** A non-negative integer in decimal (other numbers as `String` writes them). */
  uint(v: number): void {
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && Math.floor(v) === v)) {
      this.text(String(v));
      return;
    }
    this.reserve(16);
    this.digits(v);
  }

  /**
   * Prepared bytes, with the six digits of an integer below a million (a fraction of a second)
   * written over their zeros at `at1` and `at2` (-1: not there).
   */
  bytesWithFraction(b: Uint8Array, at1: number, at2: number, v: number): void {
    this.reserve(b.length);
    const buf = this.buf;
    const off = this.off;
    buf.set(b, off);
    if (at1 >= 0) six(buf, off + at1, v);
    if (at2 >= 0) six(buf, off + at2, v);
    this.off = off + b.length;
  }

  /** Digits of a safe non-negative integer, room already made. */
  private digits(v: number): void {
    const buf = this.buf;
    if (v < 2147483648) {
      // Small integer arithmetic: most values (sizes, statuses, counts, ports) take this path.
      let x = v | 0;
      const n =
        x < 10
          ? 1
          : x < 100
            ? 2
            : x < 1000
              ? 3
              : x < 10000
                ? 4
                : x < 100000
                  ? 5
                  : x < 1000000
                    ? 6
                    : x < 10000000
                      ? 7
                      : x < 100000000
                        ? 8
                        : x < 1000000000
                          ? 9
                          : 10;
      let i = this.off + n;
      this.off = i;
      do {
        const q = (x / 10) | 0;
        buf[--i] = 48 + x - q * 10;
        x = q;
      } while (x > 0);
      return;
    }
    let n = 1;
    for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
    let i = this.off + n;
    this.off = i;
    let x = v;
    do {
      const q = Math.floor(x / 10);
      buf[--i] = 48 + (x - q * 10);
      x = q;
    } while (x > 0);
  }

  /** One ASCII byte. */
  byte(c: number): void {
    this.reserve(1);
    this.buf[this.off++] = c;
  }
}

/** Six decimal digits of `v` (below a million) at `pos`. */
function six(buf: Buffer, pos: number, v: number): void {
  let x = v | 0;
  for (let i = 5; i >= 0; i--) {
    const q = (x / 10) | 0;
    buf[pos + i] = 48 + x - q * 10;
    x = q;
  }
}

/** No bytes: the value of a prepared fragment before its first use. */
export const EMPTY = Buffer.alloc(0);

/** `s` as UTF-8 bytes, for fragments prepared once. */
export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
