/**
 * Access-log line formats: Traefik's JSON (logrus field names) and its common log formats.
 * Lines are built by concatenation from a flat record; no intermediate objects are serialised.
 */

/** One request as the access log sees it. Optional fields are absent when they do not apply. */
export interface AccessRecord {
  /** Start time, epoch milliseconds with sub-millisecond fraction. */
  StartUTC: number;
  /** Total time in nanoseconds. */
  Duration: number;
  RouterName?: string;
  ServiceName?: string;
  ServiceURL?: string;
  ServiceAddr?: string;
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
  OriginStatus?: number;
  OriginContentSize?: number;
  OriginDuration?: number;
  DownstreamStatus: number;
  DownstreamContentSize: number;
  Overhead: number;
  RequestCount: number;
  RetryAttempts: number;
  TLSVersion?: string;
  TLSCipher?: string;
}

export type CoreField = keyof AccessRecord | 'StartLocal';

/** Every core field Traefik writes, in the order logrus emits them (sorted). */
export const CORE_FIELDS: readonly CoreField[] = ([
  'ClientAddr', 'ClientHost', 'ClientPort', 'ClientUsername', 'DownstreamContentSize', 'DownstreamStatus', 'Duration',
  'EntryPointName', 'OriginContentSize', 'OriginDuration', 'OriginStatus', 'Overhead', 'RequestAddr', 'RequestContentSize',
  'RequestCount', 'RequestHost', 'RequestMethod', 'RequestPath', 'RequestPort', 'RequestProtocol', 'RequestScheme',
  'RetryAttempts', 'RouterName', 'ServiceAddr', 'ServiceName', 'ServiceURL', 'StartLocal', 'StartUTC', 'TLSCipher', 'TLSVersion',
] as const);

/** How a field or header is written. */
export type FieldMode = 'keep' | 'drop' | 'redact';

/** A header to write: `prefix_Canonical-Name` and its value (already redacted when asked). */
export interface HeaderField {
  readonly key: string;
  readonly value: string;
}

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** Go's RFC3339Nano in UTC (`2024-05-01T10:20:30.123456Z`), microseconds kept from the fraction. */
export function rfc3339Utc(ms: number): string {
  const d = new Date(Math.floor(ms));
  const iso = d.toISOString(); // 2024-05-01T10:20:30.123Z
  const micros = Math.floor((ms - Math.floor(ms)) * 1000);
  return iso.slice(0, 23) + String(micros).padStart(3, '0') + 'Z';
}

/** RFC3339 with the local offset (`2024-05-01T12:20:30.123456+02:00`), Traefik's `StartLocal`. */
export function rfc3339Local(ms: number): string {
  const offsetMin = -new Date(Math.floor(ms)).getTimezoneOffset();
  const shifted = rfc3339Utc(ms + offsetMin * 60_000).slice(0, -1);
  if (offsetMin === 0) return shifted + 'Z';
  const sign = offsetMin > 0 ? '+' : '-';
  const a = Math.abs(offsetMin);
  return `${shifted}${sign}${pad2(Math.floor(a / 60))}:${pad2(a % 60)}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Go's `02/Jan/2006:15:04:05 -0700` in UTC, the CLF timestamp. */
export function clfTime(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000`;
}

/** The value of a core field (StartUTC/StartLocal rendered as Traefik's time strings). */
function fieldValue(rec: AccessRecord, f: CoreField): string | number | undefined {
  if (f === 'StartUTC') return rfc3339Utc(rec.StartUTC);
  if (f === 'StartLocal') return rfc3339Local(rec.StartUTC);
  return rec[f];
}

/**
 * A JSON line: the kept core fields, then header fields, then logrus' `level`, `msg`, `time`.
 * `fields` lists the core fields to write with their mode (drop already removed).
 */
export function formatJson(rec: AccessRecord, fields: readonly (readonly [CoreField, FieldMode])[], headers: readonly HeaderField[], now: number): string {
  let out = '{';
  for (let i = 0; i < fields.length; i++) {
    const [f, mode] = fields[i]!;
    const v = fieldValue(rec, f);
    if (v === undefined) continue;
    out += '"' + f + '":' + (mode === 'redact' ? '"REDACTED"' : typeof v === 'number' ? String(v) : JSON.stringify(v)) + ',';
  }
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    out += JSON.stringify(h.key) + ':' + JSON.stringify(h.value) + ',';
  }
  return out + '"level":"info","msg":"","time":"' + rfc3339Local(now).replace(/\.\d+/, '') + '"}\n';
}

/** Escapes a CLF value: quotes, backslashes and control characters cannot break the line. */
function clfEscape(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(s) ? s.replace(/["\\\x00-\x1f\x7f]/g, (c) => (c === '"' ? '\\"' : c === '\\' ? '\\\\' : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))) : s;
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
export function formatCommon(rec: AccessRecord, keep: (f: CoreField) => FieldMode, referer: string | undefined, userAgent: string | undefined, generic: boolean): string {
  const s = (f: keyof AccessRecord): string | undefined => {
    const m = keep(f);
    if (m === 'drop') return undefined;
    if (m === 'redact') return 'REDACTED';
    const v = rec[f];
    return v === undefined ? undefined : String(v);
  };
  const time = keep('StartUTC') !== 'drop' ? clfTime(rec.StartUTC) : '-';
  let line = `${plain(s('ClientHost'))} - ${plain(s('ClientUsername'))} [${time}] "${plain(s('RequestMethod'))} ${plain(s('RequestPath'))} ${plain(s('RequestProtocol'))}" ${plain(s('DownstreamStatus'))} ${plain(s('DownstreamContentSize'))} ${quoted(referer)} ${quoted(userAgent)}`;
  if (!generic) {
    const ms = keep('Duration') !== 'drop' ? Math.floor(rec.Duration / 1e6) : 0;
    line += ` ${plain(s('RequestCount'))} ${quoted(s('RouterName'))} ${quoted(s('ServiceURL'))} ${ms}ms`;
  }
  return line + '\n';
}
