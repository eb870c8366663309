import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../../src/http/handler.ts';
import type { LineSink } from '../../src/observability/line-writer.ts';

/** A sink that keeps lines in memory. */
export function memorySink(): LineSink & { lines: string[]; writes: number; closed: boolean } {
  const s = {
    lines: [] as string[], writes: 0, closed: false,
    write(chunks: readonly Uint8Array[], done: (err: Error | null) => void) {
      s.writes++;
      for (const l of Buffer.concat(chunks).toString('utf8').split('\n')) if (l) s.lines.push(l);
      setImmediate(() => done(null));
    },
    close() { s.closed = true; },
  };
  return s;
}

/** What a test server does for one request: set up the context, then answer. */
export type TestRoute = (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void;

/**
 * A loopback HTTP server that builds a RequestContext per request the way the entrypoint does and
 * calls `onResponse` when the response closes.
 */
export async function serve(route: TestRoute, onResponse: (req: IncomingMessage, res: ServerResponse, ctx: RequestContext) => void): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const remote = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const ctx: RequestContext = {
      entrypoint: 'web', scheme: 'http', remoteIp: remote, clientIp: remote, trustedPeer: false,
      host: String(req.headers.host ?? '').replace(/:\d+$/, ''), path: req.url ?? '/', start: performance.now(),
    };
    res.once('close', () => onResponse(req, res, ctx));
    route(req, res, ctx);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    port, server,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** One request; resolves with status and body once the response ended. */
export function send(port: number, opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
