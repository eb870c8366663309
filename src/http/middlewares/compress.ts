import { constants, createBrotliCompress, createGzip, createZstdCompress, type Gzip } from 'node:zlib';
import type { Handler, ProxyResponse } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optNumber, optString, optStringList, OptionError } from './options.ts';
import { tapResponse, type RealResponse, type ResponseTap } from './respond.ts';

/** Every node:zlib compressor has the same stream and `flush()` shape. */
type Transform = Gzip;

type Encoding = 'zstd' | 'br' | 'gzip';
const ENCODINGS: readonly Encoding[] = ['zstd', 'br', 'gzip'];

/**
 * Traefik's `compress`: gzip, br and zstd (node:zlib) chosen from `Accept-Encoding` (q-values, `*`),
 * ties broken by `encodings` order (default zstd, br, gzip); `defaultEncoding` when the header is
 * absent. Skips responses already encoded, smaller than `minResponseBodyBytes` (default 1024; an
 * unknown length is buffered up to that size to decide), of `excludedContentTypes` (or not in
 * `includedContentTypes`), gRPC, HEAD, 204/304 and upgrades. Always adds `Vary: Accept-Encoding`.
 * Event streams are flushed chunk by chunk.
 */
export const compressFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, [
      'excludedContentTypes',
      'includedContentTypes',
      'minResponseBodyBytes',
      'encodings',
      'defaultEncoding',
    ]);
    const excluded = (optStringList(options, 'excludedContentTypes') ?? []).map(mediaType);
    const included = (optStringList(options, 'includedContentTypes') ?? []).map(mediaType);
    if (excluded.length > 0 && included.length > 0)
      throw new OptionError('excludedContentTypes and includedContentTypes are mutually exclusive');
    const min = optNumber(options, 'minResponseBodyBytes', { min: 0, integer: true }) ?? 1024;
    const encodings = (optStringList(options, 'encodings') ?? [...ENCODINGS]).map((e) => e.toLowerCase());
    for (const e of encodings)
      if (!ENCODINGS.includes(e as Encoding))
        throw new OptionError(`encodings: unsupported encoding ${JSON.stringify(e)}`);
    if (encodings.length === 0) throw new OptionError('encodings: at least one encoding is required');
    const defaultEncoding = optString(options, 'defaultEncoding')?.toLowerCase();
    if (defaultEncoding !== undefined && defaultEncoding !== '' && !encodings.includes(defaultEncoding)) {
      throw new OptionError(`defaultEncoding: ${JSON.stringify(defaultEncoding)} is not among encodings`);
    }
    const order = encodings as Encoding[];

    const compressible = (contentType: string): boolean => {
      const t = mediaType(contentType);
      if (t.startsWith('application/grpc')) return false;
      if (included.length > 0) return included.includes(t);
      return !excluded.includes(t);
    };

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const accept = req.headers.get('accept-encoding');
        const encoding =
          accept === undefined
            ? defaultEncoding
              ? (defaultEncoding as Encoding)
              : undefined
            : negotiate(accept, order);
        if (req.upgrade || req.method === 'HEAD') {
          next(req, res, ctx);
          return;
        }
        tapResponse(res, (real) => compressTap(res, real, encoding, min, compressible));
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });

function compressTap(
  res: ProxyResponse,
  real: RealResponse,
  encoding: Encoding | undefined,
  min: number,
  compressible: (ct: string) => boolean,
): ResponseTap {
  let mode: 'deciding' | 'plain' | 'compress' = 'deciding';
  let status = 200;
  let held: Buffer[] = [];
  let heldSize = 0;
  let z: Transform | undefined;
  let flushEach = false;

  const addVary = (): void => {
    const cur = res.getHeader('vary');
    const text = Array.isArray(cur) ? cur.join(', ') : cur === undefined ? '' : String(cur);
    if (text.split(',').some((t) => t.trim().toLowerCase() === 'accept-encoding' || t.trim() === '*')) return;
    res.setHeader('vary', text === '' ? 'Accept-Encoding' : `${text}, Accept-Encoding`);
  };
  const goPlain = (): void => {
    mode = 'plain';
    real.writeHead(status);
    for (const c of held) real.write(c);
    held = [];
  };
  const goCompress = (): void => {
    mode = 'compress';
    res.removeHeader('content-length');
    res.setHeader('content-encoding', encoding!);
    const ct = String(res.getHeader('content-type') ?? '');
    flushEach = mediaType(ct) === 'text/event-stream';
    z = makeCompressor(encoding!);
    z.on('data', (d: Buffer) => {
      if (!real.write(d)) z!.pause();
    });
    res.on('drain', () => z?.resume());
    z.on('drain', () => res.emitDrain());
    z.on('end', () => real.end());
    z.on('error', () => res.destroy());
    real.writeHead(status);
    for (const c of held) z.write(c);
    held = [];
  };

  return {
    head(s: number) {
      status = s;
      if (mode !== 'deciding') return;
      const ce = res.getHeader('content-encoding');
      const ct = res.getHeader('content-type');
      const bodyless = s < 200 || s === 204 || s === 304;
      if (!bodyless && (ce === undefined || String(ce) === '' || String(ce).toLowerCase() === 'identity')) addVary();
      if (
        !encoding ||
        bodyless ||
        (ce !== undefined && String(ce) !== '' && String(ce).toLowerCase() !== 'identity') ||
        (ct !== undefined && !compressible(String(ct))) ||
        res.getHeader('content-range') !== undefined
      ) {
        goPlain();
        return;
      }
      const cl = res.getHeader('content-length');
      if (cl !== undefined) {
        if (Number(cl) < min) goPlain();
        else goCompress();
      }
    },
    write(chunk: Buffer): boolean {
      if (mode === 'plain') return real.write(chunk);
      if (mode === 'compress') {
        const ok = z!.write(chunk);
        if (flushEach) z!.flush();
        return ok;
      }
      held.push(chunk);
      heldSize += chunk.length;
      if (heldSize >= min) goCompress();
      return true;
    },
    end() {
      if (mode === 'deciding') {
        // The whole body is here and it is small: send it as it is, with its length.
        res.setHeader('content-length', heldSize);
        goPlain();
      }
      if (mode === 'compress') z!.end();
      else real.end();
    },
    flush() {
      if (mode === 'deciding') goCompress();
    },
  };
}

function makeCompressor(encoding: Encoding): Transform {
  switch (encoding) {
    case 'gzip':
      return createGzip();
    case 'br':
      return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } }) as unknown as Transform;
    default:
      return createZstdCompress() as unknown as Transform;
  }
}

/** The media type of a Content-Type value, lower case, without parameters or spaces. */
function mediaType(value: string): string {
  return value.split(';')[0]!.replace(/\s+/g, '').toLowerCase();
}

/**
 * Picks the encoding for an `Accept-Encoding` value: highest q among those we offer, ties broken
 * by our order; `*` stands for any encoding not listed; `identity`-only or q=0 mean none.
 */
export function negotiate(header: string | string[], order: readonly Encoding[]): Encoding | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  const q = new Map<string, number>();
  for (const part of text.split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    let weight = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) weight = Number(m[1]);
    }
    q.set(name.trim().toLowerCase(), Number.isFinite(weight) ? weight : 0);
  }
  let best: Encoding | undefined;
  let bestQ = 0;
  for (const enc of order) {
    const w = q.get(enc) ?? q.get('*') ?? 0;
    if (w > bestQ) {
      best = enc;
      bestQ = w;
    }
  }
  return best;
}
