import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { buildIpMatcher } from '../../lib/ip.ts';
import { checkKeys, guard, nested, optNumber, optObject, optStringList, OptionError } from './options.ts';
import { reply, statusText } from './respond.ts';
import { buildIpStrategy } from './source.ts';

/**
 * Traefik's `ipAllowList` (and the deprecated `ipWhiteList`): admits clients whose address — the
 * peer, or chosen from `X-Forwarded-For` by `ipStrategy` (`depth`, `excludedIPs`) — is in
 * `sourceRange`; others get `rejectStatusCode` (default 403).
 */
export const ipAllowListFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['sourceRange', 'ipStrategy', 'rejectStatusCode']);
    const ranges = optStringList(options, 'sourceRange') ?? [];
    if (ranges.length === 0) throw new OptionError('sourceRange: is empty, at least one address or range is required');
    const { matcher, invalid } = buildIpMatcher(ranges);
    if (invalid.length > 0)
      throw new OptionError(`sourceRange: invalid address or range ${JSON.stringify(invalid[0])}`);
    const ipOpts = optObject(options, 'ipStrategy');
    const strategy = nested('ipStrategy', () => buildIpStrategy(ipOpts));
    const status = optNumber(options, 'rejectStatusCode', { integer: true }) ?? 403;
    if (status < 100 || status > 599) throw new OptionError('rejectStatusCode: must be an HTTP status code');
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const ip = strategy(req, ctx);
        if (ip !== '' && matcher.has(ip)) {
          next(req, res, ctx);
          return;
        }
        reply(res, status, statusText(status) || String(status));
      };
    return { wrap } satisfies BuiltMiddleware;
  });
