/**
 * Traefik's JSON access-log lines, written from captures.
 *
 * The formatter is straight-line code: the fields whose values usually repeat from one line to the
 * next (router, service, host, status …) are kept as prepared byte fragments (`Segment`), compared
 * and copied; the values that change with every line (client port, sizes, durations, count, path,
 * start times) are written in place.
 */
import { performance } from 'node:perf_hooks';
import {
  CORE_FIELDS,
  DROP,
  KEEP,
  modeCode,
  REDACT,
  rfc3339LocalSeconds,
  rfc3339Utc,
  type CoreField,
  type FieldMode,
} from './access-log-format.ts';
import { EMPTY, utf8 } from './byte-writer.ts';
import type { CaptureFormatter } from './capture.ts';
import { contentLength, jsonString, serviceAddr, splitHostPort } from './line-values.ts';
import { compileHeaderWriter } from './header-writer.ts';
import { Peers } from './peers.ts';
import { Segment } from './segment.ts';

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
    return this.drop ? '' : (this.redacted ?? this.prefix);
  }

  /** What follows a value written in place. */
  after(): string {
    return this.keep ? ',' : '';
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

/** Prepares the per-second parts of lines that start (or end) in second `sec`. */
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

/**
 * Traefik's JSON lines (logrus field names, sorted), written from captures; header fields as
 * `headerDefault` and `headerNames` (lower-case names) say.
 */
export function compileJsonBatch(
  modes: Readonly<Record<CoreField, FieldMode>>,
  headerDefault: FieldMode,
  headerNames: ReadonlyMap<string, FieldMode>,
): CaptureFormatter {
  const headers = compileHeaderWriter(headerDefault, headerNames);
  const m = Object.fromEntries(CORE_FIELDS.map((f) => [f, modeCode(modes[f])])) as Record<CoreField, number>;
  const f = (name: CoreField): JsonField => new JsonField(name, m[name]);
  const ClientAddr = f('ClientAddr'),
    ClientHost = f('ClientHost'),
    ClientPort = f('ClientPort'),
    ClientUsername = f('ClientUsername');
  const DownstreamContentSize = f('DownstreamContentSize'),
    DownstreamStatus = f('DownstreamStatus'),
    Duration = f('Duration');
  const EntryPointName = f('EntryPointName'),
    OriginContentSize = f('OriginContentSize'),
    OriginDuration = f('OriginDuration');
  const OriginStatus = f('OriginStatus'),
    Overhead = f('Overhead'),
    RequestAddr = f('RequestAddr'),
    RequestContentSize = f('RequestContentSize');
  const RequestCount = f('RequestCount'),
    RequestHost = f('RequestHost'),
    RequestMethod = f('RequestMethod'),
    RequestPath = f('RequestPath');
  const RequestPort = f('RequestPort'),
    RequestProtocol = f('RequestProtocol'),
    RequestScheme = f('RequestScheme'),
    RetryAttempts = f('RetryAttempts');
  const RouterName = f('RouterName'),
    ServiceAddr = f('ServiceAddr'),
    ServiceName = f('ServiceName'),
    ServiceURL = f('ServiceURL');
  const StartLocal = f('StartLocal'),
    StartUTC = f('StartUTC'),
    TLSCipher = f('TLSCipher'),
    TLSVersion = f('TLSVersion');
  const kAddr = ClientAddr.keep,
    kPort = ClientPort.keep,
    kSize = DownstreamContentSize.keep,
    kDuration = Duration.keep;
  const kOriginSize = OriginContentSize.keep,
    kOriginDuration = OriginDuration.keep,
    kOverhead = Overhead.keep,
    kCount = RequestCount.keep;
  const kPath = RequestPath.keep,
    kLocal = StartLocal.keep,
    kUtc = StartUTC.keep;
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
  const s2 = new Segment(
    1,
    (v) => ClientPort.after() + ClientUsername.get(v[0] as string) + DownstreamContentSize.lead(),
  );
  const s3 = new Segment(
    1,
    (v) => DownstreamContentSize.after() + DownstreamStatus.get(v[0] as number) + Duration.lead(),
  );
  // With an upstream, the origin's size and duration follow the entrypoint.
  const s4 = new Segment(
    2,
    (v) => Duration.after() + EntryPointName.get(v[0] as string) + (v[1] === true ? OriginContentSize.lead() : ''),
  );
  const s5 = utf8(OriginContentSize.after() + OriginDuration.lead());
  const s6 = new Segment(
    2,
    (v) => (v[0] === true ? OriginDuration.after() + OriginStatus.get(v[1] as number) : '') + Overhead.lead(),
  );
  const s7 = new Segment(
    2,
    (v) =>
      Overhead.after() +
      RequestAddr.get(v[0] as string | undefined) +
      RequestContentSize.get(v[1] as number) +
      RequestCount.lead(),
  );
  const s8 = new Segment(
    2,
    (v) =>
      RequestCount.after() +
      RequestHost.get(v[0] as string | undefined) +
      RequestMethod.get(v[1] as string) +
      RequestPath.lead(),
  );
  const s9 = new Segment(
    8,
    (v) =>
      RequestPath.after() +
      RequestPort.get(v[0] as string | undefined) +
      RequestProtocol.get('HTTP/' + (v[1] as string)) +
      RequestScheme.get(v[2] as string) +
      RetryAttempts.get(v[3] as number) +
      RouterName.get(v[4] as string | undefined) +
      ServiceAddr.get(v[7] as string | undefined) +
      ServiceName.get(v[5] as string | undefined) +
      ServiceURL.get(v[6] as string | undefined) +
      StartLocal.lead(),
  );
  // StartLocal and StartUTC, and what lies between them, change only in their fractions within a second.
  const stamps: StampLayout = { local: kLocal, between: StartLocal.after() + StartUTC.lead(), utc: kUtc };
  const s10 = utf8(stamps.between);
  const s11 = new Segment(
    3,
    (v) =>
      StartUTC.after() +
      TLSCipher.get(v[0] as string | undefined) +
      TLSVersion.get(v[1] as string | undefined) +
      (v[2] as string),
  );
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
      v9[0] = needHost ? host.port : undefined;
      v9[1] = c.httpVersion;
      v9[2] = c.scheme;
      v9[3] = c.retries;
      v9[4] = c.router;
      v9[5] = c.service;
      v9[6] = c.upstream;
      v9[7] = up ? addr.addr : undefined;
      s9.put(w, v9);
      if (kLocal || kUtc) {
        const ms = origin + c.start;
        const sec = Math.floor(ms / 1000);
        if (sec !== start.sec) secondsOf(sec, start, stamps);
        w.bytesWithFraction(start.stamps, start.localAt, start.utcAt, Math.floor((ms - sec * 1000) * 1000));
      } else w.bytes(s10);
      const endSec = Math.floor((origin + c.end) / 1000);
      if (endSec !== end.sec) secondsOf(endSec, end, stamps);
      v11[0] = c.tlsCipher;
      v11[1] = c.tlsVersion;
      v11[2] = headers === undefined ? end.time : '';
      s11.put(w, v11);
      if (headers !== undefined)
        w.text(
          headers('request_', c.headers ?? {}) + (c.resHeaders ? headers('downstream_', c.resHeaders) : '') + end.time,
        );
    }
  };
}
