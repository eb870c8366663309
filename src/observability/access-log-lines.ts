/**
 * The access log's capture and its line formatters.
 *
 * When a response closes, the request path copies what it has at hand into a `Capture` (numbers
 * and references to existing strings; captures are pooled) and the line writer formats a batch of
 * them into the write buffer's bytes just before the batch is written. The formatters are
 * straight-line code per format: the fields whose values usually repeat from one line to the next
 * (router, service, host, status …) are kept as prepared byte fragments, compared and copied; the
 * values that change with every line (client port, sizes, durations, count, path, start times) are
 * written in place.
 */
import { performance } from 'node:perf_hooks';
import { sameName, type HeaderList } from '../engine/header-list.ts';
import { ByteWriter, utf8 } from './byte-writer.ts';
import { CORE_FIELDS, rfc3339LocalSeconds, rfc3339Utc, type CoreField, type FieldMode } from './access-log-format.ts';

/** What the request path records of one finished request: raw values only. */
export class Capture {
  /** `performance.now()` at the start and at the end. */
  start = 0;
  end = 0;
  entrypoint = '';
  clientIp = '';
  /** The direct peer's socket address and port (port undefined when unknown). */
  remote = '';
  remotePort: number | undefined = undefined;
  username = '-';
  method = '-';
  url = '/';
  httpVersion = '1.1';
  scheme = '';
  /** The request header values a line may show: Host (or `:authority`), Content-Length, Referer, User-Agent. */
  host = '';
  contentLength: string | undefined = undefined;
  referer: string | undefined = undefined;
  userAgent: string | undefined = undefined;
  /** The request's whole header object, only when header fields are logged. */
  headers: Readonly<Record<string, string | string[] | undefined>> | undefined = undefined;
  status = 0;
  bytes = 0;
  count = 0;
  retries = 0;
  router: string | undefined = undefined;
  service: string | undefined = undefined;
  upstream: string | undefined = undefined;
  /** Time spent upstream in ns, or -1 when only the whole duration is known. */
  originNs = -1;
  tlsVersion: string | undefined = undefined;
  tlsCipher: string | undefined = undefined;
  /** The response's headers when header fields are logged, else undefined. */
  resHeaders: Readonly<Record<string, unknown>> | undefined = undefined;
}

/**
 * Copies the header values a line shows into a capture, and the whole header object when header
 * fields are logged (`all`). Only strings are kept: nothing else of the request outlives it.
 * Referer and User-Agent are only looked up when the line shows them (`agent`: CLF): a lookup in
 * a request's header object costs more than it seems (it is usually a dictionary by then).
 */
export function captureHeaders(c: Capture, h: Readonly<Record<string, string | string[] | undefined>>, all: boolean, agent = true): void {
  const host = h.host ?? h[':authority'];
  c.host = typeof host === 'string' ? host : '';
  const cl = h['content-length'];
  c.contentLength = typeof cl === 'string' ? cl : undefined;
  if (agent) {
    const ref = h.referer;
    c.referer = typeof ref === 'string' ? ref : undefined;
    const ua = h['user-agent'];
    c.userAgent = typeof ua === 'string' ? ua : undefined;
  }
  if (all) c.headers = h;
}

/**
 * `captureHeaders` over a request's header list, in one pass (the list is as received, so names
 * are compared without case). The whole header object is only built when header fields are logged.
 */
export function captureHeaderList(c: Capture, list: HeaderList, all: boolean, agent = true): void {
  const raw = list.raw;
  let host: string | undefined;
  let cl: string | undefined;
  let ref: string | undefined;
  let ua: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!;
    switch (n.length) {
      case 4: if (host === undefined && sameName(n, 'host')) host = raw[i + 1]; break;
      case 14: if (cl === undefined && sameName(n, 'content-length')) cl = raw[i + 1]; break;
      case 7: if (agent && ref === undefined && sameName(n, 'referer')) ref = raw[i + 1]; break;
      case 10: if (agent && ua === undefined && sameName(n, 'user-agent')) ua = raw[i + 1]; break;
    }
  }
  c.host = host ?? '';
  c.contentLength = cl;
  if (agent) { c.referer = ref; c.userAgent = ua; }
  if (all) c.headers = list.toObject();
}

