import type { ProxyRequest, RequestContext } from '../engine/message.ts';
import type { ProxyResponse } from '../engine/response.ts';

export type { ProxyRequest, RequestContext } from '../engine/message.ts';
export type { ProxyResponse } from '../engine/response.ts';

/**
 * A request handler: a middleware-wrapped service. Never throws; answers or forwards. The same
 * for HTTP/1.1 and HTTP/2 (the engine's compact request and response).
 */
export type Handler = (req: ProxyRequest, res: ProxyResponse, ctx: RequestContext) => void;
