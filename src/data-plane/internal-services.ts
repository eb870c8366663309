import type { Handler } from '../http/handler.ts';

/**
 * The `@internal` services a router can name. `api`, `dashboard` and `prometheus` are answered by
 * `api` (the API handler itself in the control plane, a forwarder to it in a worker); `ping` and
 * `noop` are answered on the spot. `extra` adds test hooks.
 */
export function internalServices(api: Handler, extra: Readonly<Record<string, Handler>> = {}): Map<string, Handler> {
  return new Map<string, Handler>([
    ['api@internal', api],
    ['dashboard@internal', api],
    [
      'prometheus@internal',
      (req, res, ctx) => {
        req.url = '/metrics';
        api(req, res, ctx);
      },
    ],
    [
      'ping@internal',
      (_req, res) => {
        res.statusCode = 200;
        res.setHeader('content-type', 'text/plain');
        res.end('OK');
      },
    ],
    [
      'noop@internal',
      (_req, res) => {
        res.statusCode = 418;
        res.end();
      },
    ],
    ...Object.entries(extra),
  ]);
}
