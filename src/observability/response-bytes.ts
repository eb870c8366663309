import type { HeaderList } from '../engine/header-list.ts';
import type { ProxyResponse } from '../engine/response.ts';

/**
 * Body bytes a response wrote, for the access log's `DownstreamContentSize` and the
 * `*_responses_bytes_total` metrics (the engine counts them as they go to the client). HEAD
 * responses and 204/304 carry no body whatever was written, so they count 0.
 */
export function responseBytes(res: ProxyResponse, method: string, status: number): number {
  if (method === 'HEAD' || status === 204 || status === 304) return 0;
  return res.bodyBytes;
}

/** Request body size as announced (`content-length`); 0 when absent or chunked. */
export function requestBytes(headers: HeaderList): number {
  const v = headers.first('content-length');
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
