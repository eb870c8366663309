import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optNumber, optObject, OptionError } from './options.ts';
import { reply, statusText } from './respond.ts';
import { buildSourceExtractor } from './source.ts';

/**
 * Traefik's `inFlightReq`: at most `amount` simultaneous requests per source (`sourceCriterion`,
 * default the request host); the rest get 429. A request counts until its response closes.
 */
export const inFlightReqFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, ['amount', 'sourceCriterion']);
    const amount = optNumber(options, 'amount', { integer: true });
    if (amount === undefined || amount <= 0) throw new OptionError('amount: must be a positive integer');
    const source = buildSourceExtractor(optObject(options, 'sourceCriterion'), 'host');
    const inFlight = new Map<string, number>();
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const key = source(req, ctx);
        const current = inFlight.get(key) ?? 0;
        if (current >= amount) {
          reply(res, 429, statusText(429));
          return;
        }
        inFlight.set(key, current + 1);
        res.once('close', () => {
          const n = (inFlight.get(key) ?? 1) - 1;
          if (n <= 0) inFlight.delete(key);
          else inFlight.set(key, n);
        });
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });
