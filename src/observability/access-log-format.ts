/**
 * Access-log line formats: Traefik's JSON (logrus field names) and its common log formats.
 * Lines are built by concatenation from a flat record; no intermediate objects are serialised.
 */

/**
 * One request as the access log sees it. Fields that do not apply are undefined (and left out of
 * the line); every record has every key, so they all share one shape.
 */
export interface AccessRecord {
  /** Start time, epoch milliseconds with sub-millisecond fraction. */
  StartUTC: number;
  /** Total time in nanoseconds. */
  Duration: number;
  RouterName: string | undefined;
  ServiceName: string | undefined;
  ServiceURL: string | undefined;
  ServiceAddr: string | undefined;
  EntryPointName: string;
  ClientAddr: string;
  ClientHost: string;
  ClientPort: string;
  ClientUsername: string;
  RequestAddr: string;
  RequestHost: string;
  RequestPort: string;
  RequestMethod: string;
  RequestPath: string;
  RequestProtocol: string;
  RequestScheme: string;
  RequestContentSize: number;
  /** Absent when berth answered itself (404, redirect, auth …). */
  OriginStatus: number | undefined;
  OriginContentSize: number | undefined;
  OriginDuration: number | undefined;
  DownstreamStatus: number;
  DownstreamContentSize: number;
  Overhead: number;
  RequestCount: number;
  RetryAttempts: number;
  TLSVersion: string | undefined;
  TLSCipher: string | undefined;
}

export type CoreField = keyof AccessRecord | 'StartLocal';

/** Every core field Traefik writes, in the order logrus emits them (sorted). */
export const CORE_FIELDS: readonly CoreField[] = [
  'ClientAddr',
  'ClientHost',
  'ClientPort',
  'ClientUsername',
  'DownstreamContentSize',
  'DownstreamStatus',
  'Duration',
  'EntryPointName',
  'OriginContentSize',
  'OriginDuration',
  'OriginStatus',
  'Overhead',
  'RequestAddr',
  'RequestContentSize',
  'RequestCount',
  'RequestHost',
  'RequestMethod',
  'RequestPath',
  'RequestPort',
  'RequestProtocol',
  'RequestScheme',
  'RetryAttempts',
  'RouterName',
  'ServiceAddr',
  'ServiceName',
  'ServiceURL',
  'StartLocal',
  'StartUTC',
  'TLSCipher',
  'TLSVersion',
] as const;

/** How a field or header is written. */
export type FieldMode = 'keep' | 'drop' | 'redact';

/** A `FieldMode` as a small integer, for the formatters' per-line comparisons. */
export const DROP = 0;
export const KEEP = 1;
export const REDACT = 2;
/** The integer code of a `FieldMode`. */
export const modeCode = (m: FieldMode): number => (m === 'drop' ? DROP : m === 'redact' ? REDACT : KEEP);

