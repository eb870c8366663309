/**
 * Captures as bytes, so the access log's lines can be formatted and written by another thread.
 *
 * The request path encodes each capture into a chunk (numbers as they are, strings as UTF-8);
 * full chunks are handed to the log thread without a copy (their memory is transferred), where
 * `RecordReader` turns the bytes back into captures for the line formatter. Strings that come from
 * the configuration and repeat on almost every line (entrypoint, router, service, upstream URL,
 * method, protocol, TLS details) are sent once and then referred to by number; the number table is
 * bounded and starts over when full, which the reader follows because records keep their order.
 */
import { Capture } from './access-log-lines.ts';

const CAPTURE = 1;
const DEFINE = 2;
/** Bytes of a capture record before its strings: type, 5 doubles, 3 u32, 10 string numbers. */
const FIXED = 1 + 5 * 8 + 3 * 4 + 10 * 2;
/** A length or count standing for "undefined". */
const NONE = 0xffffffff;

/** Encodes captures into transferable chunks. */
export class RecordWriter {
  private readonly chunkSize: number;
  private buf: Buffer;
  private off = 0;
  /** Start of the record being written (a record never spans two chunks). */
  private start = 0;
  private done: Uint8Array[] = [];
  private doneBytes = 0;
  private readonly ids = new Map<string, number>();
  private nextId = 1;
  private readonly maxIds: number;
  private readonly spare: Buffer[] = [];

  constructor(chunkSize = 256 * 1024, maxIds = 4096) {
    this.chunkSize = chunkSize;
    this.maxIds = maxIds;
    this.buf = Buffer.allocUnsafeSlow(chunkSize);
  }

  /** Bytes encoded and not yet taken. */
  get length(): number {
    return this.doneBytes + this.off;
  }

  /** Whether the current chunk is full enough to be sent. */
  get chunkFull(): boolean {
    return this.done.length > 0;
  }

  /**
   * Everything encoded so far, as chunks each backed by its own ArrayBuffer (to be transferred);
   * the writer starts a new chunk.
   */
  take(): Uint8Array[] {
    const out = this.done;
    if (this.off > 0) {
      out.push(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.off));
      this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.chunkSize);
      this.off = 0;
    }
    this.done = [];
    this.doneBytes = 0;
    this.start = 0;
    // Every batch defines the strings it refers to, so each can be read without the ones before.
    this.ids.clear();
    this.nextId = 1;
    return out;
  }

  /** Chunks from `take` that are no longer needed: their memory is filled again. */
  reuse(chunks: readonly Uint8Array[]): void {
    for (const c of chunks) {
      if (this.spare.length < 8 && c.buffer.byteLength === this.chunkSize && c.buffer instanceof ArrayBuffer) this.spare.push(Buffer.from(c.buffer));
    }
  }

  /** Forgets the record being written (after an error while encoding it). */
  abandon(): void {
    this.off = this.start;
  }

  /** Encodes one capture. Nothing of it is kept. */
  write(c: Capture): void {
    // Numbers first, so a table that starts over never splits one record's references.
    if (this.nextId + 12 > this.maxIds) { this.ids.clear(); this.nextId = 1; }
    const ep = this.id(c.entrypoint), user = this.id(c.username), method = this.id(c.method), version = this.id(c.httpVersion);
    const scheme = this.id(c.scheme), router = this.id(c.router), service = this.id(c.service), upstream = this.id(c.upstream);
    const tlsV = this.id(c.tlsVersion), tlsC = this.id(c.tlsCipher);
    this.begin(FIXED);
    const b = this.buf;
    let o = this.off;
    b[o++] = CAPTURE;
    o = b.writeDoubleLE(c.start, o);
    o = b.writeDoubleLE(c.end, o);
    o = b.writeDoubleLE(c.bytes, o);
    o = b.writeDoubleLE(c.count, o);
    o = b.writeDoubleLE(c.originNs, o);
    o = u32(b, o, c.status);
    o = u32(b, o, c.retries);
    o = u32(b, o, c.remotePort ?? NONE);
    o = u16(b, o, ep);
    o = u16(b, o, user);
    o = u16(b, o, method);
    o = u16(b, o, version);
    o = u16(b, o, scheme);
    o = u16(b, o, router);
    o = u16(b, o, service);
    o = u16(b, o, upstream);
    o = u16(b, o, tlsV);
    o = u16(b, o, tlsC);
    this.off = o;
    this.str(c.clientIp);
    this.str(c.remote);
    this.str(c.url);
    this.str(c.host);
    this.str(c.contentLength);
    this.str(c.referer);
    this.str(c.userAgent);
    this.headers(c.headers);
    this.headers(c.resHeaders);
    this.start = this.off;
  }

  /** The number of a repeating string, defining it first when new (0: undefined). */
  private id(s: string | undefined): number {
    if (s === undefined) return 0;
    let n = this.ids.get(s);
    if (n !== undefined) return n;
    n = this.nextId++;
    this.ids.set(s, n);
    this.begin(3);
    this.buf[this.off] = DEFINE;
    this.off = u16(this.buf, this.off + 1, n);
    this.str(s);
    this.start = this.off;
    return n;
  }

  /** Header names and values (values as the formatter shows them), or NONE. */
  private headers(h: Readonly<Record<string, unknown>> | undefined): void {
    let n = 0;
    if (h !== undefined) for (const k in h) if (h[k] !== undefined) n++;
    this.reserve(4);
    this.off = u32(this.buf, this.off, h === undefined ? NONE : n);
    if (h === undefined) return;
    for (const k in h) {
      const v = h[k];
      if (v === undefined) continue;
      this.str(k);
      this.str(Array.isArray(v) ? v.join(',') : String(v));
    }
  }

  /** A string as its UTF-8 length and bytes (NONE: undefined). */
  private str(s: string | undefined): void {
    if (s === undefined) { this.reserve(4); this.off = u32(this.buf, this.off, NONE); return; }
    const n = s.length;
    this.reserve(4 + n * 3);
    const buf = this.buf;
    const at = this.off;
    let o = at + 4;
    for (let i = 0; i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch >= 0x80) { o = at + 4 + buf.write(s, at + 4, 'utf8'); break; }
      buf[o++] = ch;
    }
    u32(buf, at, o - at - 4);
    this.off = o;
  }

  /** Starts a record of at least `n` bytes. */
  private begin(n: number): void {
    this.start = this.off;
    this.reserve(n);
  }

  /**
   * Makes room for `n` more bytes. When the chunk is full, the record begun so far moves to a new
   * chunk and the old one is finished where the record started.
   */
  private reserve(n: number): void {
    if (this.buf.length - this.off >= n) return;
    const partial = this.off - this.start;
    const size = partial + n <= this.chunkSize ? this.chunkSize : 2 * (partial + n);
    const next = (size === this.chunkSize ? this.spare.pop() : undefined) ?? Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.start, this.off);
    if (this.start > 0) {
      this.done.push(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.start));
      this.doneBytes += this.start;
    }
    this.buf = next;
    this.off = partial;
    this.start = 0;
  }
}

