/**
 * What the access log keeps of a finished request, and how the request path fills it.
 *
 * When a response closes, the request path copies what it has at hand into a `Capture` (numbers
 * and references to existing strings; captures are pooled) and a `CaptureFormatter` turns a batch
 * of them into the write buffer's bytes just before the batch is written.
 */
import { sameName, type HeaderList } from '../engine/header-list.ts';
import type { ByteWriter } from './byte-writer.ts';

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
export function captureHeaders(
  c: Capture,
  h: Readonly<Record<string, string | string[] | undefined>>,
  all: boolean,
  agent = true,
): void {
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
      case 4:
        if (host === undefined && sameName(n, 'host')) host = raw[i + 1];
        break;
      case 14:
        if (cl === undefined && sameName(n, 'content-length')) cl = raw[i + 1];
        break;
      case 7:
        if (agent && ref === undefined && sameName(n, 'referer')) ref = raw[i + 1];
        break;
      case 10:
        if (agent && ua === undefined && sameName(n, 'user-agent')) ua = raw[i + 1];
        break;
    }
  }
  c.host = host ?? '';
  c.contentLength = cl;
  if (agent) {
    c.referer = ref;
    c.userAgent = ua;
  }
  if (all) c.headers = list.toObject();
}

/** Writes a batch of captures as text, one line each, in order. */
export type CaptureFormatter = (caps: readonly Capture[], out: ByteWriter) => void;