/** What the formatters need from the static configuration. */
export interface FormatSettings {
  readonly format: 'json' | 'common' | 'generic';
  /** Mode of every core field (drop, keep, redact). */
  readonly modes: Readonly<Record<CoreField, FieldMode>>;
  /** The header fields' default mode and explicit modes (lower-case names). */
  readonly headerDefault: FieldMode;
  readonly headerNames: ReadonlyMap<string, FieldMode>;
}

/** Writes a batch of captures as text, one line each, in order. */
export type CaptureFormatter = (caps: readonly Capture[], out: ByteWriter) => void;

/** A batch as a string (tests, tools). */
export function formatToString(format: CaptureFormatter, caps: readonly Capture[]): string {
  const w = new ByteWriter();
  format(caps, w);
  return Buffer.concat(w.take()).toString('utf8');
}

/** `user-agent` → `User-Agent`, Go's canonical MIME header key. */
export function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/** Whether `s` needs more than quotes to be a JSON string (quote, backslash, controls, surrogates). */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return true;
  }
  return false;
}

/** A JSON string literal. */
export function jsonString(s: string): string {
  return needsEscape(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** `host:port`, `[v6]:port`, or a bare host (port `-`, as Traefik). */
export function splitHostPort(v: string): [host: string, port: string] {
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end > 0) return [v.slice(1, end), v.charCodeAt(end + 1) === 58 ? v.slice(end + 2) : '-'];
  }
  const i = v.lastIndexOf(':');
  if (i > 0 && v.indexOf(':') === i) return [v.slice(0, i), v.slice(i + 1)];
  return [v, '-'];
}

/** `http://10.0.0.2:8080/x` → `10.0.0.2:8080` (Traefik's ServiceAddr). */
export function serviceAddr(url: string): string {
  const s = url.indexOf('//');
  const rest = s >= 0 ? url.slice(s + 2) : url;
  const e = rest.indexOf('/');
  return e >= 0 ? rest.slice(0, e) : rest;
}

