import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, goRegexpOption, guard, optStringList, OptionError } from './options.ts';
import { addRequestHeader, ensureLeadingSlash, setRawPath, splitUrl } from './path.ts';

/**
 * Traefik's `stripPrefixRegex`: the first expression of `regex` whose match is a prefix of the path
 * removes that match; the removed part goes to `X-Forwarded-Prefix`.
 */
export const stripPrefixRegexFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['regex']);
    const sources = optStringList(options, 'regex');
    if (!sources || sources.length === 0) throw new OptionError('regex: at least one expression is required');
    const expressions = sources.map((s, i) => goRegexpOption(`regex[${i}]`, s));
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const { rawPath, query } = splitUrl(req.url);
        for (const re of expressions) {
          const m = re.exec(rawPath);
          if (!m || m[0] === '' || !rawPath.startsWith(m[0])) continue;
          const prefix = m[0];
          setRawPath(req, ctx, ensureLeadingSlash(rawPath.slice(prefix.length)), query);
          addRequestHeader(req, 'x-forwarded-prefix', prefix);
          break;
        }
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });
