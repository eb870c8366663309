import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { rewindBody } from './body.ts';
import { checkKeys, guard, optNumber, pick, OptionError } from './options.ts';
import { clearHeaders, tapResponse } from './respond.ts';

/**
 * Traefik's `retry`: re-sends a request up to `attempts` times in all while the upstream could not
 * be reached — the forwarder answered 502/504 itself, no upstream response having started
 * (`ctx.responseStarted`). Waits `initialInterval`, doubling each time. A request whose body was
 * already sent cannot be replayed unless `buffering` kept it. Responses pass through unbuffered.
 */
export const retryFactory: MiddlewareFactory = (options) => guard(() => {
  checkKeys(options, ['attempts', 'initialInterval']);
  const attempts = optNumber(options, 'attempts', { integer: true });
  if (attempts === undefined || attempts <= 0) throw new OptionError('attempts: must be a positive integer');
  const rawInterval = pick(options, 'initialInterval');
  let intervalMs = 0;
  if (rawInterval !== undefined && rawInterval !== null) {
    const v = typeof rawInterval === 'string' || typeof rawInterval === 'number' ? parseDuration(rawInterval) : undefined;
    if (v === undefined) throw new OptionError('initialInterval: expected a duration such as 100ms');
    intervalMs = v;
  }

  const wrap = (next: Handler): Handler => (req, res, ctx) => {
    if (req.upgrade || attempts === 1) {
      next(req, res, ctx);
      return;
    }
    let attempt = 1;
    let mode: 'deciding' | 'pass' | 'swallow' = 'deciding';
    const tap = tapResponse(res, (real) => ({
      head(status) {
        if (mode === 'swallow') return;
        const failed = (status === 502 || status === 504) && !ctx.responseStarted;
        if (failed && attempt < attempts && rewindBody(req)) {
          mode = 'swallow';
          return;
        }
        mode = 'pass';
        real.writeHead(status);
      },
      write(chunk) {
        return mode === 'swallow' ? true : real.write(chunk);
      },
      end() {
        if (mode !== 'swallow') {
          real.end();
          return;
        }
        const delay = intervalMs * 2 ** (attempt - 1);
        attempt++;
        const again = (): void => {
          if (res.destroyed) return;
          clearHeaders(res);
          tap.reset();
          mode = 'deciding';
          ctx.responseStarted = false;
          next(req, res, ctx);
        };
        if (delay > 0) {
          const timer = setTimeout(again, delay);
          res.once('close', () => clearTimeout(timer));
        } else setImmediate(again);
      },
      flush() {
        if (mode === 'deciding') {
          mode = 'pass';
          real.writeHead(res.statusCode);
        }
      },
    }));
    next(req, res, ctx);
  };
  return { wrap } satisfies BuiltMiddleware;
});
