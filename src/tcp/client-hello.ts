import { normalizeHost } from '../rules/host.ts';

/**
 * Incremental TLS ClientHello reader. The TCP dispatcher feeds it the client's first bytes as they
 * arrive; it answers "need more", the parsed hello, or an error. It never throws on input: every
 * malformed byte sequence (wrong content type, SSLv2, bad lengths, truncated extensions, a
 * handshake that is not a ClientHello, a hello over the size cap) is an `error` result, and the
 * caller closes the connection — an unparsable hello never gets a fallback route.
 *
 * Handles a hello split over any number of TCP segments and a handshake message fragmented across
 * several TLS records. Buffers grow by doubling so one-byte segments cost O(n) in total.
 */

/** Default cap on the bytes buffered while looking for the complete ClientHello. */
export const DEFAULT_MAX_HELLO_BYTES = 16 * 1024;

/** What a complete ClientHello tells the router. */
export interface ClientHello {
  /** `server_name` host name, normalised (lower case, no trailing dot); '' when absent. */
  readonly sni: string;
  /** ALPN protocols offered, in the client's order; empty when the extension is absent. */
  readonly alpn: readonly string[];
  /** Every byte fed so far (the hello's records and anything after them), to replay unchanged. */
  readonly helloBytes: Buffer;
}

/** The reader's answer after each chunk. */
export type ClientHelloResult =
  | { readonly status: 'need-more' }
  | { readonly status: 'done'; readonly hello: ClientHello }
  | { readonly status: 'error'; readonly reason: string };

const NEED_MORE: ClientHelloResult = { status: 'need-more' };
const RECORD_HEADER = 5;
const MAX_RECORD = 16384;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/** Reads one ClientHello from a stream of chunks; create one per connection. */
export class ClientHelloReader {
  readonly #max: number;
  #raw: Buffer = Buffer.allocUnsafe(0);
  #rawLen = 0;
  /** Offset in #raw of the next record header not yet consumed. */
  #recPos = 0;
  #hs: Buffer = Buffer.allocUnsafe(0);
  #hsLen = 0;
  #final: ClientHelloResult | undefined;

  constructor(maxBytes: number = DEFAULT_MAX_HELLO_BYTES) {
    this.#max = maxBytes > 0 ? maxBytes : DEFAULT_MAX_HELLO_BYTES;
  }

