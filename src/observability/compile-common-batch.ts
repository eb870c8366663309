/** Traefik's common log formats (CLF and `genericCLF`), written from captures. */
import { performance } from 'node:perf_hooks';
import { CORE_FIELDS, DROP, modeCode, REDACT, type CoreField, type FieldMode } from './access-log-format.ts';
import { type ByteWriter, EMPTY, utf8 } from './byte-writer.ts';
import type { CaptureFormatter } from './capture.ts';

const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Escapes a CLF value: quotes, backslashes and control characters cannot break the line. */
function clfEscape(s: string): string {
  return /["\\\x00-\x1f\x7f]/.test(s)
    ? s.replace(/["\\\x00-\x1f\x7f]/g, (c) =>
        c === '"' ? '\\"' : c === '\\' ? '\\\\' : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'),
      )
    : s;
}
const plain = (v: string | undefined): string => (v === undefined || v === '' ? '-' : clfEscape(v));
const quoted = (v: string | undefined): string => (v === undefined || v === '' ? '"-"' : '"' + clfEscape(v) + '"');

/** A CLF value that usually repeats, escaped and encoded once per change. */
class ClfValue {
  private last: string | undefined = '\0';
  private out: Buffer = EMPTY;
  private readonly render: (v: string | undefined) => string;
  constructor(render: (v: string | undefined) => string) {
    this.render = render;
  }
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
export function compileCommonBatch(
  modes: Readonly<Record<CoreField, FieldMode>>,
  headerDefault: FieldMode,
  headerNames: ReadonlyMap<string, FieldMode>,
  generic: boolean,
): CaptureFormatter {
  const m: Record<CoreField, number> = Object.fromEntries(CORE_FIELDS.map((f) => [f, modeCode(modes[f])])) as Record<
    CoreField,
    number
  >;
  const s = (f: CoreField, v: string | undefined): string | undefined =>
    m[f] === DROP ? undefined : m[f] === REDACT ? 'REDACTED' : v;
  const hm = (name: string): number => modeCode(headerNames.get(name) ?? headerDefault);
  const refererMode = hm('referer');
  const uaMode = hm('user-agent');
  const header = (mode: number, v: string | string[] | undefined): string | undefined =>
    mode === DROP ? undefined : mode === REDACT ? 'REDACTED' : (v as string | undefined);
  const timeMemo: { sec: number; clf: Buffer } = { sec: -1, clf: EMPTY };
  const origin = performance.timeOrigin;
  const clfSecond = (ms: number): Buffer => {
    const sec = Math.floor(ms / 1000);
    if (sec !== timeMemo.sec) {
      const d = new Date(sec * 1000);
      timeMemo.sec = sec;
      timeMemo.clf = utf8(
        ` [${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())} +0000] "`,
      );
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
  const statusMode = m.DownstreamStatus,
    sizeMode = m.DownstreamContentSize,
    countMode = m.RequestCount,
    durationMode = m.Duration;
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