/** Decodes the chunks of a `RecordWriter`, in order. */
export class RecordReader {
  private readonly strings: string[] = [''];
  /**
   * Per string field of a capture, the last value and its bytes: values repeat from line to line
   * (client address, host, user agent …), and comparing bytes costs less than making a string.
   */
  private readonly lastBytes: Buffer[] = Array.from({ length: 7 }, () => Buffer.alloc(128));
  private readonly lastLen: number[] = [-1, -1, -1, -1, -1, -1, -1];
  private readonly lastStr: (string | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];

  /** Calls `each` with every capture of a chunk; the capture is reused (copy what must outlive the call). */
  read(chunk: Uint8Array, each: (c: Capture) => void, c: Capture = new Capture()): void {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const end = b.length;
    const strings = this.strings;
    let o = 0;
    const str = (): string | undefined => {
      const n = b.readUInt32LE(o);
      o += 4;
      if (n === NONE) return undefined;
      if (o + n > end) throw new Error('access log record: string past the end of its chunk');
      const s = b.toString('utf8', o, o + n);
      o += n;
      return s;
    };
    const lastBytes = this.lastBytes, lastLen = this.lastLen, lastStr = this.lastStr;
    /** A string field that often repeats the previous line's (`slot` numbers the field). */
    const field = (slot: number): string | undefined => {
      const n = b.readUInt32LE(o);
      o += 4;
      if (n === NONE) return undefined;
      if (o + n > end) throw new Error('access log record: string past the end of its chunk');
      const prev = lastBytes[slot]!;
      if (lastLen[slot] === n) {
        let i = 0;
        while (i < n && prev[i] === b[o + i]) i++;
        if (i === n) { o += n; return lastStr[slot]; }
      }
      const s = b.toString('utf8', o, o + n);
      if (n <= prev.length) {
        for (let i = 0; i < n; i++) prev[i] = b[o + i]!;
        lastLen[slot] = n;
        lastStr[slot] = s;
      } else lastLen[slot] = -1;
      o += n;
      return s;
    };
    const ref = (): string | undefined => {
      const n = b.readUInt16LE(o);
      o += 2;
      if (n === 0) return undefined;
      const s = strings[n];
      if (s === undefined) throw new Error(`access log record: string ${n} used before it was defined`);
      return s;
    };
    const headers = (): Record<string, string> | undefined => {
      const n = b.readUInt32LE(o);
      o += 4;
      if (n === NONE) return undefined;
      const h = Object.create(null) as Record<string, string>;
      for (let i = 0; i < n; i++) {
        const k = str() ?? '';
        h[k] = str() ?? '';
      }
      return h;
    };
    while (o < end) {
      const type = b[o++];
      if (type === DEFINE) {
        const n = b.readUInt16LE(o);
        o += 2;
        strings[n] = str() ?? '';
        continue;
      }
      if (type !== CAPTURE) throw new Error(`access log record: unknown type ${type} at byte ${o - 1}`);
      c.start = b.readDoubleLE(o);
      c.end = b.readDoubleLE(o + 8);
      c.bytes = b.readDoubleLE(o + 16);
      c.count = b.readDoubleLE(o + 24);
      c.originNs = b.readDoubleLE(o + 32);
      o += 40;
      c.status = b.readUInt32LE(o);
      c.retries = b.readUInt32LE(o + 4);
      const port = b.readUInt32LE(o + 8);
      c.remotePort = port === NONE ? undefined : port;
      o += 12;
      c.entrypoint = ref() ?? '';
      c.username = ref() ?? '-';
      c.method = ref() ?? '-';
      c.httpVersion = ref() ?? '1.1';
      c.scheme = ref() ?? '';
      c.router = ref();
      c.service = ref();
      c.upstream = ref();
      c.tlsVersion = ref();
      c.tlsCipher = ref();
      c.clientIp = field(0) ?? '';
      c.remote = field(1) ?? '';
      c.url = field(2) ?? '/';
      c.host = field(3) ?? '';
      c.contentLength = field(4);
      c.referer = field(5);
      c.userAgent = field(6);
      c.headers = headers();
      c.resHeaders = headers();
      each(c);
    }
  }
}

function u32(b: Buffer, o: number, v: number): number {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
  return o + 4;
}

function u16(b: Buffer, o: number, v: number): number {
  b[o] = v;
  b[o + 1] = v >>> 8;
  return o + 2;
}
