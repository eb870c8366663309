import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { checkKeys, guard, optNumber, optObject, pick, OptionError } from './options.ts';
import { reply, statusText } from './respond.ts';
import { buildSourceExtractor } from './source.ts';

/** Sources idle for this long past a full refill are forgotten (bounded memory). */
const SWEEP_MS = 30_000;
const MAX_SOURCES = 65_536;

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Traefik's `rateLimit`: a token bucket per source (`sourceCriterion`, default the peer address)
 * refilled at `average / period` (period default 1s) holding up to `burst` (default 1) tokens.
 * As in Traefik, a request that would have to wait at most half the interval between tokens is
 * delayed instead of refused; otherwise 429 with `Retry-After` and `X-Retry-In`. `average: 0`
 * disables the limit.
 */
export const rateLimitFactory: MiddlewareFactory = (options) =>
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
    const buckets = new Map<string, Bucket>();
    const idleMs = burst / ratePerMs + SWEEP_MS;
    const sweep = setInterval(() => {
      const now = performance.now();
      for (const [k, b] of buckets) if (now - b.last > idleMs) buckets.delete(k);
    }, SWEEP_MS);
    sweep.unref();

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const key = source(req, ctx);
        const now = performance.now();
        let b = buckets.get(key);
        if (!b) {
          if (buckets.size >= MAX_SOURCES) buckets.delete(buckets.keys().next().value!);
          b = { tokens: burst, last: now };
          buckets.set(key, b);
        }
        b.tokens = Math.min(burst, b.tokens + (now - b.last) * ratePerMs);
        b.last = now;
        b.tokens -= 1;
        if (b.tokens >= 0) {
          next(req, res, ctx);
          return;
        }
        const delayMs = -b.tokens / ratePerMs;
        if (delayMs > maxDelayMs) {
          b.tokens += 1;
          reply(res, 429, statusText(429), {
            'retry-after': String(Math.ceil(delayMs / 1000)),
            'x-retry-in': goDuration(delayMs),
          });
          return;
        }
        const timer = setTimeout(() => {
          if (!res.destroyed) next(req, res, ctx);
        }, delayMs);
        res.once('close', () => clearTimeout(timer));
      };
    return { wrap, close: () => clearInterval(sweep) } satisfies BuiltMiddleware;
  });

/** Formats milliseconds like Go's `time.Duration.String()` for the common ranges (`1.5s`, `250ms`, `2m0s`). */
function goDuration(ms: number): string {
  if (ms < 1000) return `${+ms.toFixed(3)}ms`;
  const totalS = ms / 1000;
  if (totalS < 60) return `${+totalS.toFixed(3)}s`;
  const m = Math.floor(totalS / 60);
  return `${m}m${+(totalS - m * 60).toFixed(3)}s`;
}
