import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optBool, optStringList, OptionError } from './options.ts';
import { addRequestHeader, ensureLeadingSlash, setRawPath, splitUrl } from './path.ts';

/**
 * Traefik's `stripPrefix`: removes the first matching prefix of `prefixes` from the path and records
 * it in `X-Forwarded-Prefix`, so the application can build its own URLs. `forceSlash` (deprecated)
 * is accepted; the result always starts with `/`.
 */
export const stripPrefixFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['prefixes', 'forceSlash']);
    const prefixes = optStringList(options, 'prefixes');
    if (!prefixes || prefixes.length === 0) throw new OptionError('prefixes: at least one prefix is required');
    optBool(options, 'forceSlash');
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const { rawPath, query } = splitUrl(req.url);
        // As Traefik: the prefix is matched on the decoded path (Go's URL.Path, `%2F` decoded too)
        // and the same bytes are cut from the path as written, so the rest keeps its escapes.
        const decoded = rawPath.indexOf('%') < 0 ? rawPath : unescapeAll(rawPath);
        for (const prefix of prefixes) {
          if (!decoded.startsWith(prefix)) continue;
          const cut = decoded === rawPath ? prefix.length : encodedPrefixLength(rawPath, prefix);
          setRawPath(req, ctx, ensureLeadingSlash(rawPath.slice(cut)), query);
          addRequestHeader(req, 'x-forwarded-prefix', prefix);
          break;
        }
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });

/** Every escape decoded, `%2F` included (Go's `PathUnescape`); bytes that are not UTF-8 stay as replacement characters. */
function unescapeAll(raw: string): string {
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

/** How much of `raw` spells the decoded `prefix`: one byte per `%XX`, as Traefik's encodedPrefixLen counts. */
function encodedPrefixLength(raw: string, prefix: string): number {
  let bytes = Buffer.byteLength(prefix);
  let i = 0;
  while (i < raw.length && bytes > 0) {
    if (raw.charCodeAt(i) === 37 /* % */ && i + 2 < raw.length) {
      i += 3;
      bytes--;
      continue;
    }
    const c = raw.codePointAt(i)!;
    bytes -= Buffer.byteLength(String.fromCodePoint(c));
    i += c > 0xffff ? 2 : 1;
  }
  return i;
}
