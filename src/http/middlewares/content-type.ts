import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optBool } from './options.ts';
import { tapResponse } from './respond.ts';

/**
 * Traefik's `contentType`: when the service sends a body without `Content-Type`, one is sniffed
 * from the first bytes (a subset of the WHATWG/Go algorithm). `autoDetect: false` turns it off.
 */
export const contentTypeFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['autoDetect']);
    const enabled = optBool(options, 'autoDetect') ?? true;
    const wrap = (next: Handler): Handler => {
      if (!enabled) return next;
      return (req, res, ctx) => {
        if (req.upgrade) {
          next(req, res, ctx);
          return;
        }
        let status = 200;
        let decided = false;
        tapResponse(res, (real) => ({
          head(s) {
            status = s;
            if (res.hasHeader('content-type') || res.hasHeader('content-encoding') || s === 204 || s === 304) {
              decided = true;
              real.writeHead(s);
            }
          },
          write(chunk) {
            if (!decided) {
              decided = true;
              if (chunk.length > 0) res.setHeader('content-type', sniff(chunk));
              real.writeHead(status);
            }
            return real.write(chunk);
          },
          end() {
            if (!decided) {
              decided = true;
              real.writeHead(status);
            }
            real.end();
          },
        }));
        next(req, res, ctx);
      };
    };
    return { wrap } satisfies BuiltMiddleware;
  });

const SIGNATURES: Array<[Buffer, string]> = [
  [Buffer.from('%PDF-'), 'application/pdf'],
  [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), 'image/png'],
  [Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg'],
  [Buffer.from('GIF87a'), 'image/gif'],
  [Buffer.from('GIF89a'), 'image/gif'],
  [Buffer.from([0x1f, 0x8b, 0x08]), 'application/x-gzip'],
  [Buffer.from('PK\x03\x04'), 'application/zip'],
  [Buffer.from('%!PS-Adobe-'), 'application/postscript'],
  [Buffer.from([0x00, 0x61, 0x73, 0x6d]), 'application/wasm'],
];
const HTML = /^\s*<(!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[\s>]/i;

/** Guesses a media type from the first bytes of a body, like Go's `http.DetectContentType`. */
export function sniff(data: Buffer): string {
  const head = data.subarray(0, 512);
  for (const [sig, type] of SIGNATURES) if (head.subarray(0, sig.length).equals(sig)) return type;
  const text = head.toString('latin1');
  if (HTML.test(text)) return 'text/html; charset=utf-8';
  if (/^\s*<\?xml/.test(text)) return 'text/xml; charset=utf-8';
  for (const b of head) {
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f))
      return 'application/octet-stream';
  }
  return 'text/plain; charset=utf-8';
}
