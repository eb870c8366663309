import type { Handler, ProxyRequest, ProxyResponse, RequestContext } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareEnv, MiddlewareFactory } from './types.ts';
import { hasBody, rewindBody, setReplayableBody } from './body.ts';
import { checkKeys, guard, optNumber, optString, pick } from './options.ts';
import { reply, realReply, statusText, tapResponse, clearHeaders, type RealResponse } from './respond.ts';
import { compileRetryExpression, type RetryFacts } from './retry-expression.ts';
import { Spool } from './spool.ts';

const MIB = 1024 * 1024;

/**
 * Traefik's `buffering`: reads the whole request before forwarding and/or the whole response before
 * answering. Request: `maxRequestBodyBytes` (0 = no limit) → 413 when exceeded, announced or not;
 * above `memRequestBodyBytes` (default 1 MiB) the body is spilled to a temp file in `env.tmpDir`,
 * always removed when the response closes (completion, error or abort). Response:
 * `maxResponseBodyBytes` exceeded → 500, never a truncated 200; `memResponseBodyBytes` as for
 * requests. `retryExpression` replays the buffered request while it holds.
 *
 * A direction none of whose options is set streams, so a request-size limit does not stop
 * server-sent events. Upgrade requests are never buffered.
 */
export const bufferingFactory: MiddlewareFactory = (options, env) =>
  guard(() => {
    checkKeys(options, [
      'maxRequestBodyBytes',
      'memRequestBodyBytes',
      'maxResponseBodyBytes',
      'memResponseBodyBytes',
      'retryExpression',
    ]);
    const maxReq = optNumber(options, 'maxRequestBodyBytes', { min: 0, integer: true }) ?? 0;
    const memReq = optNumber(options, 'memRequestBodyBytes', { min: 0, integer: true }) ?? MIB;
    const maxRes = optNumber(options, 'maxResponseBodyBytes', { min: 0, integer: true }) ?? 0;
    const memRes = optNumber(options, 'memResponseBodyBytes', { min: 0, integer: true }) ?? MIB;
    const retrySource = optString(options, 'retryExpression') ?? '';
    const retry = retrySource.trim() === '' ? undefined : compileRetryExpression(retrySource);
    const bufferRequest =
      retry !== undefined ||
      pick(options, 'maxRequestBodyBytes') !== undefined ||
      pick(options, 'memRequestBodyBytes') !== undefined;
    const bufferResponse =
      retry !== undefined ||
      pick(options, 'maxResponseBodyBytes') !== undefined ||
      pick(options, 'memResponseBodyBytes') !== undefined;
    const limits: Limits = { maxReq, memReq, maxRes, memRes, retry, bufferResponse };

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        if (req.upgrade) {
          next(req, res, ctx);
          return;
        }
        if (!bufferRequest || !hasBody(req)) {
          respond(req, res, ctx, next, limits, env);
          return;
        }
        const body = req.body!;
        if (maxReq > 0 && body.length > maxReq) {
          tooLarge(req, res);
          return;
        }
        const spool = new Spool(memReq, env.tmpDir);
        res.once('close', () => spool.dispose());
        let done = false;
        const fail = (err: unknown): void => {
          if (done) return;
          done = true;
          env.logger.error({ middleware: env.name, err }, 'buffering: cannot store the request body');
          spool.dispose();
          body.cancel();
          reply(res, 500, statusText(500));
        };
        body.start({
          onBodyData(chunk) {
            if (done) return true;
            if (maxReq > 0 && spool.size + chunk.length > maxReq) {
              done = true;
              spool.dispose();
              tooLarge(req, res);
              return true;
            }
            const pending = spool.append(chunk);
            if (!pending) return true;
            pending.then(() => {
              if (!done) body.resume();
            }, fail);
            return false;
          },
          onBodyEnd() {
            if (done) return;
            spool.finish().then(() => {
              if (done || res.destroyed) return;
              done = true;
              setReplayableBody(req, spool.size, () => spool.openBody());
              respond(req, res, ctx, next, limits, env);
            }, fail);
          },
          // The engine answers a body that cannot complete (framing error, readTimeout, client gone).
          onBodyError() {
            done = true;
            spool.dispose();
          },
        });
      };
    return { wrap } satisfies BuiltMiddleware;
  });

interface Limits {
  maxReq: number;
  memReq: number;
  maxRes: number;
  memRes: number;
  retry: ((facts: RetryFacts) => boolean) | undefined;
  bufferResponse: boolean;
}

function tooLarge(req: ProxyRequest, res: ProxyResponse): void {
  // The rest of the body is not read: close the connection after answering.
  req.body?.cancel();
  res.closeConnection = true;
  reply(res, 413, statusText(413));
}

/** Runs `next`, buffering its response when configured, retrying while the expression holds. */
function respond(
  req: ProxyRequest,
  res: ProxyResponse,
  ctx: RequestContext,
  next: Handler,
  limits: Limits,
  env: MiddlewareEnv,
): void {
  if (!limits.bufferResponse) {
    next(req, res, ctx);
    return;
  }
  let attempts = 1;
  let spool = new Spool(limits.memRes, env.tmpDir);
  let status = 200;
  let state: 'capturing' | 'overflow' | 'done' = 'capturing';
  let waiting = false;
  res.once('close', () => spool.dispose());
  let real!: RealResponse;
  const tap = tapResponse(res, (r) => {
    real = r;
    return {
      head(s) {
        if (state === 'capturing') status = s;
      },
      write(chunk) {
        if (state !== 'capturing') return true;
        if (limits.maxRes > 0 && spool.size + chunk.length > limits.maxRes) {
          state = 'overflow';
          spool.dispose();
          env.logger.warn(
            { middleware: env.name, limit: limits.maxRes },
            'buffering: response body over maxResponseBodyBytes',
          );
          realReply(res, real, 500, statusText(500));
          return true;
        }
        const pending = spool.append(chunk);
        if (!pending) return true;
        waiting = true;
        pending.then(
          () => {
            waiting = false;
            res.emitDrain();
          },
          () => {
            state = 'done';
            realReply(res, real, 500, statusText(500));
          },
        );
        return false;
      },
      end() {
        if (state !== 'capturing') return;
        state = 'done';
        void waiting;
        spool.finish().then(
          () => finishAttempt(),
          () => realReply(res, real, 500, statusText(500)),
        );
      },
    };
  });

  const finishAttempt = (): void => {
    if (res.destroyed) return;
    const networkError = !ctx.responseStarted && (status === 502 || status === 504);
    if (limits.retry?.({ attempts, responseCode: status, isNetworkError: networkError }) && rewindBody(req)) {
      attempts++;
      spool.dispose();
      spool = new Spool(limits.memRes, env.tmpDir);
      res.once('close', () => spool.dispose());
      clearHeaders(res);
      tap.reset();
      status = 200;
      state = 'capturing';
      ctx.responseStarted = false;
      next(req, res, ctx);
      return;
    }
    res.removeHeader('transfer-encoding');
    const bodyless = req.method === 'HEAD' || status === 204 || status === 304;
    if (!bodyless) res.setHeader('content-length', spool.size);
    real.writeHead(status);
    if (bodyless || spool.size === 0) {
      real.end();
      return;
    }
    const body = spool.open();
    body.on('data', (chunk: Buffer) => {
      if (!real.write(chunk)) {
        body.pause();
        res.once('drain', () => body.resume());
      }
    });
    body.once('end', () => real.end());
    body.once('error', () => res.destroy());
  };
  next(req, res, ctx);
}
