import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { setEmptyBody } from './body.ts';
import { checkKeys, guard, optString, optStringList, optStringMap, OptionError, parseStatusRange } from './options.ts';
import { decodePath } from './path.ts';
import { clearHeaders, tapResponse } from './respond.ts';

/**
 * Traefik's `errors`: when the response status is in `status` (`"500-599"`, `"404"`, …), the body
 * and headers come from `service` instead — a GET of `query` with `{status}` and `{url}` (the
 * original URL, query-escaped) replaced — while the status stays the original one, or the one
 * `statusRewrites` maps it to (`{"500-599": 503}`).
 */
export const errorsFactory: MiddlewareFactory = (options, env) =>
  guard(() => {
    checkKeys(options, ['status', 'service', 'query', 'statusRewrites']);
    const ranges = (optStringList(options, 'status') ?? []).map(parseRange);
    if (ranges.length === 0) throw new OptionError('status: at least one status code or range is required');
    const service = optString(options, 'service');
    if (!service) throw new OptionError('service: required');
    const query = optString(options, 'query') ?? '';
    const inRange = (s: number): boolean => ranges.some(([lo, hi]) => s >= lo && s <= hi);
    const rewrites = (optStringMap(options, 'statusRewrites') ?? []).map(([range, to]) => {
      const code = Number(to);
      if (!/^\d{3}$/.test(to.trim())) throw new OptionError(`statusRewrites.${range}: expected a status code`);
      return { range: parseRange(range), code };
    });
    const rewrite = (s: number): number => rewrites.find(({ range: [lo, hi] }) => s >= lo && s <= hi)?.code ?? s;

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        if (req.upgrade) {
          next(req, res, ctx);
          return;
        }
        const originalUrl = req.url ?? '/';
        let caught = 0;
        const tap = tapResponse(res, (real) => ({
          head(status) {
            if (caught === 0 && inRange(status)) {
              caught = status;
              return;
            }
            if (caught === 0) real.writeHead(status);
          },
          write(chunk) {
            return caught !== 0 ? true : real.write(chunk);
          },
          end() {
            if (caught === 0) {
              real.end();
              return;
            }
            const handler = env.service(service);
            real.restore();
            clearHeaders(res);
            if (!handler) {
              env.logger.error({ middleware: env.name, service }, 'errors: error page service not found');
              res.setHeader('content-type', 'text/plain; charset=utf-8');
              res.writeHead(caught);
              res.end(String(caught));
              return;
            }
            const code = rewrite(caught);
            let path = '/';
            if (query !== '') {
              path = `/${query.replace(/^\//, '')}`
                .replaceAll('{status}', String(code))
                .replaceAll('{url}', encodeURIComponent(originalUrl));
            }
            req.method = 'GET';
            req.url = path;
            const q = path.indexOf('?');
            ctx.path = decodePath(q === -1 ? path : path.slice(0, q));
            setEmptyBody(req);
            ctx.responseStarted = false;
            // The error page brings body and headers; the status stays the original one.
            tapResponse(res, (page) => ({
              head() {
                page.writeHead(code);
              },
              write(chunk) {
                return page.write(chunk);
              },
              end() {
                page.end();
              },
            }));
            handler(req, res, ctx);
          },
        }));
        void tap;
        next(req, res, ctx);
      };
    return { wrap } satisfies BuiltMiddleware;
  });

function parseRange(spec: string): [number, number] {
  return parseStatusRange('status', spec);
}
