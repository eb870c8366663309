/**
 * The access log's request-path capture and its batch formatters.
 *
 * When a response closes, the request path only copies what it already has at hand into a
 * `Capture` (numbers and references to existing strings: no formatting, no Date, no closures).
 * Lines are built later, a batch at a time, when the writer flushes: straight-line code per
 * format, with single-entry memos for values that repeat from one request to the next (router,
 * service, host, protocol …), so most string fields cost a comparison instead of an escape check.
 */
import { performance } from 'node:perf_hooks';
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
  /** The request's headers object (read when formatting: host, content-length, named headers). */
  headers: Readonly<Record<string, string | string[] | undefined>> = {};
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

/** What the formatters need from the static configuration. */
export interface FormatSettings {
  readonly format: 'json' | 'common' | 'generic';
  /** Mode of every core field (drop, keep, redact). */
  readonly modes: Readonly<Record<CoreField, FieldMode>>;
  /** The header fields' default mode and explicit modes (lower-case names). */
  readonly headerDefault: FieldMode;
  readonly headerNames: ReadonlyMap<string, FieldMode>;
}

/** Formats a batch of captures as text, one line each, in order. */
export type CaptureFormatter = (caps: readonly Capture[]) => string;

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

/** The Host header (or HTTP/2 `:authority`) as the client sent it. */
function hostHeader(h: Readonly<Record<string, string | string[] | undefined>>): string {
  const v = h.host ?? h[':authority'];
  return typeof v === 'string' ? v : '';
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
 * One JSON field: `"Name":value,` (or `"Name":"REDACTED",`, or nothing when dropped), with the
 * last value's fragment remembered, so a value that repeats costs a comparison.
 */
class JsonField<V extends string | number> {
  private readonly drop: boolean;
  private readonly prefix: string;
  private readonly redacted: string | undefined;
  private readonly quote: boolean;
  private last: V | undefined = undefined;
  private out = '';

  constructor(name: CoreField, mode: number, quote: boolean) {
    this.drop = mode === DROP;
    this.prefix = '"' + name + '":';
    this.redacted = mode === REDACT ? this.prefix + '"REDACTED",' : undefined;
    this.quote = quote;
  }

  get(v: V | undefined): string {
    if (v === undefined || this.drop) return '';
    if (v === this.last) return this.out;
    this.last = v;
    this.out = this.redacted ?? (this.quote ? this.prefix + jsonString(v as string) + ',' : this.prefix + v + ',');
    return this.out;
  }

  /** For values that are already JSON (or numbers written as they are). */
  raw(v: string | undefined): string {
    if (v === undefined || this.drop) return '';
    return this.redacted ?? this.prefix + v + ',';
  }
}

/**
 * A run of consecutive fields whose values usually repeat from one line to the next, kept as one
 * flat string: a line is built from a handful of pieces instead of one per field, which is what
 * concatenation, and later flattening and encoding the batch, cost per line.
 */
class Segment {
  private readonly last: unknown[];
  private out = '';
  private valid = false;
  private readonly build: (v: readonly unknown[]) => string;

  constructor(arity: number, build: (v: readonly unknown[]) => string) {
    this.last = new Array<unknown>(arity).fill(undefined);
    this.build = build;
  }

  /** The segment for these values (`vals` is reused by the caller; it is copied on a change). */
  get(vals: readonly unknown[]): string {
    const last = this.last;
    let same = this.valid;
    for (let i = 0; same && i < last.length; i++) same = last[i] === vals[i];
    if (same) return this.out;
    for (let i = 0; i < last.length; i++) last[i] = vals[i];
    this.valid = true;
    const out = this.build(vals);
    // Flattens the string once here rather than in every batch it is part of.
    out.charCodeAt(0);
    this.out = out;
    return out;
  }
}

/** Per-second parts of the three timestamps of a JSON line; only the fraction changes within a second. */
interface Seconds {
  sec: number;
  utc: string;
  local: string;
  localSuffix: string;
  time: string;
}

function secondsOf(sec: number, into: Seconds): void {
  const ms = sec * 1000;
  const local = rfc3339LocalSeconds(ms);
  into.sec = sec;
  into.utc = rfc3339Utc(ms).slice(0, 19);
  into.local = local.slice(0, 19);
  into.localSuffix = local.slice(19);
  into.time = '"level":"info","msg":"","time":"' + local + '"}\n';
}

/** Traefik's JSON lines (logrus field names, sorted), built from captures. */
function compileJsonBatch(modes: Readonly<Record<CoreField, FieldMode>>, headers: HeaderWriter | undefined): CaptureFormatter {
  const m = Object.fromEntries(CORE_FIELDS.map((f) => [f, modeCode(modes[f])])) as Record<CoreField, number>;
  const s = (f: CoreField): JsonField<string> => new JsonField<string>(f, m[f], true);
  const n = (f: CoreField): JsonField<number> => new JsonField<number>(f, m[f], false);
  const ClientAddr = s('ClientAddr'), ClientHost = s('ClientHost'), ClientPort = s('ClientPort'), ClientUsername = s('ClientUsername');
  const DownstreamContentSize = n('DownstreamContentSize'), DownstreamStatus = n('DownstreamStatus'), Duration = s('Duration');
  const EntryPointName = s('EntryPointName'), OriginContentSize = n('OriginContentSize'), OriginDuration = s('OriginDuration');
  const OriginStatus = n('OriginStatus'), Overhead = s('Overhead'), RequestAddr = s('RequestAddr'), RequestContentSize = n('RequestContentSize');
  const RequestCount = s('RequestCount'), RequestHost = s('RequestHost'), RequestMethod = s('RequestMethod'), RequestPath = s('RequestPath');
  const RequestPort = s('RequestPort'), RequestProtocol = s('RequestProtocol'), RequestScheme = s('RequestScheme'), RetryAttempts = n('RetryAttempts');
  const RouterName = s('RouterName'), ServiceAddr = s('ServiceAddr'), ServiceName = s('ServiceName'), ServiceURL = s('ServiceURL');
  const StartLocal = s('StartLocal'), StartUTC = s('StartUTC'), TLSCipher = s('TLSCipher'), TLSVersion = s('TLSVersion');
  const keepStart = m.StartLocal !== DROP || m.StartUTC !== DROP;
  const needHost = m.RequestAddr !== DROP || m.RequestHost !== DROP || m.RequestPort !== DROP;
  const client = { remote: '', port: -2 as number | undefined, addr: '', port$: '-' };
  const host = { header: '\0', host: '', port: '-' };
  const addr = { upstream: '', addr: '' };
  const start: Seconds = { sec: -1, utc: '', local: '', localSuffix: '', time: '' };
  const end: Seconds = { sec: -1, utc: '', local: '', localSuffix: '', time: '' };
  const origin = performance.timeOrigin;
  const needHostFor = (f: CoreField): boolean => needHost && m[f] !== DROP;
  // Fields in logrus order, grouped between the ones that change with every request.
  const segA = new Segment(6, (v) => '{' + ClientAddr.get(v[0] as string) + ClientHost.get(v[1] as string) + ClientPort.get(v[2] as string)
    + ClientUsername.get(v[3] as string) + DownstreamContentSize.get(v[4] as number) + DownstreamStatus.get(v[5] as number));
  const segB = new Segment(2, (v) => EntryPointName.get(v[0] as string) + OriginContentSize.get(v[1] as number | undefined));
  const segC = new Segment(4, (v) => OriginStatus.get(v[0] as number | undefined) + Overhead.raw(v[1] as string)
    + (needHostFor('RequestAddr') ? RequestAddr.get(v[2] as string) : '') + RequestContentSize.get(contentLength(v[3] as string | undefined)));
  const segD = new Segment(2, (v) => (needHostFor('RequestHost') ? RequestHost.get(v[0] as string) : '') + RequestMethod.get(v[1] as string));
  const segE = new Segment(8, (v) => (needHostFor('RequestPort') ? RequestPort.get(v[0] as string) : '')
    + RequestProtocol.get('HTTP/' + (v[1] as string)) + RequestScheme.get(v[2] as string) + RetryAttempts.get(v[3] as number)
    + RouterName.get(v[4] as string | undefined) + ServiceAddr.get(v[7] as string | undefined) + ServiceName.get(v[5] as string | undefined)
    + ServiceURL.get(v[6] as string | undefined));
  const segF = new Segment(3, (v) => TLSCipher.get(v[0] as string | undefined) + TLSVersion.get(v[1] as string | undefined) + (v[2] as string));
  const va: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined];
  const vb: unknown[] = [undefined, undefined];
  const vc: unknown[] = [undefined, undefined, undefined, undefined];
  const vd: unknown[] = [undefined, undefined];
  const ve: unknown[] = [undefined, undefined, undefined, undefined, undefined, undefined, undefined, undefined];
  const vf: unknown[] = [undefined, undefined, undefined];

  return (caps) => {
    let out = '';
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]!;
      // Integer nanoseconds; the common case (no separate origin time) reuses the one string.
      const duration = Math.round((c.end - c.start) * 1e6);
      const duration$ = String(duration);
      if (c.remote !== client.remote || c.remotePort !== client.port) {
        client.remote = c.remote;
        client.port = c.remotePort;
        client.port$ = c.remotePort !== undefined ? String(c.remotePort) : '-';
        client.addr = c.remote.includes(':') ? '[' + c.remote + ']:' + client.port$ : c.remote + ':' + client.port$;
      }
      if (needHost) {
        const hh = hostHeader(c.headers);
        if (hh !== host.header) {
          host.header = hh;
          [host.host, host.port] = splitHostPort(hh);
        }
      }
      let origin$ = '';
      let originStatus: number | undefined;
      let originSize: number | undefined;
      let overhead$ = duration$;
      let serviceAddr$: string | undefined;
      if (c.upstream !== undefined) {
        originStatus = c.status;
        originSize = c.bytes;
        // Without a separate origin timestamp the whole time counts as the origin's.
        if (c.originNs >= 0) {
          origin$ = String(c.originNs);
          overhead$ = String(Math.max(0, duration - c.originNs));
        } else {
          origin$ = duration$;
          overhead$ = '0';
        }
        if (c.upstream !== addr.upstream) {
          addr.upstream = c.upstream;
          addr.addr = serviceAddr(c.upstream);
        }
        serviceAddr$ = addr.addr;
      }
      let startFields = '';
      if (keepStart) {
        const ms = origin + c.start;
        const sec = Math.floor(ms / 1000);
        if (sec !== start.sec) secondsOf(sec, start);
        const fraction = '.' + String(1_000_000 + Math.floor((ms - sec * 1000) * 1000)).slice(1);
        startFields = StartLocal.raw('"' + start.local + fraction + start.localSuffix + '"') + StartUTC.raw('"' + start.utc + fraction + 'Z"');
      }
      const endSec = Math.floor((origin + c.end) / 1000);
      if (endSec !== end.sec) secondsOf(endSec, end);
      va[0] = client.addr; va[1] = c.clientIp; va[2] = client.port$; va[3] = c.username; va[4] = c.bytes; va[5] = c.status;
      vb[0] = c.entrypoint; vb[1] = originSize;
      vc[0] = originStatus; vc[1] = overhead$; vc[2] = host.header; vc[3] = c.headers['content-length'];
      vd[0] = host.host; vd[1] = c.method;
      ve[0] = host.port; ve[1] = c.httpVersion; ve[2] = c.scheme; ve[3] = c.retries; ve[4] = c.router; ve[5] = c.service; ve[6] = c.upstream; ve[7] = serviceAddr$;
      vf[0] = c.tlsCipher; vf[1] = c.tlsVersion; vf[2] = end.time;
      out += segA.get(va)
        + Duration.raw(duration$)
        + segB.get(vb)
        + OriginDuration.raw(c.upstream === undefined ? undefined : origin$)
        + segC.get(vc)
        + RequestCount.raw(String(c.count))
        + segD.get(vd)
        + RequestPath.get(c.url)
        + segE.get(ve)
        + startFields
        + (headers === undefined ? segF.get(vf) : TLSCipher.get(c.tlsCipher) + TLSVersion.get(c.tlsVersion) + headers('request_', c.headers) + (c.resHeaders ? headers('downstream_', c.resHeaders) : '') + end.time);
    }
    return out;
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

