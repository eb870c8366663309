import { createRequire } from 'node:module';

/**
 * llhttp through Node's own binding (the parser `node:http` uses), so berth parses exactly as
 * strictly as Node does, with no parser of its own. The binding is reached through
 * `_http_common`, the module `node:http` builds its parsers from.
 *
 * Callbacks are set by index on the parser object and called with the parser as `this`:
 * - `ON_HEADERS(headers, url)`: a part of a long head (more than 32 lines, or spread over reads);
 * - `ON_HEADERS_COMPLETE(major, minor, headers, method, url, status, reason, upgrade, keepAlive)`:
 *   `headers`/`url` are undefined when they came through `ON_HEADERS`; `method` is an index into
 *   `METHODS` (requests). Return 0 to go on, 1 for "no body" (a response to HEAD), `PAUSED` to stop
 *   `execute` right after this head (it then returns an error with code `HPE_PAUSED`);
 * - `ON_BODY(chunk)`: a copy of body bytes, chunked framing removed;
 * - `ON_MESSAGE_COMPLETE()`: trailers, if any, came through `ON_HEADERS` before it.
 */
export interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  /** Bytes consumed, or the parse error. Stops after an upgrade head (fewer bytes than given). */
  execute(data: Buffer): number | ParseError;
  /** End of input: an error when a message was cut short (a close-delimited body completes here). */
  finish(): ParseError | undefined;
  resume(): void;
  /** Reads straight from a socket's native stream: bytes reach the parser without JS 'data' events. */
  consume(handle: object): void;
  unconsume(): void;
  /** A copy of the bytes of the `execute` running (or that just ran) for a consumed stream. */
  getCurrentBuffer(): Buffer;
  close(): void;
  free(): void;
  remove(): void;
  [index: number]: unknown;
}

/** An error `execute`/`finish` return. */
export interface ParseError extends Error {
  readonly code: string;
  readonly reason: string;
  readonly bytesParsed: number;
}

interface Binding {
  HTTPParser: (new () => LlhttpParser) & { REQUEST: number; RESPONSE: number; kLenientNone: number };
  methods: readonly string[];
}

const binding = createRequire(import.meta.url)('_http_common') as Binding;

/**
 * Method names by llhttp's number (the `method` argument of `ON_HEADERS_COMPLETE`). Node's list
 * skips the RTSP-only numbers (35–45), so the names after `SOURCE` (33) sit at llhttp's own numbers.
 */
export const METHODS: readonly string[] = ((): string[] => {
  const out: string[] = [];
  const later: Readonly<Record<string, number>> = { PRI: 34, QUERY: 46 };
  let i = 0;
  for (const m of binding.methods) {
    const n = later[m] ?? i;
    out[n] = m;
    i = n + 1;
  }
  return out;
})();

export const ON_HEADERS = 1;
export const ON_HEADERS_COMPLETE = 2;
export const ON_BODY = 3;
export const ON_MESSAGE_COMPLETE = 4;
/** `ON_EXECUTE(result)`: a consumed stream's read was parsed (`result` as `execute` returns it). */
export const ON_EXECUTE = 5;
/** `ON_HEADERS_COMPLETE`'s return value that pauses the parser (llhttp's `HPE_PAUSED`). */
export const PAUSED = 21;

/** The async-hooks resource every parser reports (berth uses no async hooks on it). */
const RESOURCE = Object.freeze({});

/**
 * A new parser for requests (`'request'`) or responses (`'response'`), with every lenient flag off
 * as in `node:http`. `maxHeaderSize` bounds the head in bytes (request or status line included).
 */
export function createParser(kind: 'request' | 'response', maxHeaderSize: number): LlhttpParser {
  const p = new binding.HTTPParser();
  p.initialize(
    kind === 'request' ? binding.HTTPParser.REQUEST : binding.HTTPParser.RESPONSE,
    RESOURCE,
    maxHeaderSize,
    binding.HTTPParser.kLenientNone,
  );
  return p;
}

/** Resets a parser for a new message stream (a response parser after a body berth counted itself). */
export function reinitialize(p: LlhttpParser, kind: 'request' | 'response', maxHeaderSize: number): void {
  p.initialize(
    kind === 'request' ? binding.HTTPParser.REQUEST : binding.HTTPParser.RESPONSE,
    RESOURCE,
    maxHeaderSize,
    binding.HTTPParser.kLenientNone,
  );
}

/** A socket's native stream the parser can read from directly, or undefined (nothing to consume). */
export function consumableHandle(socket: {
  readonly _handle?: unknown;
  readonly readableLength: number;
}): { readStart(): number; readStop(): number } | undefined {
  const h = socket._handle as
    | { isStreamBase?: boolean; _consumed?: boolean; readStart(): number; readStop(): number }
    | null
    | undefined;
  // Bytes already buffered in the socket (peeked by the dispatcher) must go through 'data' first.
  if (h == null || h.isStreamBase !== true || h._consumed === true || socket.readableLength > 0) return undefined;
  h._consumed = true;
  return h;
}

/**
 * Releases the native parser (once its connection is gone or handed over). The C++ object is
 * deleted on the next turn, as node:http does: this may run inside one of its own callbacks,
 * whose native frame must unwind first.
 */
export function destroyParser(p: LlhttpParser): void {
  p.unconsume();
  p.remove();
  p.free();
  setImmediate(closeParser, p);
}

function closeParser(p: LlhttpParser): void {
  p.close();
}

/** Whether `r` is a parse error (as opposed to a byte count). */
export function isParseError(r: number | ParseError | undefined): r is ParseError {
  return typeof r === 'object' && r !== null;
}
