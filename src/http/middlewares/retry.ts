import type { Handler, ProxyRequest } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { BufferBody, readWholeBody } from '../../engine/body.ts';
import { parseDuration } from '../../lib/duration.ts';
import { rewindBody, setReplayableBody } from './body.ts';
import { checkKeys, guard, optBool, optNumber, optStringList, parseStatusRange, pick, OptionError } from './options.ts';
import { clearHeaders, tapResponse } from './respond.ts';

/** Traefik's `RetryDefaultMaxRequestBodyBytes`: bodies up to 2 MiB are kept to replay on a status retry. */
const DEFAULT_MAX_BODY = 2 * 1024 * 1024;
/** Methods Traefik never retries on a status unless `retryNonIdempotentMethod`. */
const NON_IDEMPOTENT = new Set(['POST', 'PATCH', 'LOCK']);

function optDuration(options: Record<string, unknown>, key: string): number {
  const raw = pick(options, key);
  if (raw === undefined || raw === null) return 0;
  const v = typeof raw === 'string' || typeof raw === 'number' ? parseDuration(raw) : undefined;
  if (v === undefined) throw new OptionError(`${key}: expected a duration such as 100ms`);
  return v;
}

/**
 * Traefik v3.7's `retry`: up to `attempts` tries in all. A try is repeated when the server could not
 * be reached — the forwarder answered 502/504 itself, no upstream response having started — unless
 * `disableRetryOnNetworkError`; and, when `status` lists ranges, when the server answered one of them
 * (for POST, PATCH and LOCK only with `retryNonIdempotentMethod`; the body, up to
 * `maxRequestBodyBytes`, is kept to send again — a larger one turns status retries off). After
 * `timeout` since the first try, whatever comes is passed on. Waits `initialInterval`, doubling each
 * time. Responses pass through unbuffered.
 */
export const retryFactory: MiddlewareFactory = (options) =>
  guard(() => {
    checkKeys(options, [
      'attempts',
      'initialInterval',
      'timeout',
      'status',
      'disableRetryOnNetworkError',
      'maxRequestBodyBytes',
      'retryNonIdempotentMethod',
    ]);
    const attempts = optNumber(options, 'attempts', { integer: true });
    if (attempts === undefined || attempts <= 0) throw new OptionError('attempts: must be a positive integer');
    const intervalMs = optDuration(options, 'initialInterval');
    const timeoutMs = optDuration(options, 'timeout');
    const ranges = (optStringList(options, 'status') ?? []).map((s) => parseStatusRange('status', s));
    const noNetworkRetry = optBool(options, 'disableRetryOnNetworkError') ?? false;
    if (ranges.length === 0 && noNetworkRetry)
      throw new OptionError('status: required when disableRetryOnNetworkError is true (nothing would be retried)');
    const maxBody = optNumber(options, 'maxRequestBodyBytes', { integer: true }) ?? DEFAULT_MAX_BODY;
    const nonIdempotent = optBool(options, 'retryNonIdempotentMethod') ?? false;
    const inRanges = (s: number): boolean => ranges.some(([lo, hi]) => s >= lo && s <= hi);

    /** Keeps the body for another try when a status retry may need it; false turns status retries off. */
    const keepBody = async (req: ProxyRequest): Promise<boolean> => {
      if (req.bodyReplay !== undefined || req.body === null) return true;
      const length = req.body.length;
      // A body of unknown length is not read ahead: it is sent once, as it arrives.
      if (length < 0 || (maxBody >= 0 && length > maxBody)) return false;
      const buf = await readWholeBody(req.body, maxBody);
      if (buf === undefined) return false;
      setReplayableBody(req, buf.length, () => new BufferBody(buf));
      return true;
    };

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        if (req.upgrade || attempts === 1) {
          next(req, res, ctx);
          return;
        }
        const start = Date.now();
        let statusRetry = ranges.length > 0 && (nonIdempotent || !NON_IDEMPOTENT.has(req.method));
        let attempt = 1;
        let mode: 'deciding' | 'pass' | 'swallow' = 'deciding';
        const tap = tapResponse(res, (real) => ({
          head(status) {
            if (mode === 'swallow') return;
            const timedOut = timeoutMs > 0 && Date.now() - start >= timeoutMs;
            const unreachable = !noNetworkRetry && (status === 502 || status === 504) && !ctx.responseStarted;
            const retryable = unreachable || (statusRetry && inRanges(status));
            if (retryable && !timedOut && attempt < attempts && rewindBody(req)) {
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
        if (!statusRetry || req.body === null || req.bodyReplay !== undefined) {
          next(req, res, ctx);
          return;
        }
        keepBody(req).then(
          (kept) => {
            statusRetry = kept;
            if (!res.closed) next(req, res, ctx);
          },
          () => {
            /* the body could not complete: the engine answers */
          },
        );
      };
    return { wrap } satisfies BuiltMiddleware;
  });
