import type { TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import type { AccessLogConfig, EntryPointConfig } from '../config/static/types.ts';
import type { ProxyRequest, RequestContext } from '../engine/message.ts';
import type { ProxyResponse } from '../engine/response.ts';
import { parseDuration } from '../lib/duration.ts';
import { CORE_FIELDS, type CoreField, type FieldMode } from './access-log-format.ts';
import { compileFormatter } from './access-log-lines.ts';
import { Capture, captureHeaderList } from './capture.ts';
import { fileSink, type LineSink, stdoutSink } from './line-sink.ts';
import { LineWriter } from './line-writer.ts';
import { responseBytes } from './response-bytes.ts';
import { parseStatusRanges, type StatusRanges } from './status-ranges.ts';

/** The access log: one line per finished (or aborted) request. */
export interface AccessLog {
  /** The entrypoint's `onResponse` hook. */
  onResponse(req: ProxyRequest, res: ProxyResponse, ctx: RequestContext): void;
  /** Writes what is buffered and closes the file. */
  close(): Promise<void>;
  /** Resolves when every line logged so far has been written (tests, shutdown). */
  flush(): Promise<void>;
  /**
   * Opens `filePath` again (after log rotation, on SIGUSR1 as Traefik); throws a BerthError when
   * it cannot be opened, and lines keep going to the old file. No-op for standard output.
   */
  reopen(): void;
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
  /** Without `bufferingSize`: how long lines gather before they are written (default 20 ms). */
  readonly writeDelayMs?: number;
}

const MODES = new Set(['keep', 'drop', 'redact']);
const mode = (v: string | undefined, fallback: FieldMode): FieldMode =>
  v !== undefined && MODES.has(v.toLowerCase()) ? (v.toLowerCase() as FieldMode) : fallback;

/**
 * Creates the access log for the static `accessLog` section, or undefined when it is absent.
 * Throws a BerthError (`BERTH_ERR_CONFIG_INVALID`) when `filePath` cannot be opened.
 */
export function createAccessLog(cfg: AccessLogConfig | undefined, opts: AccessLogOptions = {}): AccessLog | undefined {
  if (!cfg) return undefined;
  const format = cfg.format === 'json' ? 'json' : cfg.format === 'genericCLF' ? 'generic' : 'common';
  const sink = opts.sink ?? (cfg.filePath ? fileSink(cfg.filePath) : stdoutSink());
  // Field modes: names are matched case-insensitively, as Traefik lower-cases them.
  const defaultMode = mode(cfg.fields?.defaultMode, 'keep');
  const names = new Map<string, FieldMode>();
  for (const [k, v] of Object.entries(cfg.fields?.names ?? {})) names.set(k.toLowerCase(), mode(v, defaultMode));
  const modes = Object.fromEntries(CORE_FIELDS.map((f) => [f, names.get(f.toLowerCase()) ?? defaultMode])) as Record<
    CoreField,
    FieldMode
  >;
  // TLS details are only looked up when a line shows them (CLF never does).
  const needTls = format === 'json' && (modes.TLSVersion !== 'drop' || modes.TLSCipher !== 'drop');

  // Headers: Traefik drops them all by default; only named ones are looked at unless the default keeps.
  const headerDefault = mode(cfg.fields?.headers?.defaultMode, 'drop');
  const headerNames = new Map<string, FieldMode>();
  for (const [k, v] of Object.entries(cfg.fields?.headers?.names ?? {}))
    headerNames.set(k.toLowerCase(), mode(v, headerDefault));
  // Response headers only matter to JSON lines that log headers.
  const logsHeaders = headerDefault !== 'drop' || [...headerNames.values()].some((m) => m !== 'drop');
  const needResHeaders = format === 'json' && logsHeaders;
  // Referer and User-Agent appear in CLF lines only (in JSON, as header fields when kept).
  const clf = format !== 'json';

  const writer = new LineWriter<Capture>(
    sink,
    {
      bufferLines: cfg.bufferingSize ?? 0,
      flushMs: opts.flushMs ?? 1000,
      maxPendingBytes: 64 * 1024 * 1024,
      // One write per 20 ms instead of one per event-loop turn: under load each write (a thread-pool
      // hand-off and a wake-up) cost more than the lines in it; a reader of the file sees no difference.
      writeDelayMs: opts.writeDelayMs ?? 20,
      ...(opts.onError ? { onError: opts.onError } : {}),
    },
    compileFormatter({ format, modes, headerDefault, headerNames }),
    {
      make: () => new Capture(),
      // Nothing of a request stays referenced once its line is formatted: a string still held by
      // a pooled capture when the young generation is collected is copied, and soon promoted.
      release: (c) => {
        c.headers = undefined;
        c.resHeaders = undefined;
        c.url = '';
        c.host = '';
        c.clientIp = '';
        c.contentLength = undefined;
        c.referer = undefined;
        c.userAgent = undefined;
      },
    },
  );

  // Filters: a line is kept when any configured filter matches (Traefik's semantics).
  const ranges: StatusRanges | undefined = cfg.filters?.statusCodes?.length
    ? parseStatusRanges(cfg.filters.statusCodes)
    : undefined;
  const minDurationNs = (parseDuration(cfg.filters?.minDuration) ?? 0) * 1e6;
  const retryFilter = cfg.filters?.retryAttempts === true;
  const filtering = ranges !== undefined || retryFilter || minDurationNs > 0;

  const skipEntrypoints = new Set(
    Object.entries(opts.entryPoints ?? {})
      .filter(([, e]) => e.observability?.accessLogs === false)
      .map(([n]) => n),
  );
  const skipping = skipEntrypoints.size > 0;
  const addInternals = cfg.addInternals === true;
  let count = 0;

  // The request path: decide whether the request is logged and copy its values into a pooled
  // capture; lines are formatted (see access-log-lines.ts) and written in batches.
  const onResponse = (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext): void => {
    count++;
    if (skipping && skipEntrypoints.has(ctx.entrypoint)) return;
    const service = ctx.service;
    if (!addInternals && service !== undefined && service.endsWith('@internal')) return;
    const end = performance.now();
    const status = res.statusCode;
    const extra = ctx.extra;
    let retries = 0;
    if (extra !== undefined) {
      const r = extra.retryAttempts;
      if (typeof r === 'number') retries = r;
    }
    // Duration in ns as the line shows it (rounded), so the filter and the line agree.
    if (
      filtering &&
      !(
        ranges?.has(status) ||
        (retryFilter && retries > 0) ||
        (minDurationNs > 0 && Math.round((end - ctx.start) * 1e6) > minDurationNs)
      )
    )
      return;

    // Numbers and references to strings the request already holds; formatted with its batch.
    const c = writer.slot();
    c.start = ctx.start;
    c.end = end;
    c.entrypoint = ctx.entrypoint;
    c.clientIp = ctx.clientIp;
    // ClientAddr and ClientPort: the connection's client (the PROXY protocol's when a trusted balancer declared one).
    c.remote = req.remoteAddress;
    c.remotePort = req.remotePort;
    c.method = req.method;
    c.url = req.url;
    c.httpVersion = req.httpVersion;
    c.scheme = ctx.scheme;
    captureHeaderList(c, req.headers, logsHeaders, clf);
    c.status = status;
    c.bytes = responseBytes(res, req.method, status);
    c.count = count;
    c.retries = retries;
    c.router = ctx.router;
    c.service = service;
    c.upstream = ctx.upstream;
    c.username = '-';
    c.originNs = -1;
    if (extra !== undefined) {
      const u = extra.clientUsername;
      if (typeof u === 'string') c.username = u;
      const o = extra.originDurationNs;
      if (typeof o === 'number') c.originNs = o;
    }
    c.tlsVersion = undefined;
    c.tlsCipher = undefined;
    if (needTls && ctx.scheme === 'https') {
      const tls = req.socket as TLSSocket;
      const v = typeof tls.getProtocol === 'function' ? tls.getProtocol() : null;
      if (v) c.tlsVersion = v.replace('TLSv', '');
      const ci = typeof tls.getCipher === 'function' ? tls.getCipher() : undefined;
      if (ci) c.tlsCipher = ci.standardName ?? ci.name;
    }
    c.resHeaders = needResHeaders ? res.headers.toObject() : undefined;
    writer.commit();
  };

  return {
    onResponse,
    flush: () => writer.drain(),
    reopen: () => writer.reopen(),
    close: () => writer.close(),
  };
}
