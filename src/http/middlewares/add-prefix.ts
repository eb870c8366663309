import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optString, OptionError } from './options.ts';
import { ensureLeadingSlash, setRawPath, splitUrl } from './path.ts';

/** Traefik's `addPrefix`: prepends `prefix` to the path before forwarding. */
export const addPrefixFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['prefix']);
    const prefix = optString(options, 'prefix');
    if (!prefix) throw new OptionError('prefix: cannot be empty');
    if (/[\s?#]/.test(prefix)) throw new OptionError('prefix: must be a path (no spaces, "?" or "#")');
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const { rawPath, query } = splitUrl(req.url);
        setRawPath(req, ctx, ensureLeadingSlash(prefix + rawPath), query);
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });
