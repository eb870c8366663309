import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { AccessLogConfig, EntryPointConfig } from '../config/static/types.ts';
import type { RequestContext } from '../http/handler.ts';
import { parseDuration } from '../lib/duration.ts';
import { CORE_FIELDS, compileJson, formatCommon, type AccessRecord, type CoreField, type FieldMode, type HeaderField } from './access-log-format.ts';
import { fileSink, LineWriter, stdoutSink, type LineSink } from './line-writer.ts';
import { installResponseByteCounter, requestBytes, responseBytes } from './response-bytes.ts';
import { parseStatusRanges, type StatusRanges } from './status-ranges.ts';

/** The access log: one line per finished (or aborted) request. */
export interface AccessLog {
  /** The entrypoint's `onResponse` hook. */
  onResponse(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void;
  /** Writes what is buffered and closes the file. */
  close(): Promise<void>;
  /** Resolves when every line logged so far has been written (tests, shutdown). */
  flush(): Promise<void>;
}

/** Options beside the static `accessLog` section. */
export interface AccessLogOptions {
  /** Entrypoints; those with `observability.accessLogs: false` are not logged. */
  readonly entryPoints?: Readonly<Record<string, EntryPointConfig>>;
  /** Replaces stdout / the file (tests). */
  readonly sink?: LineSink;
  /** Told when writing fails (once per failure streak). */
  readonly onError?: (err: Error) => void;
  /** Longest time a line waits in the buffer (default 1 s). */
  readonly flushMs?: number;
}

const NO_HEADERS: HeaderField[] = [];
const MODES = new Set(['keep', 'drop', 'redact']);
const mode = (v: string | undefined, fallback: FieldMode): FieldMode => (v !== undefined && MODES.has(v.toLowerCase()) ? (v.toLowerCase() as FieldMode) : fallback);

/** `user-agent` → `User-Agent`, Go's canonical MIME header key. */
export function canonicalHeader(name: string): string {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

/**
 * Creates the access log for the static `accessLog` section, or undefined when it is absent.
 * Throws a BerthError (`BERTH_ERR_CONFIG_INVALID`) when `filePath` cannot be opened.
 */
export function createAccessLog(cfg: AccessLogConfig | undefined, opts: AccessLogOptions = {}): AccessLog | undefined {
  if (!cfg) return undefined;
  installResponseByteCounter();
  const format = cfg.format === 'json' ? 'json' : cfg.format === 'genericCLF' ? 'generic' : 'common';
  const sink = opts.sink ?? (cfg.filePath ? fileSink(cfg.filePath) : stdoutSink());
  const writer = new LineWriter(sink, {
    bufferLines: cfg.bufferingSize ?? 0,
    flushMs: opts.flushMs ?? 1000,
    maxPendingBytes: 64 * 1024 * 1024,
    ...(opts.onError ? { onError: opts.onError } : {}),
  });

  // Field modes: names are matched case-insensitively, as Traefik lower-cases them.
  const defaultMode = mode(cfg.fields?.defaultMode, 'keep');
  const names = new Map<string, FieldMode>();
  for (const [k, v] of Object.entries(cfg.fields?.names ?? {})) names.set(k.toLowerCase(), mode(v, defaultMode));
  const fieldMode = (f: CoreField): FieldMode => names.get(f.toLowerCase()) ?? defaultMode;
  const kept = CORE_FIELDS.map((f) => [f, fieldMode(f)] as const).filter(([, m]) => m !== 'drop');
  const modes = Object.fromEntries(CORE_FIELDS.map((f) => [f, fieldMode(f)])) as Record<CoreField, FieldMode>;
  const formatJson = compileJson(kept);
  const needTls = kept.some(([f]) => f === 'TLSVersion' || f === 'TLSCipher');

  // Headers: Traefik drops them all by default; only named ones are looked at unless the default keeps.
  const headerDefault = mode(cfg.fields?.headers?.defaultMode, 'drop');
  const headerNames = new Map<string, FieldMode>();
  for (const [k, v] of Object.entries(cfg.fields?.headers?.names ?? {})) headerNames.set(k.toLowerCase(), mode(v, headerDefault));
  const namedHeaders = [...headerNames].filter(([, m]) => m !== 'drop').map(([k, m]) => ({ lower: k, canonical: canonicalHeader(k), mode: m }));
  const allHeaders = headerDefault !== 'drop';
  const headerMode = (lower: string): FieldMode => headerNames.get(lower) ?? headerDefault;

  // Filters: a line is kept when any configured filter matches (Traefik's semantics).
  const ranges: StatusRanges | undefined = cfg.filters?.statusCodes?.length ? parseStatusRanges(cfg.filters.statusCodes) : undefined;
  const minDurationNs = (parseDuration(cfg.filters?.minDuration) ?? 0) * 1e6;
  const retryFilter = cfg.filters?.retryAttempts === true;
  const filtering = ranges !== undefined || retryFilter || minDurationNs > 0;

  const skipEntrypoints = new Set(Object.entries(opts.entryPoints ?? {}).filter(([, e]) => e.observability?.accessLogs === false).map(([n]) => n));
  const addInternals = cfg.addInternals === true;
  let count = 0;

  const collectHeaders = (out: HeaderField[], prefix: string, headers: Record<string, unknown>): void => {
    if (allHeaders) {
      for (const k in headers) {
        const m = headerMode(k);
        if (m === 'drop') continue;
        const v = headers[k];
        if (v === undefined) continue;
        out.push({ key: prefix + canonicalHeader(k), value: m === 'redact' ? 'REDACTED' : Array.isArray(v) ? v.join(',') : String(v) });
      }
      return;
    }
    for (const h of namedHeaders) {
      const v = headers[h.lower];
      if (v === undefined) continue;
      out.push({ key: prefix + h.canonical, value: h.mode === 'redact' ? 'REDACTED' : Array.isArray(v) ? v.join(',') : String(v) });
    }
  };

  const onResponse = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext): void => {
    count++;
    if (skipEntrypoints.size > 0 && skipEntrypoints.has(ctx.entrypoint)) return;
    if (!addInternals && ctx.service !== undefined && ctx.service.endsWith('@internal')) return;
    const durationNs = Math.round((performance.now() - ctx.start) * 1e6);
    const status = res.statusCode;
    const extra = ctx.extra;
    const retries = typeof extra?.retryAttempts === 'number' ? extra.retryAttempts : 0;
    if (filtering && !((ranges !== undefined && ranges.has(status)) || (retryFilter && retries > 0) || (minDurationNs > 0 && durationNs > minDurationNs))) return;

    const sock = req.socket;
    const remote = sock?.remoteAddress ?? '';
    const remotePort = sock?.remotePort !== undefined ? String(sock.remotePort) : '-';
    const hostHeader = (req.headers.host ?? (req.headers[':authority'] as string | undefined)) ?? '';
    const { host, port } = splitHostPort(hostHeader);
    const bytes = responseBytes(res, req.method, status);
    const rec: AccessRecord = {
      StartUTC: performance.timeOrigin + ctx.start,
      Duration: durationNs,
      EntryPointName: ctx.entrypoint,
      ClientAddr: remote.includes(':') ? `[${remote}]:${remotePort}` : `${remote}:${remotePort}`,
      ClientHost: ctx.clientIp,
      ClientPort: remotePort,
      ClientUsername: typeof extra?.clientUsername === 'string' ? extra.clientUsername : '-',
      RequestAddr: hostHeader,
      RequestHost: host,
      RequestPort: port,
      RequestMethod: req.method ?? '-',
      RequestPath: req.url ?? '/',
      RequestProtocol: `HTTP/${req.httpVersion}`,
      RequestScheme: ctx.scheme,
      RequestContentSize: requestBytes(req.headers),
      OriginStatus: undefined,
      OriginContentSize: undefined,
      OriginDuration: undefined,
      DownstreamStatus: status,
      DownstreamContentSize: bytes,
      Overhead: durationNs,
      RequestCount: count,
      RetryAttempts: retries,
      RouterName: ctx.router,
      ServiceName: ctx.service,
      ServiceURL: ctx.upstream,
      ServiceAddr: undefined,
      TLSVersion: undefined,
      TLSCipher: undefined,
    };
    if (ctx.upstream !== undefined) {
      rec.ServiceAddr = serviceAddr(ctx.upstream);
      rec.OriginStatus = status;
      rec.OriginContentSize = bytes;
      // Without a separate origin timestamp the whole time counts as the origin's.
      const origin = typeof extra?.originDurationNs === 'number' ? extra.originDurationNs : durationNs;
      rec.OriginDuration = origin;
      rec.Overhead = Math.max(0, durationNs - origin);
    }
    if (needTls && ctx.scheme === 'https') {
      const tls = sock as TLSSocket;
      const v = typeof tls.getProtocol === 'function' ? tls.getProtocol() : null;
      if (v) rec.TLSVersion = v.replace('TLSv', '');
      const c = typeof tls.getCipher === 'function' ? tls.getCipher() : undefined;
      if (c) rec.TLSCipher = c.standardName ?? c.name;
    }

    if (format === 'json') {
      let headers: HeaderField[] = NO_HEADERS;
      if (allHeaders || namedHeaders.length > 0) {
        headers = [];
        collectHeaders(headers, 'request_', req.headers as Record<string, unknown>);
        collectHeaders(headers, 'downstream_', res.getHeaders() as Record<string, unknown>);
      }
      writer.push(formatJson(rec, headers, Date.now()));
    } else {
      const referer = headerMode('referer') === 'drop' ? undefined : headerMode('referer') === 'redact' ? 'REDACTED' : req.headers.referer;
      const ua = headerMode('user-agent') === 'drop' ? undefined : headerMode('user-agent') === 'redact' ? 'REDACTED' : req.headers['user-agent'];
      writer.push(formatCommon(rec, modes, referer, ua, format === 'generic'));
    }
  };

  return {
    onResponse,
    flush: () => writer.drain(),
    close: () => writer.close(),
  };
}

/** `host:port`, `[v6]:port`, or a bare host (port `-`, as Traefik). */
function splitHostPort(v: string): { host: string; port: string } {
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end > 0) return { host: v.slice(1, end), port: v.charCodeAt(end + 1) === 58 ? v.slice(end + 2) : '-' };
  }
  const i = v.lastIndexOf(':');
  if (i > 0 && v.indexOf(':') === i) return { host: v.slice(0, i), port: v.slice(i + 1) };
  return { host: v, port: '-' };
}

/** `http://10.0.0.2:8080/x` → `10.0.0.2:8080` (Traefik's ServiceAddr). */
function serviceAddr(url: string): string {
  const s = url.indexOf('//');
  const rest = s >= 0 ? url.slice(s + 2) : url;
  const e = rest.indexOf('/');
  return e >= 0 ? rest.slice(0, e) : rest;
}
