import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { goReplaceAll, parseGoTemplate } from '../../lib/go-replace.ts';
import { checkKeys, goRegexpOption, guard, optString, OptionError } from './options.ts';
import { setRawPath, splitUrl } from './path.ts';

/** Traefik's `replacePath`: replaces the whole path (query kept); the old one goes to `X-Replaced-Path`. */
export const replacePathFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['path']);
    const path = optString(options, 'path');
    if (path === undefined) throw new OptionError('path: required');
    if (/[\s?#]/.test(path)) throw new OptionError('path: must be a path (no spaces, "?" or "#")');
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const { rawPath, query } = splitUrl(req.url);
        req.headers.set('x-replaced-path', rawPath);
        setRawPath(req, ctx, path === '' ? '/' : path, query);
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });

/**
 * Traefik's `replacePathRegex`: when `regex` matches the path, the path becomes
 * Go's `ReplaceAllString(path, replacement)` (`$1`, `${name}`); the old one goes to `X-Replaced-Path`.
 */
export const replacePathRegexFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['regex', 'replacement']);
    const source = optString(options, 'regex');
    if (source === undefined) throw new OptionError('regex: required');
    const re = goRegexpOption('regex', source);
    const replacement = parseGoTemplate(optString(options, 'replacement') ?? '');
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const { rawPath, query } = splitUrl(req.url);
        if (re.test(rawPath)) {
          req.headers.set('x-replaced-path', rawPath);
          let replaced = goReplaceAll(re, rawPath, replacement);
          if (!replaced.startsWith('/')) replaced = `/${replaced}`;
          // A replacement must not smuggle a query or a second request line.
          replaced = replaced.replace(/[\s#?]/g, (c) => encodeURIComponent(c));
          setRawPath(req, ctx, replaced, query);
        }
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });
