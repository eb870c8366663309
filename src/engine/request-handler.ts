import type { ProxyRequest } from './message.ts';
import type { ProxyResponse } from './response.ts';

/** What an entrypoint's engine (HTTP/1.1 connection or HTTP/2 stream) calls for each request. */
export interface RequestHandler {
  /** A request head arrived; its body (if any) follows in `req.body`. Must not throw. */
  request(req: ProxyRequest, res: ProxyResponse): void;
  /** The response is over, completed or aborted (access log, metrics). */
  done(req: ProxyRequest, res: ProxyResponse): void;
}
