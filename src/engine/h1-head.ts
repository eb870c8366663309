import { STATUS_CODES } from 'node:http';
import { hasToken, sameName } from './header-list.ts';

/** How a response body is framed on an HTTP/1.x connection. */
export const FRAME_NONE = 0;
export const FRAME_LENGTH = 1;
export const FRAME_CHUNKED = 2;
export const FRAME_CLOSE = 3;

/** What serializing a response head decided (reused per connection: no allocation per answer). */
export interface HeadPlan {
  head: string;
  framing: number;
  /** Body bytes still owed under FRAME_LENGTH. */
  remaining: number;
  /** Whether the connection stays open after this answer. */
  keepAlive: boolean;
}

const statusLines = new Map<number, string>();

/** `HTTP/1.1 200 OK\r\n`, cached for the usual reason phrases. */
function statusLine(status: number, reason: string): string {
  if (reason === '') {
    let line = statusLines.get(status);
    if (line === undefined) {
      line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
      if (statusLines.size < 200) statusLines.set(status, line);
    }
    return line;
  }
  return `HTTP/1.1 ${status} ${reason}\r\n`;
}

let dateValue = '';
let dateSecond = -1;

/** The `Date` header value, recomputed at most once a second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(now).toUTCString();
  }
  return dateValue;
}

/**
 * Serializes a response head for an HTTP/1.x client and decides the framing in the same pass:
 * the given `Content-Length` when there is one, else chunked (HTTP/1.1) or close-delimited
 * (HTTP/1.0). `Connection`, `Keep-Alive` and `Transfer-Encoding` in `raw` are berth's to write, so
 * they are dropped (a `Connection: close` a middleware set still closes); `Date` is added when
 * missing, as Node and Go do. A second, different `Content-Length` is dropped: one length, never two.
 */
export function planResponseHead(
  out: HeadPlan,
  status: number,
  reason: string,
  raw: readonly string[],
  noBody: boolean,
  http11: boolean,
  keepAlive: boolean,
): void {
  let s = statusLine(status, reason);
  let length = -1;
  let date = false;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    const v = raw[i + 1]!;
    switch (n.length) {
      case 4:
        if (!date && sameName(n, 'date')) date = true;
        break;
      case 10:
        if (sameName(n, 'connection')) {
          if (hasToken(v, 'close')) keepAlive = false;
          continue;
        }
        if (sameName(n, 'keep-alive')) continue;
        break;
      case 14:
        if (sameName(n, 'content-length')) {
          if (length >= 0) continue;
          const len = parseLength(v);
          if (len < 0) continue;
          length = len;
        }
        break;
      case 17:
        if (sameName(n, 'transfer-encoding')) continue;
        break;
    }
    s += `${n}: ${v}\r\n`;
  }
  let framing: number;
  if (noBody) framing = FRAME_NONE;
  else if (length >= 0) framing = FRAME_LENGTH;
  else if (http11) {
    framing = FRAME_CHUNKED;
    s += 'transfer-encoding: chunked\r\n';
  } else {
    framing = FRAME_CLOSE;
    keepAlive = false;
  }
  if (!keepAlive) s += 'connection: close\r\n';
  else if (!http11) s += 'connection: keep-alive\r\n';
  if (!date) s += `date: ${httpDate()}\r\n`;
  out.head = s + '\r\n';
  out.framing = framing;
  out.remaining = length;
  out.keepAlive = keepAlive;
}

/** A Content-Length value as a number, or -1 when it is not one (digits only, safe integer). */
export function parseLength(v: string): number {
  if (v.length === 0 || v.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

/** The trailer section of a chunked body: `0\r\n`, the trailers, `\r\n`. */
export function lastChunk(trailers: readonly string[] | undefined): string {
  if (trailers === undefined || trailers.length === 0) return '0\r\n\r\n';
  let s = '0\r\n';
  for (let i = 0; i < trailers.length; i += 2) s += `${trailers[i]!}: ${trailers[i + 1]!}\r\n`;
  return s + '\r\n';
}

/** What a request head says about its body: its length (-1 chunked, 0 none) and `Expect`. */
export interface RequestFraming {
  length: number;
  expect: string | undefined;
}

/**
 * Reads the framing of a request head llhttp accepted (so one Content-Length at most, and never
 * with Transfer-Encoding) in one pass; `out` is reused per connection.
 */
export function requestFraming(headers: readonly string[], out: RequestFraming): RequestFraming {
  out.length = 0;
  out.expect = undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const n = headers[i]!;
    if (n.length === 14) {
      if (sameName(n, 'content-length')) {
        const v = headers[i + 1]!;
        const l = parseLength(v);
        out.length = l >= 0 ? l : Number(v);
      }
    } else if (n.length === 17) {
      if (sameName(n, 'transfer-encoding')) out.length = -1;
    } else if (n.length === 6 && sameName(n, 'expect')) out.expect = headers[i + 1];
  }
  return out;
}
