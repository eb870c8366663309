import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { checkKeys, guard, optNumber, optObject, OptionError } from './options.ts';
import { reply, statusText } from './respond.ts';
import { buildSourceExtractor } from './source.ts';
import { LimitKey } from '../../lib/limit-key.ts';
import { REFUSED, sharedLimitTable } from '../../lib/shared-limits.ts';

/**
 * Traefik's `inFlightReq`: at most `amount` simultaneous requests per source (`sourceCriterion`,
 * default the request host); the rest get 429. A request counts until its response closes.
 * Counted in the process's shared limit table, so the amount holds across data-plane workers, and
 * by middleware name and criterion: requests still in flight when a new configuration arrives
 * keep counting against the same middleware.
 */
export const inFlightReqFactory: MiddlewareFactory = (options, env) =>
  guard(() => {
    checkKeys(options, ['amount', 'sourceCriterion']);
    const amount = optNumber(options, 'amount', { integer: true });
    if (amount === undefined || amount <= 0) throw new OptionError('amount: must be a positive integer');
    const criterion = optObject(options, 'sourceCriterion');
    const source = buildSourceExtractor(criterion, 'host');
    const table = sharedLimitTable();
    const key = new LimitKey(`inFlightReq\0${env.name}\0${JSON.stringify(criterion ?? null)}`);
    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const slot = table.acquire(key.of(source(req, ctx)), amount);
        if (slot === REFUSED) {
          reply(res, 429, statusText(429));
          return;
        }
        res.once('close', () => table.release(slot));
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });
