import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { checkKeys, guard, optNumber, optObject, pick, OptionError } from './options.ts';
import { reply, statusText } from './respond.ts';
import { buildSourceExtractor } from './source.ts';
import { LimitKey } from '../../lib/limit-key.ts';
import { sharedLimitTable } from '../../lib/shared-limits.ts';

/**
 * Traefik's `rateLimit`: a token bucket per source (`sourceCriterion`, default the peer address)
 * refilled at `average / period` (period default 1s) holding up to `burst` (default 1) tokens.
 * As in Traefik, a request that would have to wait at most half the interval between tokens is
 * delayed instead of refused; otherwise 429 with `Retry-After` and `X-Retry-In`. `average: 0`
 * disables the limit.
 *
 * The buckets live in the process's shared limit table, so every data-plane worker takes from the
 * same bucket and a client gets the configured rate whichever worker accepts its connections.
 * A bucket is keyed by the middleware's name and options: a new configuration that keeps them
 * keeps the buckets, one that changes them starts full.
 */
export const rateLimitFactory: MiddlewareFactory = (options, env) =>
  guard(() => {
    checkKeys(options, ['average', 'period', 'burst', 'sourceCriterion']);
    const average = optNumber(options, 'average', { min: 0 }) ?? 0;
    const burst = Math.max(1, optNumber(options, 'burst', { min: 0, integer: true }) ?? 1);
    const rawPeriod = pick(options, 'period');
    let periodMs = 1000;
    if (rawPeriod !== undefined && rawPeriod !== null) {
      const p = typeof rawPeriod === 'string' || typeof rawPeriod === 'number' ? parseDuration(rawPeriod) : undefined;
      if (p === undefined) throw new OptionError('period: expected a duration such as 1s or 1m');
      if (p > 0) periodMs = p;
    }
    const source = buildSourceExtractor(optObject(options, 'sourceCriterion'), 'ip');
    if (average === 0) return { wrap: (next: Handler) => next } satisfies BuiltMiddleware;

    const ratePerMs = average / periodMs;
    const perSecond = ratePerMs * 1000;
    const maxDelayMs = perSecond < 1 ? 500 : 1000 / (Math.floor(perSecond) * 2);
    const table = sharedLimitTable();
    const key = new LimitKey(
      `rateLimit\0${env.name}\0${average}/${periodMs}/${burst}\0${JSON.stringify(pick(options, 'sourceCriterion') ?? null)}`,
    );

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const wait = table.take(key.of(source(req, ctx)), burst, ratePerMs, maxDelayMs);
        if (wait === 0) {
          next(req, res, ctx);
          return;
        }
        if (wait < 0) {
          reply(res, 429, statusText(429), {
            'retry-after': String(Math.ceil(-wait / 1000)),
            'x-retry-in': goDuration(-wait),
          });
          return;
        }
        const timer = setTimeout(() => {
          if (!res.destroyed) next(req, res, ctx);
        }, wait);
        res.once('close', () => clearTimeout(timer));
      };
    return { wrap } satisfies BuiltMiddleware;
  });

/** Formats milliseconds like Go's `time.Duration.String()` for the common ranges (`1.5s`, `250ms`, `2m0s`). */
function goDuration(ms: number): string {
  if (ms < 1000) return `${+ms.toFixed(3)}ms`;
  const totalS = ms / 1000;
  if (totalS < 60) return `${+totalS.toFixed(3)}s`;
  const m = Math.floor(totalS / 60);
  return `${m}m${+(totalS - m * 60).toFixed(3)}s`;
}
