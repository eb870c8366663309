import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optBool, optStringList, OptionError } from './options.ts';
import { addRequestHeader, encodePath, ensureLeadingSlash, setRawPath, splitUrl } from './path.ts';

/**
 * Traefik's `stripPrefix`: removes the first matching prefix of `prefixes` from the path and records
 * it in `X-Forwarded-Prefix`, so the application can build its own URLs. `forceSlash` (deprecated)
 * is accepted; the result always starts with `/`.
 */
export const stripPrefixFactory: MiddlewareFactory = (options) => guard(() => {
  checkKeys(options, ['prefixes', 'forceSlash']);
  const prefixes = optStringList(options, 'prefixes');
  if (!prefixes || prefixes.length === 0) throw new OptionError('prefixes: at least one prefix is required');
  optBool(options, 'forceSlash');
  const wrap = (next: Handler): Handler => (req, res, ctx) => {
    const { rawPath, query } = splitUrl(req.url);
    for (const prefix of prefixes) {
      if (rawPath.startsWith(prefix)) {
        setRawPath(req, ctx, ensureLeadingSlash(rawPath.slice(prefix.length)), query);
      } else if (ctx.path.startsWith(prefix)) {
        // Same prefix, written with escapes in the request line: strip on the canonical form.
        setRawPath(req, ctx, ensureLeadingSlash(encodePath(ctx.path.slice(prefix.length))), query);
      } else continue;
      addRequestHeader(req, 'x-forwarded-prefix', prefix);
      break;
    }
    next(req, res, ctx);
  };
  return { wrap } satisfies BuiltMiddleware;
});