/**
 * Traefik's common log format:
 * `host - user [time] "METHOD path proto" status size "referer" "agent" count "router" "url" Nms`.
 * `generic` stops after the user agent (Traefik's `genericCLF`). Dropped fields show as `-`,
 * redacted ones as `REDACTED`, as in Traefik.
 */
function compileCommonBatch(modes: Readonly<Record<CoreField, FieldMode>>, headerDefault: FieldMode, headerNames: ReadonlyMap<string, FieldMode>, generic: boolean): CaptureFormatter {
  const m: Record<CoreField, number> = Object.fromEntries(CORE_FIELDS.map((f) => [f, modeCode(modes[f])])) as Record<CoreField, number>;
  const s = (f: CoreField, v: string | number | undefined): string | undefined => (m[f] === DROP ? undefined : m[f] === REDACT ? 'REDACTED' : v === undefined ? undefined : String(v));
  const hm = (name: string): number => modeCode(headerNames.get(name) ?? headerDefault);
  const refererMode = hm('referer');
  const uaMode = hm('user-agent');
  const header = (mode: number, v: string | string[] | undefined): string | undefined => (mode === DROP ? undefined : mode === REDACT ? 'REDACTED' : (v as string | undefined));
  const timeMemo = { sec: -1, clf: '' };
  const fixed = { client: '', user: '', method: '', proto: '', router: '', url: '' };
  const origin = performance.timeOrigin;
  const clfSecond = (ms: number): string => {
    const sec = Math.floor(ms / 1000);
    if (sec !== timeMemo.sec) {
      const d = new Date(sec * 1000);
      timeMemo.sec = sec;
      timeMemo.clf = `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
    }
    return timeMemo.clf;
  };
  // Values that usually repeat (client, user, method, protocol, router, service URL) are escaped once.
  let lastClient: string | undefined;
  let lastUser: string | undefined;
  let lastMethod: string | undefined;
  let lastVersion: string | undefined;
  let lastRouter: string | undefined = '\0';
  let lastUrl: string | undefined = '\0';
  return (caps) => {
    let out = '';
    for (let i = 0; i < caps.length; i++) {
      const c = caps[i]!;
      if (c.clientIp !== lastClient) { lastClient = c.clientIp; fixed.client = plain(s('ClientHost', c.clientIp)); }
      if (c.username !== lastUser) { lastUser = c.username; fixed.user = plain(s('ClientUsername', c.username)); }
      if (c.method !== lastMethod) { lastMethod = c.method; fixed.method = plain(s('RequestMethod', c.method)); }
      if (c.httpVersion !== lastVersion) { lastVersion = c.httpVersion; fixed.proto = plain(s('RequestProtocol', 'HTTP/' + c.httpVersion)); }
      const time = m.StartUTC !== DROP ? clfSecond(origin + c.start) : '-';
      let line = fixed.client + ' - ' + fixed.user + ' [' + time + '] "' + fixed.method + ' ' + plain(s('RequestPath', c.url)) + ' ' + fixed.proto + '" '
        + plain(s('DownstreamStatus', c.status)) + ' ' + plain(s('DownstreamContentSize', c.bytes)) + ' '
        + quoted(header(refererMode, c.headers.referer)) + ' ' + quoted(header(uaMode, c.headers['user-agent']));
      if (!generic) {
        if (c.router !== lastRouter) { lastRouter = c.router; fixed.router = quoted(s('RouterName', c.router)); }
        if (c.upstream !== lastUrl) { lastUrl = c.upstream; fixed.url = quoted(s('ServiceURL', c.upstream)); }
        const ms = m.Duration !== DROP ? Math.floor(Math.round((c.end - c.start) * 1e6) / 1e6) : 0;
        line += ' ' + plain(s('RequestCount', c.count)) + ' ' + fixed.router + ' ' + fixed.url + ' ' + ms + 'ms';
      }
      out += line + '\n';
    }
    return out;
  };
}
