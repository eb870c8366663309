import type { IncomingHttpHeaders } from 'node:http';

/**
 * A header section as it travels: a flat list `[name, value, name, value, …]`, names spelled as
 * received. The engine parses into it, serializes from it and routes on it without building an
 * object per request; lookups scan (a request carries a handful of headers), comparing names
 * ASCII-case-insensitively. Names given to the methods must be lower case.
 */
export class HeaderList {
  raw: string[];

  constructor(raw: string[] = []) {
    this.raw = raw;
  }

  /** Number of header lines. */
  get size(): number {
    return this.raw.length >> 1;
  }

  /** Index in `raw` of the first line named `name`, or -1. */
  indexOf(name: string, from = 0): number {
    const raw = this.raw;
    for (let i = from; i < raw.length; i += 2) if (sameName(raw[i]!, name)) return i;
    return -1;
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  /** The value, lines of the same name joined as Node joins them (`, `; `; ` for cookie). */
  get(name: string): string | undefined {
    const raw = this.raw;
    let out: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      if (!sameName(raw[i]!, name)) continue;
      out = out === undefined ? raw[i + 1]! : `${out}${name === 'cookie' ? '; ' : ', '}${raw[i + 1]!}`;
    }
    return out;
  }

  /** The value of the first line named `name`. */
  first(name: string): string | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.raw[i + 1];
  }

  /** Every value of `name`, one per line. */
  getAll(name: string): string[] {
    const raw = this.raw;
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (sameName(raw[i]!, name)) out.push(raw[i + 1]!);
    return out;
  }

  /** Replaces every line named `name` with `value` (one line per array element), where the first was. */
  set(name: string, value: string | readonly string[]): void {
    const values = typeof value === 'string' ? [value] : value;
    if (values.length === 0) {
      this.delete(name);
      return;
    }
    const raw = this.raw;
    const at = this.indexOf(name);
    if (at < 0) {
      for (const v of values) raw.push(name, v);
      return;
    }
    this.remove(name, at + 2);
    if (values.length === 1) {
      raw[at + 1] = values[0]!;
      return;
    }
    const lines: string[] = [];
    for (const v of values) lines.push(raw[at]!, v);
    raw.splice(at, 2, ...lines);
  }

  /** Adds a line (Go's `Header.Add`). */
  append(name: string, value: string): void {
    this.raw.push(name, value);
  }

  /** Removes every line named `name`; true when there was one. */
  delete(name: string): boolean {
    return this.remove(name, 0);
  }

  private remove(name: string, from: number): boolean {
    const raw = this.raw;
    let w = from;
    for (let r = from; r < raw.length; r += 2) {
      if (sameName(raw[r]!, name)) continue;
      if (w !== r) {
        raw[w] = raw[r]!;
        raw[w + 1] = raw[r + 1]!;
      }
      w += 2;
    }
    const removed = w !== raw.length;
    raw.length = w;
    return removed;
  }

  /** Removes every line. */
  clear(): void {
    this.raw.length = 0;
  }

  /** Lower-case names, each once, in order of appearance. */
  names(): string[] {
    const seen = new Set<string>();
    for (let i = 0; i < this.raw.length; i += 2) seen.add(this.raw[i]!.toLowerCase());
    return [...seen];
  }

  /** A copy with its own list. */
  clone(): HeaderList {
    return new HeaderList(this.raw.slice());
  }

  /**
   * The header object Node's `IncomingMessage.headers` would hold: lower-case names, duplicates
   * joined (`set-cookie` as an array, single-valued headers keep the first), for code that wants
   * a dictionary (rules, forwardAuth, the access log's header fields).
   */
  toObject(): IncomingHttpHeaders {
    const out: IncomingHttpHeaders = {};
    const raw = this.raw;
    for (let i = 0; i < raw.length; i += 2) {
      const k = raw[i]!.toLowerCase();
      const v = raw[i + 1]!;
      const prior = out[k];
      if (prior === undefined) out[k] = k === 'set-cookie' ? [v] : v;
      else if (k === 'set-cookie') (prior as string[]).push(v);
      else if (!SINGLE.has(k)) out[k] = `${prior as string}${k === 'cookie' ? '; ' : ', '}${v}`;
    }
    return out;
  }
}

/** Headers Node keeps only once (the first line wins), as `IncomingMessage` does. */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** Whether header name `a` (any case) equals `lower` (lower case), without allocating. */
export function sameName(a: string, lower: string): boolean {
  if (a.length !== lower.length) return false;
  if (a === lower) return true;
  for (let i = 0; i < a.length; i++) {
    let c = a.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** RFC 9110 token characters, for header names set through the API. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field-value characters Node accepts (no CR, LF, NUL or other controls, nothing above latin1). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** Throws, as Node's `setHeader` does, for a name or value that would break the head. */
export function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new TypeError(`invalid header name ${JSON.stringify(name)}`);
  if (BAD_VALUE.test(value)) throw new TypeError(`invalid character in the value of header ${JSON.stringify(name)}`);
}

/**
 * Whether `c` (a comma-separated header value) contains `token`, case-insensitively (for
 * `Connection: keep-alive, Upgrade`, `Expect: 100-continue`).
 */
export function hasToken(value: string, token: string): boolean {
  if (value.length === token.length) return sameName(value, token);
  for (const part of value.split(',')) if (sameName(part.trim(), token)) return true;
  return false;
}