/** A header to write: `prefix_Canonical-Name` and its value (already redacted when asked). */
export interface HeaderField {
  readonly key: string;
  readonly value: string;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** Per-second prefixes of the time strings: formatting a Date costs microseconds, a lookup does not. */
interface SecondCache {
  sec: number;
  utc: string;
  local: string;
  localSuffix: string;
  localNoFraction: string;
}
// Two entries: a line formats its start time and the current time, which differ for long requests.
const caches: [SecondCache, SecondCache] = [
  { sec: -1, utc: '', local: '', localSuffix: '', localNoFraction: '' },
  { sec: -1, utc: '', local: '', localSuffix: '', localNoFraction: '' },
];
let nextSlot = 0;

function second(ms: number): SecondCache {
  const sec = Math.floor(ms / 1000);
  if (caches[0].sec === sec) return caches[0];
  if (caches[1].sec === sec) return caches[1];
  const c = caches[nextSlot]!;
  nextSlot ^= 1;
  const d = new Date(sec * 1000);
  const offsetMin = -d.getTimezoneOffset();
  c.sec = sec;
  c.utc = d.toISOString().slice(0, 19);
  c.local = new Date(sec * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
  if (offsetMin === 0) c.localSuffix = 'Z';
  else {
    const a = Math.abs(offsetMin);
    c.localSuffix = `${offsetMin > 0 ? '+' : '-'}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
  }
  c.localNoFraction = c.local + c.localSuffix;
  return c;
}

/** `.123456`: the microseconds within the second. */
function fraction(ms: number): string {
  const us = Math.floor((ms - Math.floor(ms / 1000) * 1000) * 1000);
  return '.' + String(1_000_000 + us).slice(1);
}

/** Go's RFC3339Nano in UTC (`2024-05-01T10:20:30.123456Z`), to the microsecond. */
export function rfc3339Utc(ms: number): string {
  return second(ms).utc + fraction(ms) + 'Z';
}

/** RFC3339 with the local offset (`2024-05-01T12:20:30.123456+02:00`), Traefik's `StartLocal`. */
export function rfc3339Local(ms: number): string {
  const c = second(ms);
  return c.local + fraction(ms) + c.localSuffix;
}

/** RFC3339 to the second with the local offset, logrus' `time`. */
export function rfc3339LocalSeconds(ms: number): string {
  return second(ms).localNoFraction;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's `02/Jan/2006:15:04:05 -0700` in UTC, the CLF timestamp. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** Writes one core field's value as JSON, or undefined when the record has none. */
type JsonValue = (r: AccessRecord) => string | undefined;

// Most values need no escaping; JSON.stringify is kept for those that do (quotes, controls, surrogates).
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const str = (v: string | undefined): string | undefined =>
  v === undefined ? undefined : NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : '"' + v + '"';
const num = (v: number | undefined): string | undefined => (v === undefined ? undefined : String(v));

/** Direct property reads per field: no keyed lookups on the hot path. */
const JSON_VALUES: Record<CoreField, JsonValue> = {
  ClientAddr: (r) => str(r.ClientAddr),
  ClientHost: (r) => str(r.ClientHost),
  ClientPort: (r) => str(r.ClientPort),
  ClientUsername: (r) => str(r.ClientUsername),
  DownstreamContentSize: (r) => num(r.DownstreamContentSize),
  DownstreamStatus: (r) => num(r.DownstreamStatus),
  Duration: (r) => num(r.Duration),
  EntryPointName: (r) => str(r.EntryPointName),
  OriginContentSize: (r) => num(r.OriginContentSize),
  OriginDuration: (r) => num(r.OriginDuration),
  OriginStatus: (r) => num(r.OriginStatus),
  Overhead: (r) => num(r.Overhead),
  RequestAddr: (r) => str(r.RequestAddr),
  RequestContentSize: (r) => num(r.RequestContentSize),
  RequestCount: (r) => num(r.RequestCount),
  RequestHost: (r) => str(r.RequestHost),
  RequestMethod: (r) => str(r.RequestMethod),
  RequestPath: (r) => str(r.RequestPath),
  RequestPort: (r) => str(r.RequestPort),
  RequestProtocol: (r) => str(r.RequestProtocol),
  RequestScheme: (r) => str(r.RequestScheme),
  RetryAttempts: (r) => num(r.RetryAttempts),
  RouterName: (r) => str(r.RouterName),
  ServiceAddr: (r) => str(r.ServiceAddr),
  ServiceName: (r) => str(r.ServiceName),
  ServiceURL: (r) => str(r.ServiceURL),
  StartLocal: (r) => '"' + rfc3339Local(r.StartUTC) + '"',
  StartUTC: (r) => '"' + rfc3339Utc(r.StartUTC) + '"',
  TLSCipher: (r) => str(r.TLSCipher),
  TLSVersion: (r) => str(r.TLSVersion),
};

/** Formats one record (with its header fields) as a JSON line. */
export type JsonFormatter = (rec: AccessRecord, headers: readonly HeaderField[], now: number) => string;

/**
 * Builds the JSON line writer for a set of kept fields (drop already removed): the kept core
 * fields, then header fields, then logrus' `level`, `msg`, `time`.
 */
export function compileJson(fields: readonly (readonly [CoreField, FieldMode])[]): JsonFormatter {
  const keys = fields.map(([f]) => '"' + f + '":');
  const values = fields.map(([f, mode]): JsonValue => {
    const get = JSON_VALUES[f];
    return mode === 'redact' ? (r) => (get(r) === undefined ? undefined : '"REDACTED"') : get;
  });
  const n = fields.length;
  return (rec, headers, now) => {
    let out = '{';
    for (let i = 0; i < n; i++) {
      const v = values[i]!(rec);
      if (v !== undefined) out += keys[i]! + v + ',';
    }
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      out += JSON.stringify(h.key) + ':' + JSON.stringify(h.value) + ',';
    }
    return out + '"level":"info","msg":"","time":"' + rfc3339LocalSeconds(now) + '"}\n';
  };
}

/** Escapes a CLF value: quotes, backslashes and control characters cannot break the line. */
function clfEscape(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(s)
    ? s.replace(/["\\\x00-\x1f\x7f]/g, (c) =>
        c === '"' ? '\\"' : c === '\\' ? '\\\\' : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'),
      )
    : s;
}

function plain(v: string | undefined): string {
  return v === undefined || v === '' ? '-' : clfEscape(v);
}

function quoted(v: string | undefined): string {
  return v === undefined || v === '' ? '"-"' : '"' + clfEscape(v) + '"';
}

/**
 * Traefik's common log format:
 * `host - user [time] "METHOD path proto" status size "referer" "agent" count "router" "url" Nms`.
 * `generic` stops after the user agent (Traefik's `genericCLF`). Fields dropped by `fields.names`
 * show as `-`, redacted ones as `REDACTED`, as in Traefik.
 */
export function formatCommon(
  rec: AccessRecord,
  modes: Readonly<Record<CoreField, FieldMode>>,
  referer: string | undefined,
  userAgent: string | undefined,
  generic: boolean,
): string {
  const s = (f: keyof AccessRecord): string | undefined => {
    const m = modes[f];
    if (m === 'drop') return undefined;
    if (m === 'redact') return 'REDACTED';
    const v = rec[f];
    return v === undefined ? undefined : String(v);
  };
  const time = modes.StartUTC !== 'drop' ? clfTime(rec.StartUTC) : '-';
  let line = `${plain(s('ClientHost'))} - ${plain(s('ClientUsername'))} [${time}] "${plain(s('RequestMethod'))} ${plain(s('RequestPath'))} ${plain(s('RequestProtocol'))}" ${plain(s('DownstreamStatus'))} ${plain(s('DownstreamContentSize'))} ${quoted(referer)} ${quoted(userAgent)}`;
  if (!generic) {
    const ms = modes.Duration !== 'drop' ? Math.floor(rec.Duration / 1e6) : 0;
    line += ` ${plain(s('RequestCount'))} ${quoted(s('RouterName'))} ${quoted(s('ServiceURL'))} ${ms}ms`;
  }
  return line + '\n';
}