/** Request body size as announced (`content-length`); 0 when absent or chunked. */
function contentLength(v: string | string[] | undefined): number {
  if (typeof v !== 'string') return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

const DROP = 0;
const KEEP = 1;
const REDACT = 2;
const modeCode = (m: FieldMode): number => (m === 'drop' ? DROP : m === 'redact' ? REDACT : KEEP);

/** Builds the formatter of a configuration. */
export function compileFormatter(s: FormatSettings): CaptureFormatter {
  const headers = compileHeaders(s.headerDefault, s.headerNames);
  return s.format === 'json' ? compileJsonBatch(s.modes, headers) : compileCommonBatch(s.modes, s.headerDefault, s.headerNames, s.format === 'generic');
}

/** Appends `"prefix_Name":"value",` for the logged headers of one request. */
type HeaderWriter = (prefix: string, h: Readonly<Record<string, unknown>>) => string;

function compileHeaders(headerDefault: FieldMode, headerNames: ReadonlyMap<string, FieldMode>): HeaderWriter | undefined {
  const named = [...headerNames].filter(([, m]) => m !== 'drop').map(([k, m]) => ({ lower: k, canonical: canonicalHeader(k), redact: m === 'redact' }));
  const field = (key: string, v: unknown, redact: boolean): string => JSON.stringify(key) + ':' + (redact ? '"REDACTED"' : JSON.stringify(Array.isArray(v) ? v.join(',') : String(v))) + ',';
  if (headerDefault !== 'drop') {
    return (prefix, h) => {
      let out = '';
      for (const k in h) {
        const m = headerNames.get(k) ?? headerDefault;
        if (m === 'drop') continue;
        const v = h[k];
        if (v === undefined) continue;
        out += field(prefix + canonicalHeader(k), v, m === 'redact');
      }
      return out;
    };
  }
  if (named.length === 0) return undefined;
  return (prefix, h) => {
    let out = '';
    for (const n of named) {
      const v = h[n.lower];
      if (v !== undefined) out += field(prefix + n.canonical, v, n.redact);
    }
    return out;
  };
}

/**
 * One JSON field's mode. Values that usually repeat become fragments (`"Name":value,`, or
 * `"Name":"REDACTED",`, or nothing when dropped) inside a segment; values that change with every
 * line are written in place between segments, the segment before holding their key (`lead`) and
 * the one after their comma (`after`).
 */
class JsonField {
  readonly keep: boolean;
  private readonly drop: boolean;
  private readonly prefix: string;
  private readonly redacted: string | undefined;

  constructor(name: CoreField, mode: number) {
    this.keep = mode === KEEP;
    this.drop = mode === DROP;
    this.prefix = '"' + name + '":';
    this.redacted = mode === REDACT ? this.prefix + '"REDACTED",' : undefined;
  }

  /** The fragment for a value (none when the value is undefined or the field dropped). */
  get(v: string | number | undefined): string {
    if (v === undefined || this.drop) return '';
    if (this.redacted !== undefined) return this.redacted;
    return this.prefix + (typeof v === 'number' ? String(v) : jsonString(v)) + ',';
  }

  /** What precedes a value written in place: its key, the whole redacted field, or nothing. */
  lead(): string {
    return this.drop ? '' : this.redacted ?? this.prefix;
  }

  /** What follows a value written in place. */
  after(): string {
    return this.keep ? ',' : '';
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The text between two values written in place: fields whose values usually repeat from one line
 * to the next, kept as one prepared fragment — one comparison per value and one copy per line.
 */
class Segment {
  private readonly last: unknown[];
  private out: Buffer = EMPTY;
  private valid = false;
  private readonly build: (v: readonly unknown[]) => string;

  constructor(arity: number, build: (v: readonly unknown[]) => string) {
    this.last = new Array<unknown>(arity).fill(undefined);
    this.build = build;
  }

  /** `put` for a segment of one value. */
  put1(w: ByteWriter, a: unknown): void {
    const last = this.last;
    if (!this.valid || last[0] !== a) {
      last[0] = a;
      this.valid = true;
      this.out = utf8(this.build(last));
    }
    w.bytes(this.out);
  }

  /** `put` for a segment of two values. */
  put2(w: ByteWriter, a: unknown, b: unknown): void {
    const last = this.last;
    if (!this.valid || last[0] !== a || last[1] !== b) {
      last[0] = a;
      last[1] = b;
      this.valid = true;
      this.out = utf8(this.build(last));
    }
    w.bytes(this.out);
  }

  /** Writes the segment for these values (`vals` is reused by the caller; it is copied on a change). */
  put(w: ByteWriter, vals: readonly unknown[]): void {
    const last = this.last;
    let same = this.valid;
    for (let i = 0; same && i < last.length; i++) same = last[i] === vals[i];
    if (!same) {
      for (let i = 0; i < last.length; i++) last[i] = vals[i];
      this.valid = true;
      this.out = utf8(this.build(vals));
    }
    w.bytes(this.out);
  }
}

/** A client connection's ClientAddr and ClientPort values, as JSON. */
interface Peer {
  readonly remote: string;
  readonly addr: Buffer;
  readonly port: Buffer;
}

/** Peers by port (their address checked), forgotten wholesale when there are many. */
class Peers {
  private readonly byPort = new Map<number | undefined, Peer>();

  get(remote: string, port: number | undefined): Peer {
    const p = this.byPort.get(port);
    if (p !== undefined && p.remote === remote) return p;
    if (this.byPort.size >= 4096) this.byPort.clear();
    const port$ = port !== undefined ? String(port) : '-';
    // `"ip:port"` or `"[v6]:port"`.
    const addr = remote.includes(':') ? '[' + remote + ']:' + port$ : remote + ':' + port$;
    const peer = { remote, addr: utf8(jsonString(addr)), port: utf8('"' + port$ + '"') };
    this.byPort.set(port, peer);
    return peer;
  }
}

/** Per-second parts of a line; only the fractions change within a second. */
interface Seconds {
  sec: number;
  /**
   * The start times' values and the text between them (`"2026-11-22T07:40:34.000000Z","StartUTC":"…"`),
   * with the places of their six fraction digits (-1 for a time not shown).
   */
  stamps: Buffer;
  localAt: number;
  utcAt: number;
  /** The line's end: `"level":"info","msg":"","time":"…"}` and its newline. */
  time: string;
}

/** What the start-time part of a line holds: which times are shown and the (ASCII) text between them. */
interface StampLayout {
  readonly local: boolean;
  readonly between: string;
  readonly utc: boolean;
}

function secondsOf(sec: number, into: Seconds, layout: StampLayout): void {
  const ms = sec * 1000;
  const local = rfc3339LocalSeconds(ms);
  into.sec = sec;
  let t = '';
  into.localAt = -1;
  into.utcAt = -1;
  if (layout.local) {
    t += '"' + local.slice(0, 19) + '.';
    into.localAt = t.length;
    t += '000000' + local.slice(19) + '"';
  }
  t += layout.between;
  if (layout.utc) {
    t += '"' + rfc3339Utc(ms).slice(0, 19) + '.';
    into.utcAt = t.length;
    t += '000000Z"';
  }
  into.stamps = utf8(t);
  into.time = '"level":"info","msg":"","time":"' + local + '"}\n';
}

/** Traefik's JSON lines (logrus field names, sorted), written from captures. */
function compileJsonBatch(modes: Readonly<Record<CoreField, FieldMode>>, headers: HeaderWriter | undefined): CaptureFormatter {
  const m = Object.fromEntries(CORE_FIELDS.map((f) => [f, modeCode(modes[f])])) as Record<CoreField, number>;
  const f = (name: CoreField): JsonField => new JsonField(name, m[name]);
  const ClientAddr = f('ClientAddr'), ClientHost = f('ClientHost'), ClientPort = f('ClientPort'), ClientUsername = f('ClientUsername');
  const DownstreamContentSize = f('DownstreamContentSize'), DownstreamStatus = f('DownstreamStatus'), Duration = f('Duration');
  const EntryPointName = f('EntryPointName'), OriginContentSize = f('OriginContentSize'), OriginDuration = f('OriginDuration');
  const OriginStatus = f('OriginStatus'), Overhead = f('Overhead'), RequestAddr = f('RequestAddr'), RequestContentSize = f('RequestContentSize');
  const RequestCount = f('RequestCount'), RequestHost = f('RequestHost'), RequestMethod = f('RequestMethod'), RequestPath = f('RequestPath');
  const RequestPort = f('RequestPort'), RequestProtocol = f('RequestProtocol'), RequestScheme = f('RequestScheme'), RetryAttempts = f('RetryAttempts');
  const RouterName = f('RouterName'), ServiceAddr = f('ServiceAddr'), ServiceName = f('ServiceName'), ServiceURL = f('ServiceURL');
  const StartLocal = f('StartLocal'), StartUTC = f('StartUTC'), TLSCipher = f('TLSCipher'), TLSVersion = f('TLSVersion');
  const kAddr = ClientAddr.keep, kPort = ClientPort.keep, kSize = DownstreamContentSize.keep, kDuration = Duration.keep;
  const kOriginSize = OriginContentSize.keep, kOriginDuration = OriginDuration.keep, kOverhead = Overhead.keep, kCount = RequestCount.keep;
  const kPath = RequestPath.keep, kLocal = StartLocal.keep, kUtc = StartUTC.keep;
  const needHost = m.RequestAddr !== DROP || m.RequestHost !== DROP || m.RequestPort !== DROP;
  const host = { header: '\0', host: '', port: '-' };
  const addr = { upstream: '', addr: '' };
  const start: Seconds = { sec: -1, stamps: EMPTY, localAt: -1, utcAt: -1, time: '' };
  const end: Seconds = { sec: -1, stamps: EMPTY, localAt: -1, utcAt: -1, time: '' };
  const origin = performance.timeOrigin;
  // The line, in logrus order: segments of usually-repeating fields around the values written in
  // place (client address and port, sizes, durations, count, path, start times).
  const open = utf8('{' + ClientAddr.lead());
  const s1 = new Segment(1, (v) => ClientAddr.after() + ClientHost.get(v[0] as string) + ClientPort.lead());
  const s2 = new Segment(1, (v) => ClientPort.after() + ClientUsername.get(v[0] as string) + DownstreamContentSize.lead());
  const s3 = new Segment(1, (v) => DownstreamContentSize.after() + DownstreamStatus.get(v[0] as number) + Duration.lead());
  // With an upstream, the origin's size and duration follow the entrypoint.
  const s4 = new Segment(2, (v) => Duration.after() + EntryPointName.get(v[0] as string) + (v[1] === true ? OriginContentSize.lead() : ''));
  const s5 = utf8(OriginContentSize.after() + OriginDuration.lead());
  const s6 = new Segment(2, (v) => (v[0] === true ? OriginDuration.after() + OriginStatus.get(v[1] as number) : '') + Overhead.lead());
  const s7 = new Segment(2, (v) => Overhead.after() + RequestAddr.get(v[0] as string | undefined) + RequestContentSize.get(v[1] as number) + RequestCount.lead());
  const s8 = new Segment(2, (v) => RequestCount.after() + RequestHost.get(v[0] as string | undefined) + RequestMethod.get(v[1] as string) + RequestPath.lead());
  const s9 = new Segment(8, (v) => RequestPath.after() + RequestPort.get(v[0] as string | undefined) + RequestProtocol.get('HTTP/' + (v[1] as string))
    + RequestScheme.get(v[2] as string) + RetryAttempts.get(v[3] as number) + RouterName.get(v[4] as string | undefined)
    + ServiceAddr.get(v[7] as string | undefined) + ServiceName.get(v[5] as string | undefined) + ServiceURL.get(v[6] as string | undefined)
    + StartLocal.lead());
  // StartLocal and StartUTC, and what lies between them, change only in their fractions within a second.
  const stamps: StampLayout = { local: kLocal, between: StartLocal.after() + StartUTC.lead(), utc: kUtc };
  const s10 = utf8(stamps.between);
  const s11 = new Segment(3, (v) => StartUTC.after() + TLSCipher.get(v[0] as string | undefined) + TLSVersion.get(v[1] as string | undefined) + (v[2] as string));
  const peers = new Peers();
  const v9: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  const v11: unknown[] = [undefined, undefined, undefined];

  return (caps, w) => {
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]!;
      const duration = Math.round((c.end - c.start) * 1e6);
      if (needHost) {
        const hh = c.host;
        if (hh !== host.header) {
          host.header = hh;
          [host.host, host.port] = splitHostPort(hh);
        }
      }
      const up = c.upstream !== undefined;
      w.bytes(open);
      // The client's address and port, prepared once per connection (keep-alive clients send many requests).
      const peer = peers.get(c.remote, c.remotePort);
      if (kAddr) w.bytes(peer.addr);
      s1.put1(w, c.clientIp);
      if (kPort) w.bytes(peer.port);
      s2.put1(w, c.username);
      if (kSize) w.uint(c.bytes);
      s3.put1(w, c.status);
      if (kDuration) w.uint(duration);
      s4.put2(w, c.entrypoint, up);
      let overhead = duration;
      if (up) {
        if (kOriginSize) w.uint(c.bytes);
        w.bytes(s5);
        // Without a separate origin time the whole time counts as the origin's.
        if (kOriginDuration) w.uint(c.originNs >= 0 ? c.originNs : duration);
        overhead = c.originNs >= 0 ? Math.max(0, duration - c.originNs) : 0;
        if (c.upstream !== addr.upstream) {
          addr.upstream = c.upstream!;
          addr.addr = serviceAddr(c.upstream!);
        }
      }
      s6.put2(w, up, c.status);
      if (kOverhead) w.uint(overhead);
      s7.put2(w, needHost ? host.header : undefined, contentLength(c.contentLength));
      if (kCount) w.uint(c.count);
      s8.put2(w, needHost ? host.host : undefined, c.method);
      if (kPath) w.json(c.url);
      v9[0] = needHost ? host.port : undefined; v9[1] = c.httpVersion; v9[2] = c.scheme; v9[3] = c.retries; v9[4] = c.router; v9[5] = c.service;
      v9[6] = c.upstream; v9[7] = up ? addr.addr : undefined;
      s9.put(w, v9);
      if (kLocal || kUtc) {
        const ms = origin + c.start;
        const sec = Math.floor(ms / 1000);
        if (sec !== start.sec) secondsOf(sec, start, stamps);
        w.bytesWithFraction(start.stamps, start.localAt, start.utcAt, Math.floor((ms - sec * 1000) * 1000));
      } else w.bytes(s10);
      const endSec = Math.floor((origin + c.end) / 1000);
      if (endSec !== end.sec) secondsOf(endSec, end, stamps);
      v11[0] = c.tlsCipher; v11[1] = c.tlsVersion; v11[2] = headers === undefined ? end.time : '';
      s11.put(w, v11);
      if (headers !== undefined) w.text(headers('request_', c.headers ?? {}) + (c.resHeaders ? headers('downstream_', c.resHeaders) : '') + end.time);
    }
  };
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Escapes a CLF value: quotes, backslashes and control characters cannot break the line. */
function clfEscape(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(s) ? s.replace(/["\\\x00-\x1f\x7f]/g, (c) => (c === '"' ? '\\"' : c === '\\' ? '\\\\' : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))) : s;
}
const plain = (v: string | undefined): string => (v === undefined || v === '' ? '-' : clfEscape(v));
const quoted = (v: string | undefined): string => (v === undefined || v === '' ? '"-"' : '"' + clfEscape(v) + '"');

/** A CLF value that usually repeats, escaped and encoded once per change. */
class ClfValue {
  private last: string | undefined = '\0';
  private out: Buffer = EMPTY;
  private readonly render: (v: string | undefined) => string;
  constructor(render: (v: string | undefined) => string) { this.render = render; }
  put(w: ByteWriter, v: string | undefined): void {
    if (v !== this.last) {
      this.last = v;
      this.out = utf8(this.render(v));
    }
    w.bytes(this.out);
  }
}

const SP = 32;
const DASH_USER = utf8(' - ');
const REDACTED = utf8('REDACTED');

/**
 * Traefik's common log format:
 * `host - user [time] "METHOD path proto" status size "referer" "agent" count "router" "url" Nms`.
 * `generic` stops after the user agent (Traefik's `genericCLF`). Dropped fields show as `-`,
 * redacted ones as `REDACTED`, as in Traefik.
 */
function compileCommonBatch(modes: Readonly<Record<CoreField, FieldMode>>, headerDefault: FieldMode, headerNames: ReadonlyMap<string, FieldMode>, generic: boolean): CaptureFormatter {
  const m: Record<CoreField, number> = Object.fromEntries(CORE_FIELDS.map((f) => [f, modeCode(modes[f])])) as Record<CoreField, number>;
  const s = (f: CoreField, v: string | undefined): string | undefined => (m[f] === DROP ? undefined : m[f] === REDACT ? 'REDACTED' : v);
  const hm = (name: string): number => modeCode(headerNames.get(name) ?? headerDefault);
  const refererMode = hm('referer');
  const uaMode = hm('user-agent');
  const header = (mode: number, v: string | string[] | undefined): string | undefined => (mode === DROP ? undefined : mode === REDACT ? 'REDACTED' : (v as string | undefined));
  const timeMemo: { sec: number; clf: Buffer } = { sec: -1, clf: EMPTY };
  const origin = performance.timeOrigin;
  const clfSecond = (ms: number): Buffer => {
    const sec = Math.floor(ms / 1000);
    if (sec !== timeMemo.sec) {
      const d = new Date(sec * 1000);
      timeMemo.sec = sec;
      timeMemo.clf = utf8(` [${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000] "`);
    }
    return timeMemo.clf;
  };
  const noTime = utf8(' [-] "');
  // Values that usually repeat are escaped once per change; the separators around them are part of them.
  const client = new ClfValue((v) => plain(s('ClientHost', v)));
  const user = new ClfValue((v) => plain(s('ClientUsername', v)));
  const method = new ClfValue((v) => plain(s('RequestMethod', v)) + ' ');
  const proto = new ClfValue((v) => ' ' + plain(s('RequestProtocol', v === undefined ? v : 'HTTP/' + v)) + '" ');
  const referer = new ClfValue((v) => quoted(header(refererMode, v)) + ' ');
  const agent = new ClfValue((v) => quoted(header(uaMode, v)));
  const router = new ClfValue((v) => ' ' + quoted(s('RouterName', v)) + ' ');
  const url = new ClfValue((v) => quoted(s('ServiceURL', v)) + ' ');
  const statusMode = m.DownstreamStatus, sizeMode = m.DownstreamContentSize, countMode = m.RequestCount, durationMode = m.Duration;
  /** A number field: its digits, `REDACTED`, or `-` when dropped. */
  const number = (w: ByteWriter, mode: number, v: number): void => {
    if (mode === DROP) w.byte(45);
    else if (mode === REDACT) w.bytes(REDACTED);
    else w.uint(v);
  };
  return (caps, w) => {
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]!;
      client.put(w, c.clientIp);
      w.bytes(DASH_USER);
      user.put(w, c.username);
      w.bytes(m.StartUTC !== DROP ? clfSecond(origin + c.start) : noTime);
      method.put(w, c.method);
      w.text(plain(s('RequestPath', c.url)));
      proto.put(w, c.httpVersion);
      number(w, statusMode, c.status);
      w.byte(SP);
      number(w, sizeMode, c.bytes);
      w.byte(SP);
      referer.put(w, c.referer);
      agent.put(w, c.userAgent);
      if (!generic) {
        w.byte(SP);
        number(w, countMode, c.count);
        router.put(w, c.router);
        url.put(w, c.upstream);
        w.uint(durationMode !== DROP ? Math.floor(Math.round((c.end - c.start) * 1e6) / 1e6) : 0);
        w.byte(109); // m
        w.byte(115); // s
      }
      w.byte(10);
    }
  };
}