  /** Feeds the next chunk; once `done` or `error` is returned, later calls return the same. */
  push(chunk: Uint8Array): ClientHelloResult {
    if (this.#final) return this.#final;
    if (chunk.length === 0) return NEED_MORE;
    if (this.#rawLen + chunk.length > this.#max) return this.#fail(`ClientHello larger than ${this.#max} bytes`);
    this.#raw = append(this.#raw, this.#rawLen, chunk);
    this.#rawLen += chunk.length;
    return this.#advance();
  }

  #fail(reason: string): ClientHelloResult {
    this.#final = { status: 'error', reason };
    return this.#final;
  }

  #advance(): ClientHelloResult {
    const raw = this.#raw;
    for (;;) {
      const avail = this.#rawLen - this.#recPos;
      const p = this.#recPos;
      // Validate the header bytes as soon as they arrive so garbage is refused early.
      if (avail >= 1 && raw[p] !== CONTENT_HANDSHAKE) {
        return this.#fail(
          p === 0 ? 'not a TLS handshake record' : 'unexpected record type before the end of the ClientHello',
        );
      }
      if (avail >= 2 && raw[p + 1] !== 0x03) return this.#fail('unsupported record version');
      if (avail >= 3 && raw[p + 2]! > 0x04) return this.#fail('unsupported record version');
      if (avail < RECORD_HEADER) return NEED_MORE;
      const len = (raw[p + 3]! << 8) | raw[p + 4]!;
      if (len === 0) return this.#fail('empty handshake record');
      if (len > MAX_RECORD) return this.#fail('record longer than 2^14 bytes');
      if (avail < RECORD_HEADER + len) return NEED_MORE;
      this.#hs = append(this.#hs, this.#hsLen, raw.subarray(p + RECORD_HEADER, p + RECORD_HEADER + len));
      this.#hsLen += len;
      this.#recPos = p + RECORD_HEADER + len;
      if (this.#hsLen >= 4) {
        if (this.#hs[0] !== HANDSHAKE_CLIENT_HELLO) return this.#fail('first handshake message is not a ClientHello');
        const bodyLen = (this.#hs[1]! << 16) | (this.#hs[2]! << 8) | this.#hs[3]!;
        if (bodyLen + 4 > this.#max) return this.#fail(`ClientHello larger than ${this.#max} bytes`);
        if (this.#hsLen >= 4 + bodyLen) {
          const parsed = parseClientHelloBody(this.#hs.subarray(4, 4 + bodyLen));
          if (typeof parsed === 'string') return this.#fail(parsed);
          const helloBytes = Buffer.from(raw.subarray(0, this.#rawLen));
          this.#final = { status: 'done', hello: { sni: parsed.sni, alpn: parsed.alpn, helloBytes } };
          return this.#final;
        }
      }
    }
  }
}

/** Appends `chunk` after the first `used` bytes of `buf`, growing it by doubling. */
function append(buf: Buffer, used: number, chunk: Uint8Array): Buffer {
  let out = buf;
  if (used + chunk.length > buf.length) {
    out = Buffer.allocUnsafe(Math.max(used + chunk.length, buf.length * 2, 512));
    buf.copy(out, 0, 0, used);
  }
  out.set(chunk, used);
  return out;
}

/**
 * Parses a ClientHello body (after the 4-byte handshake header). Returns the SNI and ALPN list,
 * or a string saying what is wrong. Only bounds-checked reads; no exceptions.
 */
export function parseClientHelloBody(b: Uint8Array): { sni: string; alpn: string[] } | string {
  let p = 0;
  const n = b.length;
  if (n < 2 + 32 + 1) return 'ClientHello too short';
  if (b[0] !== 0x03) return 'unsupported ClientHello version';
  p = 2 + 32;
  const sidLen = b[p]!;
  if (sidLen > 32) return 'session id longer than 32 bytes';
  p += 1 + sidLen;
  if (p + 2 > n) return 'truncated cipher suites';
  const csLen = (b[p]! << 8) | b[p + 1]!;
  if (csLen < 2 || csLen % 2 !== 0) return 'bad cipher suites length';
  p += 2 + csLen;
  if (p + 1 > n) return 'truncated compression methods';
  const cmLen = b[p]!;
  if (cmLen < 1) return 'no compression methods';
  p += 1 + cmLen;
  if (p > n) return 'truncated compression methods';
  let sni = '';
  const alpn: string[] = [];
  if (p === n) return { sni, alpn }; // no extensions (old clients)
  if (p + 2 > n) return 'truncated extensions';
  const extLen = (b[p]! << 8) | b[p + 1]!;
  p += 2;
  if (p + extLen !== n) return 'extensions length does not match the ClientHello';
  let seenSni = false;
  let seenAlpn = false;
  while (p < n) {
    if (p + 4 > n) return 'truncated extension header';
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    p += 4;
    if (p + len > n) return 'extension longer than the ClientHello';
    if (type === EXT_SERVER_NAME) {
      if (seenSni) return 'duplicate server_name extension';
      seenSni = true;
      const r = parseServerName(b, p, p + len);
      if (r === null) return 'malformed server_name extension';
      sni = r;
    } else if (type === EXT_ALPN) {
      if (seenAlpn) return 'duplicate ALPN extension';
      seenAlpn = true;
      if (!parseAlpn(b, p, p + len, alpn)) return 'malformed ALPN extension';
    }
    p += len;
  }
  return { sni, alpn };
}

function parseServerName(b: Uint8Array, start: number, end: number): string | null {
  if (end - start < 2) return null;
  const listLen = (b[start]! << 8) | b[start + 1]!;
  let p = start + 2;
  if (p + listLen !== end || listLen === 0) return null;
  let name = '';
  while (p < end) {
    if (p + 3 > end) return null;
    const type = b[p]!;
    const len = (b[p + 1]! << 8) | b[p + 2]!;
    p += 3;
    if (p + len > end) return null;
    if (type === 0 && name === '') {
      if (len === 0 || len > 255) return null;
      for (let i = p; i < p + len; i++) {
        const c = b[i]!;
        // Host names are printable ASCII; anything else is a malformed (or hostile) hello.
        if (c <= 0x20 || c >= 0x7f) return null;
      }
      name = normalizeHost(Buffer.from(b.buffer, b.byteOffset + p, len).toString('latin1'));
    }
    p += len;
  }
  return name;
}

function parseAlpn(b: Uint8Array, start: number, end: number, out: string[]): boolean {
  if (end - start < 2) return false;
  const listLen = (b[start]! << 8) | b[start + 1]!;
  let p = start + 2;
  if (p + listLen !== end || listLen === 0) return false;
  while (p < end) {
    const len = b[p]!;
    p += 1;
    if (len === 0 || p + len > end) return false;
    out.push(Buffer.from(b.buffer, b.byteOffset + p, len).toString('latin1'));
    p += len;
  }
  return true;
}
